// Child processes (dnsmasq, hostapd) behind a narrow interface. The real runner spawns with
// posix_spawn and learns of exits through a pidfd on the Asio loop (no SIGCHLD handler);
// higher layers take a ProcessRunner& so their unit tests can use a fake.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tether/base/result.h"

namespace tetherd {

struct ProcessSpec {
  std::string name;               // for logs: "dnsmasq-usb0"
  std::vector<std::string> argv;  // argv[0] is the absolute path of the program
  // Empty: every output line is logged at info. Otherwise only the lines it accepts are; the
  // others are logged at debug (a child run in a verbose mode to see one thing in its output).
  // Handlers get every line either way.
  std::function<bool(std::string_view line)> logFilter;
};

// "exited with status 2", "killed by signal 9 (Killed)" for a waitpid() status.
std::string describeExit(int waitStatus);

class ProcessRunner {
 public:
  using ExitHandler = std::function<void(int waitStatus)>;        // a waitpid() status
  using OutputHandler = std::function<void(std::string_view line)>;  // one line, no '\n'

  virtual ~ProcessRunner() = default;

  // Start a child. It has stdin on /dev/null, stdout and stderr on a pipe read by the runner
  // (each line is logged prefixed by spec.name), no other inherited descriptors, default
  // signal dispositions and an empty signal mask, and its own session.
  virtual Result<pid_t> spawn(const ProcessSpec& spec) = 0;
  // Signal a child of this runner that has not been reaped yet (NotFound otherwise).
  virtual Status signal(pid_t pid, int sig) = 0;
  // Called once on the loop when the child has exited and was reaped. Every output line the
  // child wrote before it exited is delivered (onOutput) before this. Register in the same
  // loop turn as spawn() to miss nothing; one handler per child (a later call replaces it).
  virtual void onExit(pid_t pid, ExitHandler handler) = 0;
  // Called on the loop for every line the child writes to stdout or stderr.
  virtual void onOutput(pid_t pid, OutputHandler handler) = 0;
};

// The real runner. Requires that nothing else in the process reaps children (no
// waitpid(-1), no SIGCHLD set to SIG_IGN). All callbacks run on `io`'s thread.
class PosixProcessRunner : public ProcessRunner {
 public:
  explicit PosixProcessRunner(boost::asio::io_context& io);
  // Children still running are SIGKILLed and reaped (shut down with Supervisor::stop first).
  ~PosixProcessRunner() override;
  PosixProcessRunner(const PosixProcessRunner&) = delete;
  PosixProcessRunner& operator=(const PosixProcessRunner&) = delete;

  Result<pid_t> spawn(const ProcessSpec& spec) override;
  Status signal(pid_t pid, int sig) override;
  void onExit(pid_t pid, ExitHandler handler) override;
  void onOutput(pid_t pid, OutputHandler handler) override;

  size_t childCount() const { return children_.size(); }  // spawned, exit not yet delivered

  struct Child;  // implementation detail

 private:
  void reap(const std::shared_ptr<Child>& child);
  void deliverExit(const std::shared_ptr<Child>& child);

  boost::asio::io_context& io_;
  std::map<pid_t, std::shared_ptr<Child>> children_;
};

// Clean up a child left behind by a previous tetherd (SIGKILLed, crashed) from its pid file:
// only if /proc/<pid>/comm equals expectedComm (as the kernel truncates it, 15 bytes) is the
// process sent SIGTERM, then SIGKILL if it is still there after ~0.7 s; the whole wait is
// bounded by 1 s (it blocks: meant for start-up). A recycled pid is never signalled (checked
// through a pidfd, so the process cannot be swapped between check and kill). The pid file is
// removed in every case where it is stale or handled; a missing pid file is success.
// With isOurs, the process's command line (/proc/<pid>/cmdline, read while the pidfd holds
// it) must also satisfy it: a pid file someone else could write never aims the kill at a
// process of the same name that is not our own instance (another dnsmasq on the system).
using ArgvMatch = std::function<bool(const std::vector<std::string>& argv)>;
Status killStalePidFile(const std::string& pidFile, const std::string& expectedComm, const ArgvMatch& isOurs = {});

// The same for children a previous tetherd started but was killed before their pid file was
// written (or before the child wrote it): every process named expectedComm with an argument
// that starts with `prefix` (a path only tetherd passes: "--pid-file=<run_dir>/dnsmasq-", the
// generated config file) is stopped. Scans /proc; meant for start-up, blocks like the above.
Status killStaleWithArgument(const std::string& expectedComm, const std::string& prefix, const ArgvMatch& isOurs = {});

}  // namespace tetherd
