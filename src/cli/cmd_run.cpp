// `simbi run --config F`: the whole pipeline from one config — simulate -> train -> sample -> evaluate
// (pipeline/pipeline.hpp) — each stage's options read from F's section for that command by the command's
// own option table, ending with a report (run_report.md: outputs, times per stage, metrics, plots;
// run_report.hpp).
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "commands.hpp"
#include "config_args.hpp"
#include "run_report.hpp"
#include "simbi/core/error.hpp"
#include "simbi/core/timing.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/pipeline/pipeline.hpp"
#include "simbi/pipeline/sequential.hpp"
#include "simbi/store/atomic_file.hpp"

namespace simbi::cli {

namespace {

struct RunArgs {
  std::string config, workdir = "simbi_run", observation, reference, until;
  bool force = false, no_plots = false;
  pipeline::SequentialOptions sequential;  // method empty and no --rounds: one round from the prior
  const CLI::Option* rounds = nullptr;
};

// The typed options of one stage: `args` ("train --config F --data ..."), with F's options for that
// command expanded as `simbi <command>` expands them, parsed by the command's own option table.
// Error(invalid_argument) naming the config and section for what the table refuses (a missing budget).
template <class Options>
Options read_stage(const std::vector<std::string>& args, void (*bind)(CLI::App*, Options*), Options options = {}) {
  CLI::App all{"simbi"};
  std::vector<Command> commands;
  add_all_commands(all, commands);
  std::vector<std::string> expanded = expand_config_args(args, all);
  CLI::App app{"simbi"};
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  CLI::App* sub = app.add_subcommand(args[0]);
  bind(sub, &options);
  std::reverse(expanded.begin(), expanded.end());  // CLI11 takes the vector in reverse order
  try {
    app.parse(expanded);
  } catch (const CLI::ParseError& e) {
    throw Error(ErrorKind::invalid_argument, "config " + args[2] + ", [" + args[0] + "]: " + e.what());
  }
  return options;
}

pipeline::RunRequest run_request(const RunArgs& a, const pipeline::RunPaths& p, SimulateArgs& simulate) {
  pipeline::RunRequest r;
  simulate = read_stage<SimulateArgs>(
      {"simulate", "--config", a.config, "--out", p.sims, a.force ? "--force" : "--resume"}, add_simulate_options);
  r.simulation = simulate.simulation_options();
  train::TrainRequest training;
  training.threads = 0;
  std::vector<std::string> train_args = {"train", "--config", a.config, "--data", p.sims, "--out", p.model};
  if (!a.force) train_args.push_back("--resume");  // continue a training stopped by a signal
  r.training = read_stage<train::TrainRequest>(train_args, add_train_options, training);
  if (a.observation.empty()) return r;
  const SampleArgs sample = read_stage<SampleArgs>(
      {"sample", "--config", a.config, "--model", p.model, "--observation", a.observation, "--out", p.samples},
      add_sample_options);
  r.sampling = sample.sampling_request();
  r.sampling_threads = sample.threads;
  if (a.reference.empty()) return r;
  r.evaluation = read_stage<posterior::EvaluationRequest>(
      {"evaluate", "--config", a.config, "--samples", p.samples, "--reference", a.reference, "--out", p.metrics},
      add_evaluate_options);
  return r;
}

int run_command(const RunArgs& a) {
  namespace fs = std::filesystem;
  const auto t0 = SteadyClock::now();
  const fs::file_time_type started = fs::file_time_type::clock::now();
  const pipeline::RunPaths paths = pipeline::run_paths(a.workdir);
  pipeline::RunRequest request;
  SimulateArgs simulate;
  sim::Task task;
  dist::run_agreed([&] {
    require(fs::exists(a.config), ErrorKind::io, a.config + ": no such config file");
    request = run_request(a, paths, simulate);
    request.until = a.until;
    request.stages_done = paths.stages_done;
    if (dist::is_root()) {
      std::error_code ec;  // a failure is reported by the check below, which names the option
      fs::create_directories(a.workdir, ec);
      store::require_writable_output(paths.report, "--workdir");
      if (a.force) fs::remove(paths.stages_done, ec);  // the stages are all done anew
    }
  });
  dist::run_agreed([&] { task = simulate.source.make(); });
  pipeline::RunObserver observer;
  observer.on_simulated = [&](const store::SimulationSummary& s) {
    print_simulation(request.simulation, task.name, s);
  };
  observer.on_trained = [](const train::TrainRequest& r, const train::TrainOutcome& o) {
    if (dist::is_root()) print_training(r, o);
  };
  observer.on_sampled = [&](const posterior::WrittenSamples& w) {
    print_samples(request.sampling->options.num_samples, w);
  };
  observer.on_evaluated = print_evaluation;
  const pipeline::RunResult result = a.sequential.method.empty() && a.rounds->count() == 0
                                         ? pipeline::run_pipeline(request, task, observer)
                                         : pipeline::run_sequential(request, a.sequential, task, observer);
  if (result.stopped || !dist::is_root()) return 0;
  if (result.reached_until) {
    std::printf("run stopped after stage %s (--until); run again without --until to go on\n", a.until.c_str());
    std::fflush(stdout);
    return 0;
  }
  std::printf("run complete: store %s, model %s", paths.sims.c_str(), paths.model.c_str());
  if (request.sampling) std::printf(", samples %s", paths.samples.c_str());
  if (result.evaluation && result.evaluation->has_c2st) std::printf(", C2ST %.4f", result.evaluation->c2st);
  if (result.evaluation) std::printf(" (%s)", paths.metrics.c_str());
  std::printf("\n");
  std::fflush(stdout);
  const RunReportInput report{a.config,          a.workdir,   paths.sims,    paths.model,
                              a.observation,     a.reference, paths.metrics, result.stage_seconds,
                              seconds_since(t0), started,     !a.no_plots};
  std::printf("\n%s", write_run_report(report).c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace

void add_run_command(CLI::App& app, std::vector<Command>& commands) {
  auto a = std::make_shared<RunArgs>();
  CLI::App* sub = app.add_subcommand(
      "run", "The whole pipeline from one config: simulate -> train -> sample -> evaluate (configs/)");
  sub->add_option("--config", a->config, "TOML config with [simulate], [train], [sample], [evaluate] sections")
      ->required();
  sub->add_option("--workdir", a->workdir, "Folder for sims.h5, model.pt, samples.csv, metrics.json")
      ->capture_default_str();
  sub->add_option("--observation", a->observation, "Observation(s) to sample for (CSV or file.h5:/dataset)");
  sub->add_option("--reference", a->reference, "Reference posterior samples to evaluate against (CSV)");
  sub->add_flag("--force", a->force, "Simulate again even if the workdir has a store");
  sub->add_option("--sequential", a->sequential.method,
                  "Sequential rounds for the --observation: tsnpe (npe/fmpe/npse; truncated prior) | snpe (npe; "
                  "SNPE-C's atomic loss) | snle (nle; MCMC posterior)");
  add_integer_option(sub, "--atoms", a->sequential.atoms, "snpe: atoms per row of the atomic loss", kCount)
      ->capture_default_str();
  a->rounds = add_integer_option(
      sub, "--rounds", a->sequential.rounds,
      "Rounds of a sequential run, each of [simulate] budget simulations (with --sequential)", kCount);
  sub->add_flag(
      "--from-scratch", a->sequential.from_scratch,
      "Sequential: train each round from a fresh initialisation (default: from the previous round's weights)");
  sub->add_option("--truncation-quantile", a->sequential.truncation.quantile,
                  "tsnpe: the quantile of the posterior's log-density that bounds the truncated prior")
      ->capture_default_str();
  sub->add_option("--until", a->until,
                  "Stop after this stage (simulate, train, sample, evaluate; sequential: <r>:propose, <r>:simulate, "
                  "<r>:train); stages already done are skipped, as on any resume");
  sub->add_flag("--no-plots", a->no_plots, "No plots in the final report (run_report.md)");
  commands.push_back({sub, [a] { return run_command(*a); }});
}

}  // namespace simbi::cli
