// `simbi run` with rounds: sequential inference for one observation x_o, as one resumable cluster run
// (docs/methods.md, "Sequential rounds"). Round 1 simulates prior draws; round r ≥ 2 draws its θ from
// the posterior of the model trained on rounds 1..r-1 (the proposal), writes them into the store with the
// proposal's description, simulates them, and trains round r's model on rows of rounds 1..r, starting
// from round r-1's weights (or from scratch). After the last round the last model is sampled and evaluated like `simbi
// run`'s.
//  - tsnpe (an npe / fmpe / npse estimator): the prior truncated to the posterior's highest-probability
//    region (posterior/proposal.hpp); the plain NPE loss on every round's rows.
//  - snle (an nle estimator): the MCMC posterior's draws; the likelihood is proposal-free.
//  - snpe (SNPE-C / APT, an npe estimator): the posterior's own draws; from round 2 on the atomic loss
//    (Npe::set_atomic_loss) on every round's rows.
// One store holds every round (SimStoreMeta::rounds; /round, round_<r>_proposal), so a store is the
// complete record of the run. Every stage resumes: a proposal recorded in the store is not drawn again,
// a round's rows already simulated are not simulated again, a round's finished model is not trained
// again and a stopped training continues from its checkpoint.
// Contract: COLLECTIVE over simbi's world; errors are simbi::Error agreed across the ranks, the run's
// settings checked before anything is written.
#pragma once
#include <cstdint>
#include <string>

#include "simbi/pipeline/pipeline.hpp"
#include "simbi/posterior/proposal.hpp"

namespace simbi::pipeline {

struct SequentialOptions {
  int64_t rounds = 0;                       // at least 1
  std::string method;                       // tsnpe | snpe | snle (`simbi run --sequential`)
  int64_t atoms = 10;                       // snpe: atoms per row of the atomic loss (sbibm's num_atoms)
  posterior::TruncationOptions truncation;  // tsnpe
  bool from_scratch = false;  // train each round from a fresh initialisation, not the previous round's weights
};

// The model file of round r of `rounds`: the last round's is `model` itself, the others
// <stem>_round<r><ext> beside it.
std::string round_model_path(const std::string& model, int64_t round, int64_t rounds);

// Runs the rounds and then the sample and evaluate stages of `request` (whose sampling is required: it
// names the observation). request.simulation.budget is each round's budget; the store holds
// rounds × budget rows. request.training.out is the last round's model.
RunResult run_sequential(const RunRequest& request, const SequentialOptions& options, sim::Task& task,
                         const RunObserver& observer = {});

}  // namespace simbi::pipeline
