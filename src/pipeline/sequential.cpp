#include "simbi/pipeline/sequential.hpp"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "simbi/core/error.hpp"
#include "simbi/core/log.hpp"
#include "simbi/core/text.hpp"
#include "simbi/dist/comm.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/mcmc/sampler.hpp"
#include "simbi/nn/threads.hpp"
#include "simbi/store/sim_store.hpp"
#include "simbi/store/store_lock.hpp"
#include "simbi/store/table.hpp"
#include "stage.hpp"

namespace simbi::pipeline {

namespace {

namespace fs = std::filesystem;

// The estimators each method trains.
bool method_takes(const std::string& method, const std::string& estimator) {
  if (method == "tsnpe") return estimator == "npe" || estimator == "fmpe" || estimator == "npse";
  if (method == "snpe") return estimator == "npe";
  return method == "snle" && estimator == "nle";
}

// The settings checked before anything is written (inside run_agreed).
void check_settings(const RunRequest& r, const SequentialOptions& o, const Matrix& observation) {
  require(!o.method.empty(), ErrorKind::invalid_argument,
          "--rounds is for a sequential run: add --sequential tsnpe, snpe or snle");
  require(o.rounds >= 1, ErrorKind::invalid_argument,
          "--rounds must be at least 1 (round 1 draws from the prior), got " + std::to_string(o.rounds));
  require(o.method == "tsnpe" || o.method == "snle" || o.method == "snpe", ErrorKind::invalid_argument,
          "--sequential must be tsnpe, snpe or snle, got '" + o.method + "'");
  require(o.method != "snpe" || o.atoms >= 2, ErrorKind::invalid_argument,
          "--atoms must be at least 2 for snpe, got " + std::to_string(o.atoms));
  const std::string& estimator = r.training.estimator.method;
  require(method_takes(o.method, estimator), ErrorKind::invalid_argument,
          "--sequential " + o.method + " trains " +
              (o.method == "snle"   ? "an nle"
               : o.method == "snpe" ? "an npe"
                                    : "an npe, fmpe or npse") +
              " estimator, but [train] method is '" + estimator + "'");
  const int64_t batch = r.training.options.batch_size;
  require(r.simulation.budget >= batch, ErrorKind::invalid_argument,
          "[simulate] budget " + std::to_string(r.simulation.budget) +
              " is each round's budget in a sequential run and must be at least the training batch (--batch-size " +
              std::to_string(batch) + ")");
  require(o.rounds <= store::kMaxBudget / std::max<int64_t>(r.simulation.budget, 1), ErrorKind::invalid_argument,
          "--rounds " + std::to_string(o.rounds) + " x budget " + std::to_string(r.simulation.budget) +
              " exceeds the largest store (" + std::to_string(store::kMaxBudget) + " rows)");
  const bool iid = r.sampling->options.iid_observations;
  require(observation.rows() == 1 || (o.method == "snle" && iid), ErrorKind::invalid_argument,
          r.sampling->observation + ": " + std::to_string(observation.rows()) + " observation rows, but a sequential " +
              o.method + " run is for one observation" +
              (o.method == "snle" ? " (or several i.i.d. rows of one θ with --iid)" : ""));
}

// What a resumed run must match: the method, the observation and the proposal's settings.
nlohmann::json run_identity(const RunRequest& r, const SequentialOptions& o, const Matrix& observation) {
  nlohmann::json j = {{"method", o.method},
                      {"observation", observation.storage()},
                      {"observation_rows", observation.rows()},
                      {"iid", r.sampling->options.iid_observations}};
  if (o.method == "tsnpe") j["truncation_quantile"] = o.truncation.quantile;
  if (o.method == "snpe") j["atoms"] = o.atoms;
  if (o.from_scratch) j["from_scratch"] = true;
  return j;
}

// Rank 0, resuming: a store of another sequential run is refused with what differs (the store's own
// resume check names any other difference: rounds, budget, seed...).
void check_same_run(const std::string& path, const nlohmann::json& identity, int64_t rounds, int64_t per_round) {
  if (!fs::exists(path)) return;
  const store::SimStoreMeta m = store::SimStore::open_read(path).meta();
  auto refuse = [&](const std::string& what) {
    throw Error(ErrorKind::invalid_argument,
                path + ": cannot resume: the store holds " + what + " (use --force to start over)");
  };
  if (!m.is_sequential()) refuse("one round of prior draws, not a sequential run");
  if (m.rounds != rounds || m.round_rows != per_round)
    refuse(std::to_string(m.rounds) + " rounds of " + std::to_string(m.round_rows) +
           " simulations, but this run asks for " + std::to_string(rounds) + " rounds of " + std::to_string(per_round));
  if (m.sequential == identity.dump()) return;
  const nlohmann::json was = nlohmann::json::parse(m.sequential, nullptr, false);
  if (was.is_discarded()) refuse("a sequential run with unreadable settings");
  if (was.value("method", "") != identity["method"])
    refuse("a sequential run by method " + was.value("method", "?") + ", but this run asks for " +
           identity["method"].get<std::string>());
  if (was["observation"] != identity["observation"] || was["iid"] != identity["iid"])
    refuse("a sequential run for another observation than this run's");
  refuse("a sequential run with other settings (" + m.sequential + "; this run: " + identity.dump() + ")");
}

// SNLE's MCMC after round 2 (later rounds' proposals and the final posterior): the chains start at the
// last `chains` θ of round `round`'s proposal, which are the last draws of each of that proposal's chains
// (the engine orders its draws draw by draw over the chains), instead of resampling init_candidates
// prior draws per chain. That posterior is close to the one sampled now, so warm-up starts near the
// typical set with the chains spread over the modes in proportion to their mass, and the 10⁶ potential
// evaluations of the resampling (most of a proposal's time on small tasks) are saved. Round 1's θ are
// prior draws, so round 2's proposal resamples.
void start_at_round_draws(const std::string& store_path, int64_t round, mcmc::McmcOptions& mcmc) {
  if (round < 2) return;
  int64_t dim = 0, first = 0, count = 0;
  dist::run_agreed([&] {
    if (!dist::is_root()) return;
    const store::SimStoreMeta m = store::SimStore::open_read(store_path).meta();
    dim = m.theta_dim;
    count = m.round_rows;
    first = m.round_end(round) - mcmc.chains;
  });
  dist::broadcast(dim);
  dist::broadcast(count);
  if (count < mcmc.chains) return;  // fewer draws than chains: resample
  std::vector<double> starts(static_cast<size_t>(mcmc.chains * dim));
  dist::run_agreed([&] {
    if (!dist::is_root()) return;
    const Matrix theta = store::SimStore::open_read(store_path).read_theta(first, mcmc.chains);
    std::copy_n(theta.data(), starts.size(), starts.begin());
  });
  dist::Comm(MPI_COMM_NULL).broadcast(starts);
  mcmc.init = mcmc::InitKind::given;
  mcmc.initial_states.assign(starts.begin(), starts.end());
}

// A round's proposal, drawn from the previous round's model and written into the store, unless the
// store records it already (a resumed run).
void propose(const RunRequest& r, const SequentialOptions& o, const torch::Tensor& x_o, int64_t round) {
  const std::string& out = r.simulation.out;
  std::string recorded;
  dist::run_agreed([&] {
    if (dist::is_root()) recorded = store::SimStore::open_read(out).round_proposal(round);
  });
  dist::broadcast(recorded);
  if (!recorded.empty()) {
    log::info("round " + std::to_string(round) + ": proposal already in " + out + ": " + recorded);
    return;
  }
  nn::set_torch_threads(r.sampling_threads);
  posterior::LoadedModel model;
  dist::run_agreed([&] { model = posterior::load_model(round_model_path(r.training.out, round - 1, o.rounds)); });
  const int64_t n = r.simulation.budget;
  // SNPE-C's proposal stays inside the prior's support, as sbi's posterior does: the atomic loss needs
  // log p(θ) of every atom finite.
  posterior::PosteriorOptions sampling = r.sampling->options;
  if (o.method == "snpe") sampling.reject_outside_prior = true;
  if (o.method == "snle") start_at_round_draws(out, round - 1, sampling.mcmc);
  const posterior::Proposal p = o.method == "tsnpe"
                                    ? posterior::truncated_prior_proposal(model, sampling, x_o, n, round, o.truncation)
                                    : posterior::posterior_proposal(model, sampling, x_o, n, round);
  dist::run_agreed([&] {
    if (!dist::is_root()) return;
    store::StoreLock lock = store::StoreLock::acquire(out, r.simulation.break_lock);
    store::SimStore s = store::SimStore::open_serial_for_write(out);
    s.write_proposal(round, p.theta.view(), p.description.dump());
    s.close();
    lock.release();
    log::info("round " + std::to_string(round) + ": proposal " + p.description.dump());
  });
}

}  // namespace

std::string round_model_path(const std::string& model, int64_t round, int64_t rounds) {
  if (round == rounds) return model;
  const fs::path p(model);
  return (p.parent_path() / (p.stem().string() + "_round" + std::to_string(round) + p.extension().string())).string();
}

RunResult run_sequential(const RunRequest& request, const SequentialOptions& options, sim::Task& task,
                         const RunObserver& observer) {
  RunResult result;
  Matrix observation;
  store::SimulationOptions simulation = request.simulation;
  const int64_t per_round = request.simulation.budget;
  dist::run_agreed([&] {
    require(request.sampling.has_value(), ErrorKind::invalid_argument,
            "a sequential run draws each round for one observation: pass --observation");
    observation = store::read_matrix(request.sampling->observation, "/x", nullptr);
    check_settings(request, options, observation);
    check_until(request, options.rounds);
    const nlohmann::json identity = run_identity(request, options, observation);
    simulation.budget = options.rounds * per_round;
    simulation.rounds = options.rounds;
    simulation.round_rows = per_round;
    simulation.sequential = identity.dump();
    // Chunks small enough for every rank to get work in each round, whatever the rank count.
    if (simulation.chunk_rows == 0)
      simulation.chunk_rows =
          std::min(store::automatic_chunk_rows(task.x_dim()), std::max<int64_t>(1, (per_round + 15) / 16));
    if (dist::is_root() && simulation.existing == store::ExistingOutput::resume)
      check_same_run(simulation.out, identity, options.rounds, per_round);
  });
  const bool iid = request.sampling->options.iid_observations;
  const torch::Tensor x_o =
      iid ? torch::from_blob(observation.data(), {observation.rows(), observation.cols()}, torch::kFloat).clone()
          : torch::from_blob(observation.row(0), {observation.cols()}, torch::kFloat).clone();
  for (int64_t round = 1; round <= options.rounds; ++round) {
    const std::string name = "round " + std::to_string(round) + ": ";
    if (round > 1 &&
        !run_stage(request, name + "propose", result, observer, [&] { propose(request, options, x_o, round); }))
      return result;
    simulation.round = round;
    if (round > 1) simulation.existing = store::ExistingOutput::resume;  // round 1 made or opened the store
    if (!simulate_stage(request, name + "simulate", simulation, task, result, observer)) return result;
    train::TrainRequest training = request.training;
    training.out = round_model_path(request.training.out, round, options.rounds);
    training.rows_end = round * per_round;
    // SNPE-C: from round 2 on, every row is trained with the atomic loss (the rows come from a mixture of
    // proposals).
    if (round > 1 && options.method == "snpe") training.options.atoms = options.atoms;
    if (round > 1 && !options.from_scratch)
      training.init_from = round_model_path(request.training.out, round - 1, options.rounds);
    if (!train_stage(request, name + "train", training, result, observer)) return result;
  }
  RunRequest final_request = request;
  if (options.method == "snle")
    start_at_round_draws(simulation.out, options.rounds, final_request.sampling->options.mcmc);
  sample_and_evaluate(final_request, result, observer);
  if (!result.stopped && !result.reached_until) record_stage_done(request, "done");
  return result;
}

}  // namespace simbi::pipeline
