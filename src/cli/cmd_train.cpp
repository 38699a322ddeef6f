// `simbi train`: fit an estimator to a simulation store, data-parallel over the ranks, and write
// model.pt (weights + metadata with the training history; train/training_run.hpp). Checkpoints go to
// model.pt.ckpt; --resume continues from it, or trains nothing when model.pt is already this training's
// finished model; SIGTERM/SIGUSR1 checkpoint at the next step and exit 0.
#include <cstdio>
#include <fstream>

#include "commands.hpp"
#include "simbi/core/stop_signal.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/train/training_run.hpp"

namespace simbi::cli {

namespace {

// This process's command line with --resume added (for the message after a stop signal); the
// launcher (mpiexec/srun) is not visible from here.
std::string resume_command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> args;
  for (std::string arg; std::getline(in, arg, '\0');) args.push_back(arg);
  if (args.empty()) return "the same command with --resume";
  bool has_resume = false, is_train = false;
  std::string line;
  for (const std::string& arg : args) {
    has_resume |= arg == "--resume";
    is_train |= arg == "train";
    const bool plain = !arg.empty() && arg.find_first_of(" \t'\"$\\") == std::string::npos;
    line += (line.empty() ? "" : " ") + (plain ? arg : "'" + arg + "'");
  }
  // `simbi run` resumes its stages by itself.
  return is_train && !has_resume ? line + " --resume" : line;
}

}  // namespace

void print_training(const train::TrainRequest& a, const train::TrainOutcome& o) {
  const train::TrainHistory& h = o.history;
  if (!o.skipped.empty()) {
    std::printf(
        "training skipped: %s is already the finished model of this training (%s); delete it, or train "
        "without --resume, to train again\n",
        a.out.c_str(), o.skipped.c_str());
    std::fflush(stdout);
    return;
  }
  if (o.stopped()) {
    std::printf("received %s: checkpoint written to %s after %zu epochs (%lld steps); continue with: %s\n",
                signal_name(h.stop_signal), o.checkpoint.c_str(), h.val_loss.size(), static_cast<long long>(h.steps),
                resume_command_line().c_str());
    std::fflush(stdout);
    return;
  }
  const double per = 1e3 / static_cast<double>(std::max<int64_t>(1, h.steps));
  std::printf(
      "trained %s on %s in %.1f s: %zu epochs (%s; best epoch %lld, validation loss %.4f), "
      "%.2f ms/step (allreduce %.3f ms/step) -> %s\n",
      a.estimator.method.c_str(), o.store.task.c_str(), h.seconds, h.train_loss.size(), h.stop_reason.c_str(),
      static_cast<long long>(h.best_epoch + 1), h.best_val_loss, h.seconds * per, h.allreduce_seconds * per,
      a.out.c_str());
  std::printf(
      "  time per step (rank 0): data %.3f ms, forward %.3f ms, backward %.3f ms, allreduce %.3f ms, "
      "clip+optimizer %.3f ms\n",
      h.data_seconds * per, h.forward_seconds * per, h.backward_seconds * per, h.allreduce_seconds * per,
      h.optimizer_seconds * per);
  if (h.checkpoints > 0)
    std::printf(
        "  checkpoints: %lld written (%.1f ms each, %.2f MB), stop/checkpoint agreement %.3f ms/step; "
        "%s removed\n",
        static_cast<long long>(h.checkpoints), 1e3 * h.checkpoint_seconds / static_cast<double>(h.checkpoints),
        static_cast<double>(o.checkpoint_bytes) / 1e6, h.control_seconds * per, o.checkpoint.c_str());
  std::fflush(stdout);
}

void add_train_command(CLI::App& app, std::vector<Command>& commands) {
  auto a = std::make_shared<train::TrainRequest>();
  a->threads = 0;
  CLI::App* sub = app.add_subcommand("train", "Train an estimator on a simulation store (data-parallel over ranks)");
  sub->add_option("--config", "TOML file with any of these options (keys without dashes; command line wins)");
  add_train_options(sub, a.get());
  commands.push_back({sub, [a] {
                        const StopSignalScope stop_signals;  // SIGTERM/SIGUSR1 only set a flag the trainer polls
                        train::TrainRequest request = *a;
                        request.threads = set_torch_threads(a->threads);
                        const train::TrainOutcome outcome = train::run_training(request);
                        if (dist::is_root()) print_training(request, outcome);
                        dist::barrier();
                        return 0;
                      }});
}

}  // namespace simbi::cli
