#include "simbi/pipeline/pipeline.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "simbi/core/error.hpp"
#include "simbi/core/log.hpp"
#include "simbi/core/stop_signal.hpp"
#include "simbi/core/timing.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/nn/threads.hpp"
#include "stage.hpp"

namespace simbi::pipeline {

RunPaths run_paths(const std::string& workdir) {
  const std::filesystem::path w(workdir);
  return {(w / "sims.h5").string(),      (w / "model.pt").string(),      (w / "samples.csv").string(),
          (w / "metrics.json").string(), (w / "run_report.md").string(), (w / "stages_done.txt").string()};
}

std::string stage_key(const std::string& name) {
  const std::string prefix = "round ";
  if (name.rfind(prefix, 0) != 0) return name;
  const size_t colon = name.find(": ");
  return name.substr(prefix.size(), colon - prefix.size()) + ":" + name.substr(colon + 2);
}

void check_until(const RunRequest& request, int64_t rounds) {
  if (request.until.empty()) return;
  std::vector<std::string> keys;
  for (int64_t r = 1; r <= rounds; ++r) {
    if (r > 1) keys.push_back(std::to_string(r) + ":propose");
    keys.push_back(std::to_string(r) + ":simulate");
    keys.push_back(std::to_string(r) + ":train");
  }
  if (rounds == 0) keys = {"simulate", "train"};
  if (request.sampling) keys.push_back("sample");
  if (request.sampling && request.evaluation) keys.push_back("evaluate");
  std::string list;
  for (const std::string& k : keys) list += (list.empty() ? "" : ", ") + k;
  require(std::find(keys.begin(), keys.end(), request.until) != keys.end(), ErrorKind::invalid_argument,
          "--until '" + request.until + "' is not a stage of this run (its stages: " + list + ")");
}

void record_stage_done(const RunRequest& request, const std::string& name) {
  if (request.stages_done.empty()) return;
  dist::run_agreed([&] {
    if (!dist::is_root()) return;
    std::ofstream out(request.stages_done, std::ios::app);
    out << stage_key(name) << '\n';
    out.flush();
    require(out.good(), ErrorKind::io, request.stages_done + ": cannot record the finished stage " + name);
  });
}

void sample_and_evaluate(const RunRequest& request, RunResult& result, const RunObserver& observer) {
  if (!request.sampling) return;
  const bool sampled = run_stage(request, "sample", result, observer, [&] {
    nn::set_torch_threads(request.sampling_threads);
    posterior::sample_to_files(*request.sampling, observer.on_sampled);
  });
  if (!sampled || !request.evaluation) return;
  run_stage(request, "evaluate", result, observer, [&] {
    nn::set_torch_threads(1);  // the C2ST folds run on worker threads instead
    result.evaluation = posterior::evaluate_samples(*request.evaluation);
    if (observer.on_evaluated) observer.on_evaluated(*result.evaluation);
  });
}

bool simulate_stage(const RunRequest& run, const std::string& name, const store::SimulationOptions& options,
                    sim::Task& task, RunResult& result, const RunObserver& observer) {
  return run_stage(run, name, result, observer, [&] {
    const StopSignalScope stop_signals;  // SIGTERM/SIGUSR1: stop cleanly, killing external simulators
    const store::SimulationSummary s = store::run_simulation(options, task);
    if (observer.on_simulated) observer.on_simulated(s);
  });
}

bool train_stage(const RunRequest& run, const std::string& name, train::TrainRequest request, RunResult& result,
                 const RunObserver& observer) {
  return run_stage(run, name, result, observer, [&] {
    const StopSignalScope stop_signals;  // checkpoint at the next step and stop
    request.threads = nn::set_torch_threads(request.threads);
    const train::TrainOutcome outcome = train::run_training(request);
    if (observer.on_trained) observer.on_trained(request, outcome);
    dist::barrier();
  });
}

RunResult run_pipeline(const RunRequest& request, sim::Task& task, const RunObserver& observer) {
  RunResult result;
  dist::run_agreed([&] { check_until(request, 0); });
  if (simulate_stage(request, "simulate", request.simulation, task, result, observer) &&
      train_stage(request, "train", request.training, result, observer))
    sample_and_evaluate(request, result, observer);
  if (!result.stopped && !result.reached_until) record_stage_done(request, "done");
  return result;
}

}  // namespace simbi::pipeline
