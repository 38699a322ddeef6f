#include "simbi/posterior/proposal.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>

#include "simbi/core/error.hpp"
#include "simbi/core/random.hpp"
#include "simbi/core/text.hpp"
#include "simbi/dist/comm.hpp"
#include "simbi/sim/prior.hpp"

namespace simbi::posterior {

namespace {

// The stream index of a round's posterior draws: clear of the observation indices `simbi sample` uses.
constexpr uint64_t kRoundStreams = uint64_t{1} << 40;

// The model a proposal came from, as the store records it: its file name (it lies beside the store in a
// run's workdir), so that the same run in another folder writes the same store.
std::string model_name(const LoadedModel& model) { return std::filesystem::path(model.path).filename().string(); }

Matrix to_matrix(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kFloat).contiguous();
  Matrix m(c.size(0), c.size(1));
  std::copy(c.data_ptr<float>(), c.data_ptr<float>() + c.numel(), m.data());
  return m;
}

// The threshold of q's highest-probability region: the `quantile` of log q(θ | x_o) over the finite
// values for q's own draws (draws outside the prior's support have none and do not count). Rank 0.
double density_threshold(Posterior& posterior, const torch::Tensor& draws, const torch::Tensor& x_o, double quantile,
                         const std::string& model) {
  const torch::Tensor lp = posterior.log_prob(draws, x_o).to(torch::kDouble).contiguous();
  std::vector<double> v;
  for (int64_t i = 0; i < lp.numel(); ++i)
    if (std::isfinite(lp.data_ptr<double>()[i])) v.push_back(lp.data_ptr<double>()[i]);
  require(!v.empty(), ErrorKind::numeric,
          model + ": no draw of the posterior has a finite density, so its highest-probability region is undefined");
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(std::floor(quantile * static_cast<double>(v.size()))));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace

Proposal truncated_prior_proposal(const LoadedModel& model, const PosteriorOptions& options, const torch::Tensor& x_o,
                                  int64_t n, int64_t round, const TruncationOptions& t) {
  const dist::Comm comm(options.comm);
  std::unique_ptr<Posterior> posterior;
  std::unique_ptr<sim::Prior> prior;
  comm.run_agreed([&] {
    require(t.quantile > 0 && t.quantile < 1, ErrorKind::invalid_argument,
            "--truncation-quantile must be in (0, 1), got " + format_number(t.quantile, "%g"));
    require(t.threshold_samples >= 1 && t.block >= 1 && n >= 1, ErrorKind::internal,
            "truncated_prior_proposal: counts must be positive");
    PosteriorOptions o = options;
    o.num_samples = t.threshold_samples;
    posterior = make_posterior(model, o);
    require(posterior->has_log_prob(), ErrorKind::invalid_argument,
            "tsnpe truncates the prior by the posterior's density, but " + model.path + " is a " + model.meta.method +
                " model, which has none (use npe, fmpe or npse)");
    prior = model.meta.make_prior(model.path);
    require(prior != nullptr, ErrorKind::invalid_argument,
            model.path + ": the model records no prior, so the prior cannot be truncated");
  });
  const std::vector<DrawSet> sets = posterior->sample(x_o, kRoundStreams + static_cast<uint64_t>(round));
  std::vector<double> threshold(1, 0.0);
  comm.run_agreed([&] {
    if (comm.rank() == 0) threshold[0] = density_threshold(*posterior, sets[0].samples, x_o, t.quantile, model.path);
  });
  comm.broadcast(threshold);

  // Block b holds candidates b·block .. (b+1)·block − 1 of the round's prior stream; wave w gives block
  // w·P + rank to each rank, and rank 0 keeps the accepted candidates in block order.
  const int64_t d = prior->dim();
  const RandomStream base(options.seed, StreamPurpose::proposal, static_cast<uint64_t>(round));
  Proposal p;
  std::vector<float> kept;
  int64_t tried = 0, accepted = 0;
  Matrix candidates(t.block, d);
  for (int64_t wave = 0;; ++wave) {
    const int64_t b = wave * comm.size() + comm.rank();
    std::vector<float> mine;
    comm.run_agreed([&] {
      prior->sample(candidates.view(), RowStreams{base, b * t.block});
      const torch::Tensor theta = torch::from_blob(candidates.data(), {t.block, d}, torch::kFloat);
      const torch::Tensor lp = posterior->log_prob(theta, x_o).to(torch::kDouble).contiguous();
      for (int64_t i = 0; i < t.block; ++i)
        if (lp.data_ptr<double>()[i] >= threshold[0]) mine.insert(mine.end(), candidates.row(i), candidates.row(i) + d);
    });
    const std::vector<float> all = comm.gather_to_root(mine);
    tried += t.block * comm.size();
    std::vector<double> done(1, 0.0);
    if (comm.rank() == 0) {
      accepted += static_cast<int64_t>(all.size()) / d;
      const size_t want = static_cast<size_t>(n * d) - kept.size();
      kept.insert(kept.end(), all.begin(), all.begin() + static_cast<std::ptrdiff_t>(std::min(want, all.size())));
      if (static_cast<int64_t>(kept.size()) == n * d)
        done[0] = 1;
      else if (tried >= t.max_candidates)
        done[0] = -1;
      if (done[0] != 0) {
        p.description = {
            {"kind", "truncated_prior"}, {"model", model_name(model)},
            {"seed", options.seed},      {"quantile", t.quantile},
            {"threshold", threshold[0]}, {"threshold_samples", t.threshold_samples},
            {"candidates", tried},       {"acceptance", static_cast<double>(accepted) / static_cast<double>(tried)}};
      }
    }
    comm.broadcast(done);
    comm.run_agreed([&] {
      require(done[0] >= 0, ErrorKind::numeric,
              "round " + std::to_string(round) + ": the truncated prior kept fewer than " + std::to_string(n) + " of " +
                  std::to_string(tried) + " prior draws (the posterior of " + model.path +
                  " is too narrow for rejection from the prior)");
    });
    if (done[0] > 0) break;
  }
  if (comm.rank() == 0) {
    p.theta = Matrix(n, d);
    std::copy(kept.begin(), kept.end(), p.theta.data());
  }
  return p;
}

Proposal posterior_proposal(const LoadedModel& model, const PosteriorOptions& options, const torch::Tensor& x_o,
                            int64_t n, int64_t round) {
  const dist::Comm comm(options.comm);
  std::unique_ptr<Posterior> posterior;
  comm.run_agreed([&] {
    PosteriorOptions o = options;
    o.num_samples = n;
    posterior = make_posterior(model, o);
  });
  std::vector<DrawSet> sets = posterior->sample(x_o, kRoundStreams + static_cast<uint64_t>(round));
  Proposal p;
  if (comm.rank() != 0) return p;
  p.theta = to_matrix(sets[0].samples);
  p.description = {{"kind", "posterior"}, {"model", model_name(model)}, {"seed", options.seed}};
  if (options.mcmc.init == mcmc::InitKind::given) p.description["chains_start"] = "the previous proposal's draws";
  if (sets[0].max_rhat > 0) {
    p.description["max_rhat"] = sets[0].max_rhat;
    p.description["min_ess_bulk"] = sets[0].min_ess_bulk;
    p.description["off_chains"] = sets[0].off_chains;
  }
  return p;
}

}  // namespace simbi::posterior
