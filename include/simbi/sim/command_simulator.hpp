// A Simulator that runs a user's external command once per batch, speaking the line protocol of
// docs/user_simulators.md over its stdin/stdout. Contract: one CommandSimulator per thread (each batch
// spawns its own process; instances share nothing).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "simbi/sim/simulator.hpp"

namespace simbi::sim {

// What a call that runs past timeout_s does (its process group is killed either way).
enum class OnTimeout {
  stop,      // throw Error(runtime): the run stops with one error line naming the timeout
  fail_row,  // the call's rows become failed rows (NaN, status "failed" in a store), with a warning line
};

struct CommandOptions {
  std::string command;      // run as /bin/sh -c "<command>"
  int64_t theta_dim = 0;    // >= 1
  int64_t x_dim = 0;        // >= 1
  std::string working_dir;  // empty: simbi's working directory
  std::string config_path;  // exported as SIMBI_CONFIG (empty: not set)
  double timeout_s = 0.0;   // per call (one batch); 0: no limit. On expiry the process group is killed.
  OnTimeout on_timeout = OnTimeout::stop;
};

// Protocol version 1, per batch of n rows:
//   environment: SIMBI_PROTOCOL_VERSION=1, SIMBI_THETA_DIM, SIMBI_X_DIM, SIMBI_BATCH_ROWS=n
//                (and SIMBI_CONFIG when a config file is known)
//   stdin:  n lines "seed θ_1 … θ_d" (seed: the row's uint64 seed; θ with 9 significant digits)
//   stdout: exactly n lines of x_dim whitespace-separated numbers; nan/inf mark a failed row
// Errors are simbi::Error (runtime for a failing process, format for bad output) naming the command; a
// call abandoned through the interrupt check (Simulator::set_interrupt_check) throws sim::Interrupted.
// The process runs through core/process.hpp: own process group, killed on timeout, interrupt or error.
class CommandSimulator final : public Simulator {
 public:
  explicit CommandSimulator(CommandOptions options);
  int64_t theta_dim() const override { return options_.theta_dim; }
  int64_t x_dim() const override { return options_.x_dim; }
  void simulate(ConstMatrixView theta, MatrixView x, const RowStreams& streams) override;
  const CommandOptions& options() const { return options_; }

 private:
  CommandOptions options_;
};

std::unique_ptr<Simulator> make_command_simulator(CommandOptions options);

}  // namespace simbi::sim
