// One timed stage of a run (private to the pipeline module): logs it, tells the observer, times it into
// result.stage_seconds, records it as done (RunRequest::stages_done) and says whether the run goes on
// (false: a stop signal asked it to end after the stage, which has checkpointed and said so and the next
// run resumes it; or the stage is request.until).
#pragma once
#include <string>

#include "simbi/core/log.hpp"
#include "simbi/core/stop_signal.hpp"
#include "simbi/core/timing.hpp"
#include "simbi/pipeline/pipeline.hpp"

namespace simbi::pipeline {

// Rank 0 appends the stage's key to request.stages_done.
void record_stage_done(const RunRequest& request, const std::string& name);

template <class Stage>
bool run_stage(const RunRequest& request, const std::string& name, RunResult& result, const RunObserver& observer,
               Stage stage) {
  log::info("run: stage " + name);
  if (observer.on_stage) observer.on_stage(name);
  const auto t0 = SteadyClock::now();
  stage();
  result.stage_seconds.emplace_back(name, seconds_since(t0));
  result.stopped = stop_signal() != 0;
  if (result.stopped) return false;
  record_stage_done(request, name);
  result.reached_until = stage_key(name) == request.until;
  if (result.reached_until) log::info("run: stopping after stage " + name + " (--until " + request.until + ")");
  return !result.reached_until;
}

// The simulate stage and the train stage (threads: request.threads, 0 = 1) as run_stage()s.
bool simulate_stage(const RunRequest& run, const std::string& name, const store::SimulationOptions& options,
                    sim::Task& task, RunResult& result, const RunObserver& observer);
bool train_stage(const RunRequest& run, const std::string& name, train::TrainRequest request, RunResult& result,
                 const RunObserver& observer);

// The sample and evaluate stages, when the request has them (after the model is trained).
void sample_and_evaluate(const RunRequest& request, RunResult& result, const RunObserver& observer);

}  // namespace simbi::pipeline
