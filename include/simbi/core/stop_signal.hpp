// Polite stop requests from the batch system: SIGTERM (scancel, Slurm's time limit) and SIGUSR1 (Slurm's
// `--signal=USR1@T`) only set a flag, which long-running loops poll at safe points (the trainer: every
// step boundary, agreed across ranks; simulate: between calls, agreed within a poll period) to stop cleanly.
// SIGTERM is also passed on at once to the process groups of running children (core/process.hpp).
// Contract: the handler is async-signal-safe (it stores one sig_atomic_t and calls kill()); install/restore
// from the main thread; polling from any thread.
#pragma once

namespace simbi {

// Installs the SIGTERM/SIGUSR1 handlers while alive and puts the previous ones back when destroyed.
// A signal received while no scope is alive keeps its previous (default: terminate) meaning. Scopes
// nest: the outermost installs and restores (`simbi train` opens one before MPI and LibTorch start, so
// an early signal is not fatal, and its command body opens another; `simbi run` reaches the latter).
class StopSignalScope {
 public:
  StopSignalScope();
  ~StopSignalScope();
  StopSignalScope(const StopSignalScope&) = delete;
  StopSignalScope& operator=(const StopSignalScope&) = delete;
};

// The first stop signal received (SIGTERM or SIGUSR1), 0 if none. Stays set after the scope ends, so a
// caller (e.g. `simbi run`) can tell that a stage stopped early.
int stop_signal();
// "SIGTERM", "SIGUSR1", ... for messages.
const char* signal_name(int signal);

}  // namespace simbi
