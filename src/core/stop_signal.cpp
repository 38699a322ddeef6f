#include "simbi/core/stop_signal.hpp"

#include <csignal>

#include "simbi/core/process.hpp"

namespace simbi {

namespace {
volatile std::sig_atomic_t g_signal = 0;
struct sigaction g_previous_term, g_previous_usr1;
int g_depth = 0;  // scopes alive (main thread only): the outermost one installs and restores

extern "C" void on_stop_signal(int signal) {
  if (g_signal == 0) g_signal = signal;  // keep the first one (Slurm may follow USR1 with TERM)
  // mpiexec follows its SIGTERM with SIGKILL within a second: pass SIGTERM on to the children now, so
  // that none outlives simbi (their owners kill what is left after a grace; docs/architecture.md §6).
  if (signal == SIGTERM) signal_live_process_groups(SIGTERM);
}
}  // namespace

StopSignalScope::StopSignalScope() {
  if (g_depth++ > 0) return;
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  // SA_RESTART: a blocking read/write in HDF5 or MPI continues instead of failing with EINTR.
  action.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &action, &g_previous_term);
  sigaction(SIGUSR1, &action, &g_previous_usr1);
}

StopSignalScope::~StopSignalScope() {
  if (--g_depth > 0) return;
  sigaction(SIGTERM, &g_previous_term, nullptr);
  sigaction(SIGUSR1, &g_previous_usr1, nullptr);
}

int stop_signal() { return g_signal; }

const char* signal_name(int signal) {
  switch (signal) {
    case SIGTERM:
      return "SIGTERM";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGINT:
      return "SIGINT";
    default:
      return "a signal";
  }
}

}  // namespace simbi
