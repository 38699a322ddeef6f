// `simbi run` as a library call: simulate → train → sample → evaluate, each stage the library call its
// command makes (store::run_simulation, train::run_training, posterior::sample_to_files,
// posterior::evaluate_samples) with its typed request, timed, with typed results. The stages resume
// what an earlier run left: the store is finished with ExistingOutput::resume, training continues from
// its checkpoint or is skipped when the model is already this training's (TrainRequest::resume). A stop
// signal (SIGTERM/SIGUSR1) during simulate or train ends the run after that stage has checkpointed.
// Contract: COLLECTIVE over simbi's world (every rank calls it with the same requests); errors are the
// stages' own simbi::Error, agreed across the ranks.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "simbi/posterior/evaluation.hpp"
#include "simbi/posterior/sampling.hpp"
#include "simbi/sim/task.hpp"
#include "simbi/store/simulation_run.hpp"
#include "simbi/train/training_run.hpp"

namespace simbi::pipeline {

// Where a run keeps its outputs inside its working folder.
struct RunPaths {
  std::string sims, model, samples, metrics, report;
  std::string stages_done;  // one line per finished stage (its key), for job scripts (docs/slurm.md)
};
RunPaths run_paths(const std::string& workdir);

struct RunRequest {
  store::SimulationOptions simulation;
  train::TrainRequest training;                        // training.threads: torch threads per rank for this stage (0: 1)
  std::optional<posterior::SamplingRequest> sampling;  // no observation: no sample stage
  int sampling_threads = 0;                            // torch threads per rank for sampling (0: 1)
  std::optional<posterior::EvaluationRequest> evaluation;  // no reference: no evaluate stage
  // Stop after the stage with this key (empty: run every stage). Keys: simulate, train, sample, evaluate;
  // a sequential run's rounds: <r>:propose (r >= 2), <r>:simulate, <r>:train. Stages before it that are
  // already done are skipped as on any resume, so a job script can run one stage of the pipeline.
  std::string until;
  // File each finished stage's key is appended to (rank 0; empty: none), and "done" when the whole run
  // has finished.
  std::string stages_done;
};

// The key of a stage named `name` ("round 2: simulate" -> "2:simulate", "sample" -> "sample").
std::string stage_key(const std::string& name);
// Error(invalid_argument) unless request.until is empty or the key of a stage of this run (rounds: 0
// for a one-round run, else the sequential run's rounds).
void check_until(const RunRequest& request, int64_t rounds);

// What each stage reports as it finishes (on every rank; printing is the caller's).
struct RunObserver {
  std::function<void(const std::string& stage)> on_stage;  // before the stage starts
  std::function<void(const store::SimulationSummary&)> on_simulated;
  std::function<void(const train::TrainRequest&, const train::TrainOutcome&)> on_trained;
  std::function<void(const posterior::WrittenSamples&)> on_sampled;  // rank 0, per written file
  std::function<void(const posterior::Evaluation&)> on_evaluated;
};

struct RunResult {
  std::vector<std::pair<std::string, double>> stage_seconds;  // stages run, in order, wall seconds
  bool stopped = false;        // a stop signal ended the run after a stage (the next run resumes it)
  bool reached_until = false;  // the run stopped after request.until, as asked
  std::optional<posterior::Evaluation> evaluation;
};

// Runs the stages in order on `task` (the simulator of request.simulation).
RunResult run_pipeline(const RunRequest& request, sim::Task& task, const RunObserver& observer = {});

}  // namespace simbi::pipeline
