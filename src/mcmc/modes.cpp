#include "simbi/mcmc/modes.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <numeric>

#include "simbi/core/error.hpp"
#include "simbi/core/random.hpp"

namespace simbi::mcmc {

namespace {

constexpr int kRestarts = 4;
constexpr int kMaxIterations = 100;

struct Clustering {
  torch::Tensor labels;   // [N] int64
  torch::Tensor centers;  // [k, d]
  double inertia = std::numeric_limits<double>::infinity();
};

// k-means++ seeding (each next centre drawn with probability ∝ squared distance to the nearest chosen
// one), then Lloyd's iterations until the labels stop changing. An emptied mode keeps its centre.
Clustering kmeans(const torch::Tensor& z, int64_t k, RandomStream rng) {
  const int64_t n = z.size(0);
  std::vector<int64_t> chosen{static_cast<int64_t>(rng.uniform() * static_cast<double>(n)) % n};
  torch::Tensor nearest = (z - z[chosen[0]]).pow(2).sum(1);
  while (static_cast<int64_t>(chosen.size()) < k) {
    const torch::Tensor cum = nearest.cumsum(0);
    const double total = cum[n - 1].item<double>();
    int64_t next = static_cast<int64_t>(rng.uniform() * static_cast<double>(n)) % n;  // all draws equal
    if (total > 0.0) {
      const torch::Tensor target = torch::full({1}, rng.uniform() * total, cum.options());
      next = std::min<int64_t>(torch::searchsorted(cum, target).item<int64_t>(), n - 1);
    }
    chosen.push_back(next);
    nearest = torch::minimum(nearest, (z - z[next]).pow(2).sum(1));
  }
  Clustering c;
  c.centers = z.index_select(0, torch::tensor(chosen, torch::kLong)).clone();
  for (int it = 0; it < kMaxIterations; ++it) {
    const torch::Tensor labels = torch::cdist(z, c.centers).argmin(1);
    if (c.labels.defined() && torch::equal(labels, c.labels)) break;
    c.labels = labels;
    for (int64_t j = 0; j < k; ++j) {
      const torch::Tensor in = labels == j;
      if (in.any().item<bool>()) c.centers[j] = z.index({in}).mean(0);
    }
  }
  c.inertia = (z - c.centers.index_select(0, c.labels)).pow(2).sum().item<double>();
  return c;
}

}  // namespace

ModeOccupancy mode_occupancy(const at::Tensor& chains, int64_t k, uint64_t seed) {
  require(chains.defined() && chains.dim() == 3 && chains.size(0) >= 1 && chains.size(1) >= 1,
          ErrorKind::invalid_argument, "mode occupancy: chains must be [chains, draws, dimensions]");
  const int64_t m = chains.size(0), per = chains.size(1), d = chains.size(2), n = m * per;
  require(k >= 1 && k <= n, ErrorKind::invalid_argument,
          "mode occupancy: the number of modes must be in [1, " + std::to_string(n) + "], got " + std::to_string(k));
  const torch::Tensor x = chains.to(torch::kFloat64).reshape({n, d});
  const torch::Tensor mean = x.mean(0), sd = x.std(0).clamp_min(1e-300);
  const torch::Tensor z = (x - mean) / sd;
  Clustering best;
  const RandomStream base(seed, StreamPurpose::sampling, 0x4D4F444553);  // "MODES"
  for (int r = 0; r < kRestarts; ++r) {
    Clustering c = kmeans(z, k, base.substream(static_cast<uint64_t>(r)));
    if (c.inertia < best.inertia) best = std::move(c);
  }
  // Modes ordered by their pooled share, largest first.
  const torch::Tensor counts = torch::bincount(best.labels, {}, k).to(torch::kFloat64);
  const torch::Tensor order = counts.argsort(0, /*descending=*/true);
  const torch::Tensor rank_of = torch::empty_like(order).scatter_(0, order, torch::arange(k, order.options()));
  const torch::Tensor labels = rank_of.index_select(0, best.labels).reshape({m, per});
  ModeOccupancy o;
  o.modes = k;
  const torch::Tensor pooled = counts.index_select(0, order) / static_cast<double>(n);
  o.shares.assign(pooled.data_ptr<double>(), pooled.data_ptr<double>() + k);
  o.centers = best.centers.index_select(0, order) * sd + mean;
  o.chain_shares = torch::zeros({m, k}, torch::kFloat64);
  for (int64_t c = 0; c < m; ++c)
    o.chain_shares[c] = torch::bincount(labels[c], {}, k).to(torch::kFloat64) / static_cast<double>(per);
  o.chains_visiting_all = (o.chain_shares > 0).all(1).sum().item<int64_t>();
  o.max_share_gap = (o.chain_shares - pooled.unsqueeze(0)).abs().max().item<double>();
  return o;
}

std::string ModeOccupancy::summary() const {
  if (modes == 0) return "";
  std::string s = std::to_string(modes) + (modes == 1 ? " mode" : " modes") + " (k-means): shares";
  char buf[32];
  for (double v : shares) {
    std::snprintf(buf, sizeof buf, " %.2f", v);
    s += buf;
  }
  const int64_t m = chain_shares.defined() ? chain_shares.size(0) : 0;
  std::snprintf(buf, sizeof buf, "%.2f", max_share_gap);
  return s + ", every mode visited by " + std::to_string(chains_visiting_all) + " of " + std::to_string(m) +
         " chains, chains' shares within " + buf + " of the pool's";
}

}  // namespace simbi::mcmc
