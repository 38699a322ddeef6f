// Mode jumps: independence Metropolis–Hastings proposals from a Gaussian kernel density centred on every
// chain's state at the end of warm-up (docs/methods.md §4). Local moves (slice, RWM) rarely cross the
// low-density gap between separated modes, so chains initialised in one mode stay there and R̂ cannot
// settle; an independence proposal that covers all the modes the chains found lets each chain move
// between them with the right odds. The kernel's covariance is half the pooled within-chain covariance
// of the second half of warm-up — the local shape of a mode, whichever mode a chain is in — or, without
// such moments, Scott's rule on the centres. The proposal is fixed after warm-up, so the moves leave the
// target invariant (Tierney 1994); it has full support in u-space, so no state becomes unreachable.
#include <algorithm>
#include <cmath>
#include <limits>

#include "samplers.hpp"
#include "simbi/core/error.hpp"

namespace simbi::mcmc::detail {

namespace {
constexpr double kLog2Pi = 1.8378770664093454836;
}

ModeJumps::ModeJumps(const ChainSet& ch, const std::vector<double>& moments, const Comm& comm) : d_(ch.dim) {
  // Every rank gets every chain's state and moments, in chain order (ranks hold consecutive chains): the
  // same proposal everywhere, so a chain's path does not depend on the number of ranks.
  centers_ = comm.allgather(ch.u);
  n_ = static_cast<int64_t>(centers_.size()) / d_;
  require(n_ >= 2, ErrorKind::invalid_argument, "MCMC: mode jumps need at least 2 chains");
  const size_t d = static_cast<size_t>(d_);
  std::vector<double> cov(d * d, 0.0);
  // Pooled within-chain covariance W = Σ_c (S_c − s_c s_cᵀ / n_c) / Σ_c (n_c − 1), chain by chain.
  const std::vector<double> all = comm.allgather(moments);
  const size_t stride = moment_stride(d_);
  double dof = 0.0;
  for (size_t c = 0; c + stride <= all.size(); c += stride) {
    const double n = all[c];
    if (n < 2) continue;
    const double* sum = all.data() + c + 1;
    const double* sq = sum + d;
    for (size_t a = 0; a < d; ++a)
      for (size_t b = 0; b <= a; ++b) cov[a * d + b] += sq[a * d + b] - sum[a] * sum[b] / n;
    dof += n - 1;
  }
  double scale = 0.5 / std::max(dof, 1.0);
  if (dof < static_cast<double>(d_ + 1)) {
    // Too few warm-up moments: Scott's rule on the centres, kernel covariance h²·Cov, h = n^(−1/(d+4)).
    std::fill(cov.begin(), cov.end(), 0.0);
    std::vector<double> mean(d, 0.0);
    for (int64_t i = 0; i < n_; ++i)
      for (size_t a = 0; a < d; ++a) mean[a] += centers_[i * d_ + a] / static_cast<double>(n_);
    for (int64_t i = 0; i < n_; ++i)
      for (size_t a = 0; a < d; ++a)
        for (size_t b = 0; b <= a; ++b)
          cov[a * d + b] += (centers_[i * d_ + a] - mean[a]) * (centers_[i * d_ + b] - mean[b]);
    scale = std::pow(static_cast<double>(n_), -2.0 / (static_cast<double>(d_) + 4.0)) / static_cast<double>(n_ - 1);
  }
  // A small ridge keeps the kernel positive definite when the states are (nearly) collinear or equal.
  double trace = 0.0;
  for (size_t a = 0; a < d; ++a) trace += scale * cov[a * d + a];
  const double ridge = 1e-6 * (trace / static_cast<double>(d_)) + 1e-12;
  for (size_t a = 0; a < d; ++a)
    for (size_t b = 0; b <= a; ++b) cov[a * d + b] = scale * cov[a * d + b] + (a == b ? ridge : 0.0);
  // Cholesky factor L (lower), Σ = L·Lᵀ.
  chol_.assign(d * d, 0.0);
  log_det_half_ = 0.0;
  for (size_t a = 0; a < d; ++a) {
    for (size_t b = 0; b <= a; ++b) {
      double s = cov[a * d + b];
      for (size_t k = 0; k < b; ++k) s -= chol_[a * d + k] * chol_[b * d + k];
      if (a == b) {
        require(s > 0.0, ErrorKind::numeric, "MCMC: the mode-jump proposal's covariance is not positive definite");
        chol_[a * d + a] = std::sqrt(s);
        log_det_half_ += std::log(chol_[a * d + a]);
      } else {
        chol_[a * d + b] = s / chol_[b * d + b];
      }
    }
  }
  work_.resize(d);
  scores_.resize(static_cast<size_t>(n_));
}

double ModeJumps::log_q(const double* u) {
  const size_t d = static_cast<size_t>(d_);
  double best = -std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < n_; ++i) {
    // z = L⁻¹(u − c_i) by forward substitution; the kernel's log density is −½|z|² + const.
    double sq = 0.0;
    for (size_t a = 0; a < d; ++a) {
      double s = u[a] - centers_[i * d_ + a];
      for (size_t k = 0; k < a; ++k) s -= chol_[a * d + k] * work_[k];
      work_[a] = s / chol_[a * d + a];
      sq += work_[a] * work_[a];
    }
    scores_[i] = -0.5 * sq;
    best = std::max(best, scores_[i]);
  }
  double sum = 0.0;
  for (int64_t i = 0; i < n_; ++i) sum += std::exp(scores_[i] - best);
  return best + std::log(sum / static_cast<double>(n_)) - 0.5 * static_cast<double>(d_) * kLog2Pi - log_det_half_;
}

void ModeJumps::add_moments(const double* u, int64_t dim, double* moments) {
  moments[0] += 1.0;
  double* sum = moments + 1;
  double* sq = sum + dim;
  for (int64_t a = 0; a < dim; ++a) {
    sum[a] += u[a];
    for (int64_t b = 0; b <= a; ++b) sq[a * dim + b] += u[a] * u[b];
  }
}

void ModeJumps::move(ChainSet& ch, UnconstrainedTarget& target, int64_t proposals) {
  const int64_t n = ch.count, d = d_;
  if (n == 0) return;
  std::vector<double> prop(static_cast<size_t>(n * d)), vals(static_cast<size_t>(n));
  for (int64_t k = 0; k < proposals; ++k) {
    for (int64_t c = 0; c < n; ++c) {
      RandomStream& rng = ch.jump_rng[c];
      const int64_t i = static_cast<int64_t>(rng.below(static_cast<uint64_t>(n_)));
      double* u = prop.data() + c * d;
      for (int64_t a = 0; a < d; ++a) work_[a] = rng.normal();
      for (int64_t a = 0; a < d; ++a) {
        double s = centers_[i * d + a];
        for (int64_t b = 0; b <= a; ++b) s += chol_[a * d + b] * work_[b];
        u[a] = s;
      }
    }
    target.log_prob(prop.data(), n, vals.data());
    for (int64_t c = 0; c < n; ++c) {
      RandomStream& rng = ch.jump_rng[c];
      const double log_u = std::log(rng.uniform_open());
      ++proposed_;
      if (!std::isfinite(vals[c])) continue;
      double* cur = ch.u.data() + c * d;
      const double log_alpha = (vals[c] - log_q(prop.data() + c * d)) - (ch.logp[c] - log_q(cur));
      if (log_u < log_alpha) {
        std::copy_n(prop.data() + c * d, d, cur);
        ch.logp[c] = vals[c];
        ++accepted_;
      }
    }
  }
}

}  // namespace simbi::mcmc::detail
