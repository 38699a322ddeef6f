// Adaptive random-walk Metropolis in unconstrained space: proposal u' = u + L z, z ~ N(0, I), with
// L Lᵀ = λ²·(2.38²/d)·Σ̂ (Roberts, Gelman & Gilks 1997; Haario, Saksman & Tamminen 2001). Σ̂ starts as
// the covariance of the chains' initial states (pooled over all chains), and is re-estimated during
// warm-up at the end of windows of 25, 50, 100, ... proposals from the states all chains visited in
// that window; λ follows the pooled acceptance rate towards 0.234. Adaptation stops after warm-up, so
// the kept draws come from a fixed, valid Metropolis kernel. The pooled statistics are gathered per
// chain and combined in global chain order, so every rank computes the same proposal for any number
// of ranks (each chain stays bit-identical across rank counts).
#include <torch/torch.h>

#include <cmath>

#include "samplers.hpp"

namespace simbi::mcmc::detail {

namespace {

// Lower Cholesky factor of a d×d SPD matrix (row-major); false when not positive definite.
bool cholesky(const std::vector<double>& a, int64_t d, std::vector<double>& l) {
  l.assign(static_cast<size_t>(d * d), 0.0);
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      double s = a[i * d + j];
      for (int64_t k = 0; k < j; ++k) s -= l[i * d + k] * l[j * d + k];
      if (i == j) {
        if (!(s > 0.0) || !std::isfinite(s)) return false;
        l[i * d + i] = std::sqrt(s);
      } else {
        l[i * d + j] = s / l[j * d + j];
      }
    }
  return true;
}

// Running per-chain moments (Welford) of the states visited in the current window.
struct Moments {
  double n = 0.0;
  std::vector<double> mean, m2;  // d, d×d
  void reset(int64_t d) {
    n = 0.0;
    mean.assign(static_cast<size_t>(d), 0.0);
    m2.assign(static_cast<size_t>(d * d), 0.0);
  }
  void add(const double* x, int64_t d, std::vector<double>& delta) {
    n += 1.0;
    for (int64_t i = 0; i < d; ++i) {
      delta[i] = x[i] - mean[i];
      mean[i] += delta[i] / n;
    }
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = 0; j < d; ++j) m2[i * d + j] += delta[i] * (x[j] - mean[j]);
  }
  // Chan et al.'s pairwise combination: this ← this ∪ other.
  void merge(double n_b, const double* mean_b, const double* m2_b, int64_t d) {
    if (n_b <= 0.0) return;
    if (n <= 0.0) {
      n = n_b;
      std::copy(mean_b, mean_b + d, mean.begin());
      std::copy(m2_b, m2_b + d * d, m2.begin());
      return;
    }
    const double total = n + n_b;
    std::vector<double> delta(static_cast<size_t>(d));
    for (int64_t i = 0; i < d; ++i) delta[i] = mean_b[i] - mean[i];
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = 0; j < d; ++j) m2[i * d + j] += m2_b[i * d + j] + delta[i] * delta[j] * n * n_b / total;
    for (int64_t i = 0; i < d; ++i) mean[i] += delta[i] * n_b / total;
    n = total;
  }
};

class RwmSampler final : public ChainSampler {
 public:
  RwmSampler(ChainSet& chains, UnconstrainedTarget& target, const McmcOptions& o, const Comm& comm)
      : ChainSampler(chains.count), ch_(chains), target_(target), o_(o), d_(chains.dim) {
    // Adaptation windows [0, e1), [e1, e2), ... of 25, 50, 100, ... proposals; the last one runs to the
    // end of warm-up (it absorbs a remainder shorter than the next doubling).
    int64_t start = 0, size = std::max<int64_t>(1, o_.rwm_first_window);
    while (start + size < o_.warmup && start + 3 * size <= o_.warmup) {
      ends_.push_back(start + size);
      start += size;
      size *= 2;
    }
    if (o_.warmup > 0) ends_.push_back(o_.warmup);
    window_.resize(static_cast<size_t>(ch_.count));
    for (auto& w : window_) w.reset(d_);
    win_accepted_.assign(static_cast<size_t>(ch_.count), 0.0);
    delta_.resize(static_cast<size_t>(d_));
    z_.resize(static_cast<size_t>(d_));
    // Initial Σ̂: the pooled covariance of all chains' initial states (each chain a one-state window).
    std::vector<double> mine;
    mine.reserve(static_cast<size_t>(ch_.count * (3 + d_ + d_ * d_)));
    for (int64_t c = 0; c < ch_.count; ++c) {
      mine.push_back(1.0);
      mine.push_back(0.0);
      mine.insert(mine.end(), ch_.u.begin() + c * d_, ch_.u.begin() + (c + 1) * d_);
      mine.insert(mine.end(), static_cast<size_t>(d_ * d_), 0.0);
    }
    adapt_from(comm.allgather(mine), /*update_scale=*/false);
  }

  std::vector<int64_t> sync_points() const override { return ends_; }

  void iterate(int64_t t) override {
    const int64_t n = ch_.count, d = d_;
    if (n == 0) return;
    rows_.resize(static_cast<size_t>(n * d));
    for (int64_t c = 0; c < n; ++c) {
      RandomStream& rng = ch_.rng[c];
      for (int64_t i = 0; i < d; ++i) z_[i] = rng.normal();
      double* row = rows_.data() + c * d;
      const double* u = ch_.u.data() + c * d;
      for (int64_t i = 0; i < d; ++i) {
        double s = u[i];
        for (int64_t k = 0; k <= i; ++k) s += chol_[i * d + k] * z_[k];
        row[i] = s;
      }
    }
    vals_.resize(static_cast<size_t>(n));
    target_.log_prob(rows_.data(), n, vals_.data());
    const bool warm = t < o_.warmup;
    for (int64_t c = 0; c < n; ++c) {
      const double log_alpha = vals_[c] - ch_.logp[c];  // -inf for a proposal outside the support / NaN
      const bool accept = std::log(ch_.rng[c].uniform_open()) < log_alpha;
      if (accept) {
        std::copy_n(rows_.data() + c * d, d, ch_.u.data() + c * d);
        ch_.logp[c] = vals_[c];
      }
      if (warm) {
        window_[c].add(ch_.u.data() + c * d, d, delta_);
        win_accepted_[c] += accept ? 1.0 : 0.0;
      } else {
        ++stats_.updates;
        stats_.accepted += accept ? 1 : 0;
      }
    }
  }

  // Collective: pooled window statistics of all chains, combined in global chain order.
  void synchronise(const Comm& comm, int64_t t) override {
    (void)t;
    std::vector<double> mine;
    mine.reserve(static_cast<size_t>(ch_.count * (3 + d_ + d_ * d_)));
    for (int64_t c = 0; c < ch_.count; ++c) {
      mine.push_back(window_[c].n);
      mine.push_back(win_accepted_[c]);
      mine.insert(mine.end(), window_[c].mean.begin(), window_[c].mean.end());
      mine.insert(mine.end(), window_[c].m2.begin(), window_[c].m2.end());
      window_[c].reset(d_);
      win_accepted_[c] = 0.0;
    }
    adapt_from(comm.allgather(mine), /*update_scale=*/true);
  }

  SamplerStats stats() const override { return stats_; }

 private:
  void adapt_from(const std::vector<double>& all, bool update_scale) {
    const int64_t d = d_;
    const size_t stride = static_cast<size_t>(2 + d + d * d);
    Moments pooled;
    pooled.reset(d);
    double accepted = 0.0;
    for (size_t off = 0; off + stride <= all.size(); off += stride) {
      accepted += all[off + 1];
      pooled.merge(all[off], all.data() + off + 2, all.data() + off + 2 + d, d);
    }
    if (update_scale && pooled.n > 0.0) {
      const double rate = accepted / pooled.n;
      log_scale_ = std::min(3.0, std::max(-10.0, log_scale_ + 2.0 * (rate - o_.rwm_target_accept)));
    }
    // Σ̂ with a small ridge; only its diagonal when the pooled states are too few for a full estimate.
    std::vector<double> cov(static_cast<size_t>(d * d), 0.0);
    const bool full = pooled.n >= static_cast<double>(2 * d + 1);
    double mean_diag = 0.0;
    for (int64_t i = 0; i < d; ++i) {
      for (int64_t j = 0; j < d; ++j)
        if (full || i == j) cov[i * d + j] = pooled.n > 1.0 ? pooled.m2[i * d + j] / (pooled.n - 1.0) : 0.0;
      mean_diag += cov[i * d + i] / static_cast<double>(d);
    }
    if (!(mean_diag > 1e-20) || !std::isfinite(mean_diag)) {
      // No spread yet (e.g. every chain started at the same point): a small isotropic proposal that the
      // scale adaptation grows.
      std::fill(cov.begin(), cov.end(), 0.0);
      mean_diag = o_.slice_width * o_.slice_width;
      for (int64_t i = 0; i < d; ++i) cov[i * d + i] = mean_diag;
    }
    for (int64_t i = 0; i < d; ++i)
      if (!(cov[i * d + i] > 1e-12 * mean_diag)) cov[i * d + i] = 1e-12 * mean_diag;
    const double s2 = std::exp(2.0 * log_scale_) * 2.38 * 2.38 / static_cast<double>(d);
    double ridge = 1e-10 * mean_diag;
    std::vector<double> a(cov.size());
    for (int attempt = 0; attempt < 12; ++attempt, ridge *= 10.0) {
      for (size_t k = 0; k < a.size(); ++k) a[k] = s2 * cov[k];
      for (int64_t i = 0; i < d; ++i) a[i * d + i] += s2 * ridge;
      if (cholesky(a, d, chol_)) return;
    }
    // Not positive definite even with a large ridge: its diagonal alone.
    for (size_t k = 0; k < a.size(); ++k) a[k] = 0.0;
    for (int64_t i = 0; i < d; ++i) a[i * d + i] = s2 * cov[i * d + i];
    cholesky(a, d, chol_);
  }

  ChainSet& ch_;
  UnconstrainedTarget& target_;
  const McmcOptions& o_;
  int64_t d_;
  std::vector<int64_t> ends_;
  std::vector<Moments> window_;
  std::vector<double> win_accepted_;
  double log_scale_ = 0.0;  // log λ
  std::vector<double> chol_;
  std::vector<double> rows_, vals_, delta_, z_;
  SamplerStats stats_;
};

}  // namespace

std::unique_ptr<ChainSampler> make_rwm_sampler(ChainSet& chains, UnconstrainedTarget& target, const McmcOptions& o,
                                               const Comm& comm) {
  return std::make_unique<RwmSampler>(chains, target, o, comm);
}

}  // namespace simbi::mcmc::detail
