#include "simbi/pipeline/pipeline.hpp"

#include <filesystem>

#include "simbi/core/log.hpp"
#include "simbi/core/stop_signal.hpp"
#include "simbi/core/timing.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/nn/threads.hpp"

namespace simbi::pipeline {

RunPaths run_paths(const std::string& workdir) {
  const std::filesystem::path w(workdir);
  return {(w / "sims.h5").string(), (w / "model.pt").string(), (w / "samples.csv").string(),
          (w / "metrics.json").string(), (w / "run_report.md").string()};
}

namespace {

// Times one stage into result.stage_seconds; false when a stop signal asks the run to end after it.
template <class Stage>
bool run_stage(const char* name, RunResult& result, const RunObserver& observer, Stage stage) {
  log::info("run: stage " + std::string(name));
  if (observer.on_stage) observer.on_stage(name);
  const auto t0 = SteadyClock::now();
  stage();
  result.stage_seconds.emplace_back(name, seconds_since(t0));
  // A stage stopped by SIGTERM/SIGUSR1 has checkpointed and said so; the next run resumes it.
  result.stopped = stop_signal() != 0;
  return !result.stopped;
}

}  // namespace

RunResult run_pipeline(const RunRequest& request, sim::Task& task, const RunObserver& observer) {
  RunResult result;
  const bool simulated = run_stage("simulate", result, observer, [&] {
    const StopSignalScope stop_signals;  // SIGTERM/SIGUSR1: stop cleanly, killing external simulators
    const store::SimulationSummary s = store::run_simulation(request.simulation, task);
    if (observer.on_simulated) observer.on_simulated(s);
  });
  if (!simulated) return result;
  const bool trained = run_stage("train", result, observer, [&] {
    const StopSignalScope stop_signals;  // checkpoint at the next step and stop
    train::TrainRequest r = request.training;
    r.threads = nn::set_torch_threads(r.threads);
    const train::TrainOutcome outcome = train::run_training(r);
    if (observer.on_trained) observer.on_trained(r, outcome);
    dist::barrier();
  });
  if (!trained || !request.sampling) return result;
  const bool sampled = run_stage("sample", result, observer, [&] {
    nn::set_torch_threads(request.sampling_threads);
    posterior::sample_to_files(*request.sampling, observer.on_sampled);
  });
  if (!sampled || !request.evaluation) return result;
  run_stage("evaluate", result, observer, [&] {
    nn::set_torch_threads(1);  // the C2ST folds run on worker threads instead
    result.evaluation = posterior::evaluate_samples(*request.evaluation);
    if (observer.on_evaluated) observer.on_evaluated(*result.evaluation);
  });
  return result;
}

}  // namespace simbi::pipeline
