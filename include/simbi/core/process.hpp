// Running a child program: the one place simbi spawns processes (external simulators, plot scripts).
// run_process() starts argv in a process group of its own, feeds it optional stdin data while capturing
// stdout and stderr (or appending both to a log file), and waits for it under a time limit and a stop
// check. Whatever way it ends (exit, timeout, stop, an exception, a stop signal to simbi), no member of
// the group outlives the call: the group gets SIGTERM, then SIGKILL after a short grace.
// Contract: run_process() may be called from any thread (one child per call); the live groups are kept
// in a fixed table so that signal_live_process_groups() is async-signal-safe (StopSignalScope calls it
// from its handler, so that SIGTERM from mpiexec or Slurm reaches the children before simbi is killed).
// See docs/architecture.md (processes).
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace simbi {

struct ProcessOptions {
  std::vector<std::string> argv;      // argv[0]: a path, or a name looked up on PATH
  std::vector<std::string> env_add;   // "NAME=value": added to (or replacing) simbi's environment
  std::string working_dir;            // empty: simbi's working directory
  std::string stdin_data;             // written to the child's stdin, which is then closed
  std::string log_file;               // non-empty: stdout and stderr appended to this file (not captured)
  double timeout_s = 0.0;             // wall-clock limit; 0: none
  std::function<bool()> should_stop;  // polled about every 50 ms; true: the group is killed (stopped)
  double kill_grace_s = 0.5;          // between SIGTERM and SIGKILL to the group
  size_t stderr_keep = 64 * 1024;     // the last bytes of stderr kept
  std::string what;                   // names the program in errors
};

struct ProcessResult {
  std::string out;               // all of stdout (empty with log_file)
  std::string err;               // the last stderr_keep bytes of stderr (empty with log_file)
  int wait_status = 0;           // as from waitpid
  bool timed_out = false;        // killed at the time limit
  bool stopped = false;          // killed because should_stop() said so
  bool exited_ok() const;        // exit status 0 (and neither timed out nor stopped)
  std::string describe() const;  // "exit status 3", "killed by signal SIGSEGV", "timed out", "stopped"
};

// Throws Error(runtime) when the program cannot be started (e.g. not found on PATH, a missing working
// directory); every other outcome is in the result.
ProcessResult run_process(const ProcessOptions& options);

// Sends `signal` to every process group run_process() has running now. Async-signal-safe.
void signal_live_process_groups(int signal) noexcept;

// "SIGSEGV" for messages (the number when the signal has no name).
std::string signal_abbrev(int signal);

}  // namespace simbi
