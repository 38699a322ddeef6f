#include "simbi/pipeline/pipeline.hpp"

#include <filesystem>

#include "simbi/core/log.hpp"
#include "simbi/core/stop_signal.hpp"
#include "simbi/core/timing.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/nn/threads.hpp"
#include "stage.hpp"

namespace simbi::pipeline {

RunPaths run_paths(const std::string& workdir) {
  const std::filesystem::path w(workdir);
  return {(w / "sims.h5").string(), (w / "model.pt").string(), (w / "samples.csv").string(),
          (w / "metrics.json").string(), (w / "run_report.md").string()};
}

void sample_and_evaluate(const RunRequest& request, RunResult& result, const RunObserver& observer) {
  if (!request.sampling) return;
  const bool sampled = run_stage("sample", result, observer, [&] {
    nn::set_torch_threads(request.sampling_threads);
    posterior::sample_to_files(*request.sampling, observer.on_sampled);
  });
  if (!sampled || !request.evaluation) return;
  run_stage("evaluate", result, observer, [&] {
    nn::set_torch_threads(1);  // the C2ST folds run on worker threads instead
    result.evaluation = posterior::evaluate_samples(*request.evaluation);
    if (observer.on_evaluated) observer.on_evaluated(*result.evaluation);
  });
}

bool simulate_stage(const std::string& name, const store::SimulationOptions& options, sim::Task& task,
                    RunResult& result, const RunObserver& observer) {
  return run_stage(name, result, observer, [&] {
    const StopSignalScope stop_signals;  // SIGTERM/SIGUSR1: stop cleanly, killing external simulators
    const store::SimulationSummary s = store::run_simulation(options, task);
    if (observer.on_simulated) observer.on_simulated(s);
  });
}

bool train_stage(const std::string& name, train::TrainRequest request, RunResult& result,
                 const RunObserver& observer) {
  return run_stage(name, result, observer, [&] {
    const StopSignalScope stop_signals;  // checkpoint at the next step and stop
    request.threads = nn::set_torch_threads(request.threads);
    const train::TrainOutcome outcome = train::run_training(request);
    if (observer.on_trained) observer.on_trained(request, outcome);
    dist::barrier();
  });
}

RunResult run_pipeline(const RunRequest& request, sim::Task& task, const RunObserver& observer) {
  RunResult result;
  if (simulate_stage("simulate", request.simulation, task, result, observer) &&
      train_stage("train", request.training, result, observer))
    sample_and_evaluate(request, result, observer);
  return result;
}

}  // namespace simbi::pipeline
