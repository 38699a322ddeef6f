// Direct posterior draws (CP-VAE, UP-VAE): the amortised sampler at x_o, split over the ranks.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "posteriors.hpp"
#include "simbi/core/error.hpp"
#include "simbi/core/log.hpp"
#include "simbi/core/random.hpp"
#include "simbi/dist/comm.hpp"

namespace simbi::posterior::detail {

namespace {

struct Draws {
  torch::Tensor theta;   // [n, dθ] this rank's accepted draws
  int64_t proposed = 0;  // draws made (>= n with rejection)
  int64_t inside = 0;    // draws inside the prior's support (>= n; the surplus is discarded)
};

// n draws; with a support, draws outside it are rejected until n are inside.
Draws draw(estimators::PosteriorSampler& sampler, const torch::Tensor& x_o, int64_t n, at::Generator& gen,
           const sim::Prior* support) {
  Draws d;
  if (!support) {
    d.theta = sampler.sample_posterior(x_o, n, gen);
    d.proposed = d.inside = n;
    return d;
  }
  std::vector<torch::Tensor> kept;
  int64_t accepted = 0;
  while (accepted < n) {
    const int64_t batch = std::max<int64_t>(1024, 2 * (n - accepted));
    torch::Tensor t = sampler.sample_posterior(x_o, batch, gen).contiguous();
    d.proposed += batch;
    std::vector<int64_t> inside;
    const float* p = t.data_ptr<float>();
    for (int64_t i = 0; i < batch; ++i)
      if (support->in_support(p + i * t.size(1))) inside.push_back(i);
    if (!inside.empty()) {
      kept.push_back(t.index_select(0, torch::tensor(inside, torch::kLong)));
      accepted += static_cast<int64_t>(inside.size());
      d.inside += static_cast<int64_t>(inside.size());
    }
    require(d.proposed < 1000 * std::max<int64_t>(n, 100) || accepted > 0, ErrorKind::numeric,
            "rejection to the prior's support: no sample inside the support after " + std::to_string(d.proposed) +
                " draws (is the observation far outside what the model was trained on?)");
  }
  d.theta = torch::cat(kept).slice(0, 0, n);
  return d;
}

class DirectPosterior final : public Posterior {
 public:
  DirectPosterior(std::shared_ptr<estimators::Estimator> model, estimators::PosteriorSampler& sampler,
                  int64_t theta_dim, std::unique_ptr<sim::Prior> support, const PosteriorOptions& o)
      : model_(std::move(model)), sampler_(sampler), theta_dim_(theta_dim), support_(std::move(support)), o_(o) {}

  std::vector<DrawSet> sample(const torch::Tensor& x_o, uint64_t stream_index) override {
    const auto t0 = std::chrono::steady_clock::now();
    const dist::Comm comm(o_.comm);
    const int64_t n = o_.num_samples, d = theta_dim_;
    const int64_t lo = n * comm.rank() / comm.size(), hi = n * (comm.rank() + 1) / comm.size();
    // One generator per (seed, stream, rank): reproducible for a given rank count.
    at::Generator gen = at::detail::createCPUGenerator(
        RandomStream(o_.seed, StreamPurpose::sampling, stream_index).substream(comm.rank()).next_u64());
    Draws mine;
    comm.run_agreed([&] { mine = draw(sampler_, x_o, hi - lo, gen, support_.get()); });
    const torch::Tensor flat = mine.theta.contiguous();
    const std::vector<float> all =
        comm.gather_to_root(std::vector<float>(flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel()));
    const double proposed = static_cast<double>(comm.sum(mine.proposed));
    const double inside = static_cast<double>(comm.sum(mine.inside));
    DrawSet set;
    set.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (comm.rank() != 0) return {set};
    set.samples =
        torch::from_blob(const_cast<float*>(all.data()), {static_cast<int64_t>(all.size()) / d, d}, torch::kFloat)
            .clone();
    char line[256];
    std::snprintf(line, sizeof line, " in %.3f s (%s samples/s on %d rank(s))", set.seconds,
                  log::human_count(static_cast<double>(n) / std::max(set.seconds, 1e-9)).c_str(), comm.size());
    set.summary = line;
    if (support_) {
      std::snprintf(line, sizeof line, "; %.1f%% of draws inside the prior's support", 100.0 * inside / proposed);
      set.summary += line;
    }
    return {set};
  }

  bool has_log_prob() const override { return dynamic_cast<estimators::PosteriorDensity*>(model_.get()) != nullptr; }
  torch::Tensor log_prob(const torch::Tensor& theta, const torch::Tensor& x_o) override {
    auto* density = dynamic_cast<estimators::PosteriorDensity*>(model_.get());
    if (!density) return Posterior::log_prob(theta, x_o);
    torch::NoGradGuard no_grad;
    return density->log_prob(theta, x_o);
  }

 private:
  std::shared_ptr<estimators::Estimator> model_;
  estimators::PosteriorSampler& sampler_;
  int64_t theta_dim_;
  std::unique_ptr<sim::Prior> support_;
  PosteriorOptions o_;
};

}  // namespace

std::unique_ptr<Posterior> make_direct_posterior(std::shared_ptr<estimators::Estimator> model,
                                                 estimators::PosteriorSampler& sampler, int64_t theta_dim,
                                                 std::unique_ptr<sim::Prior> support, const PosteriorOptions& o) {
  return std::make_unique<DirectPosterior>(std::move(model), sampler, theta_dim, std::move(support), o);
}

}  // namespace simbi::posterior::detail
