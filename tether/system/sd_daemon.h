// The two small systemd protocols tetherd speaks, without linking libsystemd (which would map
// it and its compression and crypto libraries into every run; see docs/PERFORMANCE.md):
//   - readiness notification (sd_notify(3)): one datagram "READY=1" etc. to $NOTIFY_SOCKET;
//   - socket activation (sd_listen_fds(3)): $LISTEN_PID / $LISTEN_FDS, sockets from fd 3.
#pragma once

#include <string>

namespace tetherd::systemd {

inline constexpr int kListenFdsStart = 3;

// Sends `state` to $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace). Returns
// false when the variable is unset (not run by systemd) or the datagram could not be sent.
bool notify(const std::string& state);

// The number of sockets systemd passed, from fd 3 on: $LISTEN_FDS when $LISTEN_PID is this
// process, else 0; -1 when the variables are malformed. The variables are removed (children
// must not take them for theirs) and the fds are marked close-on-exec.
int listenFds();

// Whether `fd` is a listening AF_UNIX SOCK_STREAM socket.
bool isListeningUnixStream(int fd);

}  // namespace tetherd::systemd
