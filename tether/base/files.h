// Small, careful file helpers: atomic replacement of whole files, bounded reads, directories.
// Every error names the path and the cause ("write /run/tetherd/x: No space left on device").
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "tether/base/result.h"

namespace tetherd {

// Replace `path` with `content`, atomically: a temporary file in the same directory, created
// with `mode` from the start (never more permissive, whatever the umask), is written,
// fsync'ed and renamed over `path`; then the directory is fsync'ed. On any failure (ENOSPC,
// EFBIG, a missing or read-only directory, `path` being a directory...) the old file is left
// exactly as it was and the temporary file is removed. A symlink at `path` is replaced, not
// followed. The file ends up owned by the caller's uid/gid.
Status writeFileAtomic(const std::string& path, std::string_view content, mode_t mode);

// The whole content of `path`, refused when it is longer than maxBytes. A missing file gives
// Errc::NotFound; other failures Errc::SystemError (or InvalidArgument for a size overrun).
Result<std::string> readFile(const std::string& path, size_t maxBytes);

// Make sure `path` is a directory: missing components are created (intermediate ones 0755,
// the last one with exactly `mode`, whatever the umask). An existing directory is accepted
// as it is, also through a symlink (its mode is NOT changed: run_dir might be configured as
// a shared directory); an existing non-directory is refused.
Status ensureDir(const std::string& path, mode_t mode);

// For a directory that must stay private (state_dir): ensureDir, then an existing one looser
// than `mode` is tightened to (its mode & mode). Returns the mode it had when it was changed,
// nullopt when it was already as tight. A sticky directory (/tmp) or "/" is refused rather
// than changed: it is shared, and cannot hold private files.
Result<std::optional<mode_t>> ensurePrivateDir(const std::string& path, mode_t mode);

// Make sure `path` is a regular file (created empty if missing, never through a symlink)
// with exactly `mode`: for a file another program writes into (dnsmasq's lease file, which
// dnsmasq would create 0644), so that it is private before that program opens it.
Status ensurePrivateFile(const std::string& path, mode_t mode);

// The pid in the name of a per-process file tetherd makes: a temporary of writeFileAtomic
// (".<name>.tmp-<pid>-...") or a hostapd client socket ("tetherd-ctrl-<pid>-<n>"); nullopt for
// any other name.
std::optional<pid_t> leftoverOwnerPid(std::string_view filename);

// Remove from `dir` (not recursively) the per-process files of processes that no longer run:
// what a killed run left (SIGKILL in the middle of an atomic write, hostapd client sockets).
// Files of a live process, this one included, are kept. Returns how many were removed.
int removeLeftoversOfDeadProcesses(const std::string& dir);

}  // namespace tetherd
