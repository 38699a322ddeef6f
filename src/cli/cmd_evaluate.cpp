// `simbi evaluate`: C2ST and MMD of posterior samples against reference samples, as sbibm reports them
// (posterior/evaluation.hpp); rank 0 prints one line and writes the JSON.
#include <cstdio>

#include "commands.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/posterior/evaluation.hpp"

namespace simbi::cli {

void add_evaluate_options(CLI::App* sub, posterior::EvaluationRequest* a) {
  sub->add_option("--samples", a->samples, "Posterior samples to evaluate (CSV with a header, or file.h5:/dataset)")
      ->required();
  sub->add_option("--reference", a->reference, "Reference posterior samples (CSV with a header, or file.h5:/dataset)")
      ->required();
  sub->add_option("--out", a->out, "Write every figure as JSON to this file");
  sub->add_option("--metrics", a->metrics, "Comma-separated metrics: c2st, mmd")->capture_default_str();
  add_integer_option(sub, "--seed", a->seed, "Seed of the C2ST folds, initialisation and shuffling")
      ->capture_default_str();
  add_integer_option(sub, "--max-samples", a->max_samples, "Use the first N rows of each file (0: all; sbibm: 10000)",
                     kCount)
      ->capture_default_str();
  add_integer_option(sub, "--folds", a->folds, "C2ST cross-validation folds", kCount)->capture_default_str();
  sub->add_flag("--double", a->double_precision, "C2ST classifier in float64 (default float32, as sbibm's inputs)");
  add_integer_option(sub, "--threads", a->threads,
                     "Threads per rank: C2ST folds run concurrently on them (default: cores per node / ranks per node)",
                     kThreads);
}

void print_evaluation(const posterior::Evaluation& e) {
  if (!dist::is_root()) return;
  std::printf("%s\n", e.line.c_str());
  std::fflush(stdout);
}

void add_evaluate_command(CLI::App& app, std::vector<Command>& commands) {
  auto a = std::make_shared<posterior::EvaluationRequest>();
  CLI::App* sub =
      app.add_subcommand("evaluate", "C2ST and MMD of posterior samples against reference samples (sbibm's metrics)");
  sub->add_option("--config", "TOML file with any of these options (keys without dashes; command line wins)");
  add_evaluate_options(sub, a.get());
  commands.push_back({sub, [a] {
                        set_torch_threads(1);  // the C2ST folds run on worker threads instead
                        print_evaluation(posterior::evaluate_samples(*a));
                        return 0;
                      }});
}

}  // namespace simbi::cli
