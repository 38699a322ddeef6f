#include "simbi/mcmc/diagnostics.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "simbi/core/error.hpp"

namespace simbi::mcmc {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Φ⁻¹(p) for p in (0, 1): Acklam's rational approximation refined by one Halley step (|error| ~1e-15).
double inverse_normal_cdf(double p) {
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  constexpr double kLow = 0.02425;
  double x;
  if (p < kLow) {
    const double q = std::sqrt(-2.0 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  } else if (p > 1.0 - kLow) {
    const double q = std::sqrt(-2.0 * std::log1p(-p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
  } else {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
  }
  const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
  const double u = e * std::sqrt(2.0 * M_PI) * std::exp(0.5 * x * x);
  return x - u / (1.0 + 0.5 * x * u);
}

// The two halves of every chain as 2m chains of n/2 draws (the middle draw dropped when n is odd).
std::vector<double> split_chains(const double* draws, int64_t m, int64_t n, int64_t* half_out) {
  const int64_t half = n / 2;
  std::vector<double> out(static_cast<size_t>(2 * m * half));
  for (int64_t c = 0; c < m; ++c) {
    const double* x = draws + c * n;
    std::copy(x, x + half, out.begin() + (2 * c) * half);
    std::copy(x + (n - half), x + n, out.begin() + (2 * c + 1) * half);
  }
  *half_out = half;
  return out;
}

bool all_finite(const double* x, int64_t count) {
  for (int64_t i = 0; i < count; ++i)
    if (!std::isfinite(x[i])) return false;
  return true;
}

}  // namespace

double rhat(const double* draws, int64_t m, int64_t n) {
  if (m < 2 || n < 2 || !all_finite(draws, m * n)) return kNaN;
  std::vector<double> mean(static_cast<size_t>(m)), var(static_cast<size_t>(m));
  for (int64_t c = 0; c < m; ++c) {
    const double* x = draws + c * n;
    double s = 0.0;
    for (int64_t i = 0; i < n; ++i) s += x[i];
    const double mu = s / static_cast<double>(n);
    double ss = 0.0;
    for (int64_t i = 0; i < n; ++i) ss += (x[i] - mu) * (x[i] - mu);
    mean[c] = mu;
    var[c] = ss / static_cast<double>(n - 1);
  }
  const double w = std::accumulate(var.begin(), var.end(), 0.0) / static_cast<double>(m);
  const double grand = std::accumulate(mean.begin(), mean.end(), 0.0) / static_cast<double>(m);
  double b_over_n = 0.0;  // var(chain means), unbiased
  for (double mu : mean) b_over_n += (mu - grand) * (mu - grand);
  b_over_n /= static_cast<double>(m - 1);
  if (w <= 0.0) return b_over_n > 0.0 ? kInf : kNaN;
  const double nn = static_cast<double>(n);
  return std::sqrt(((nn - 1.0) / nn * w + b_over_n) / w);
}

double split_rhat(const double* draws, int64_t m, int64_t n) {
  int64_t half = 0;
  const std::vector<double> s = split_chains(draws, m, n, &half);
  return rhat(s.data(), 2 * m, half);
}

std::vector<double> rank_normalize(const double* draws, int64_t count) {
  std::vector<int64_t> idx(static_cast<size_t>(count));
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [draws](int64_t a, int64_t b) { return draws[a] < draws[b]; });
  std::vector<double> z(static_cast<size_t>(count));
  const double denom = static_cast<double>(count) + 0.25;
  for (int64_t i = 0; i < count;) {
    int64_t j = i + 1;
    while (j < count && draws[idx[j]] == draws[idx[i]]) ++j;
    const double avg_rank = 0.5 * static_cast<double>(i + 1 + j);  // mean of ranks i+1 .. j (1-based)
    const double v = inverse_normal_cdf((avg_rank - 0.375) / denom);
    for (int64_t k = i; k < j; ++k) z[static_cast<size_t>(idx[k])] = v;
    i = j;
  }
  return z;
}

double rank_normalized_split_rhat(const double* draws, int64_t m, int64_t n) {
  if (m < 1 || n < 4 || !all_finite(draws, m * n)) return kNaN;
  int64_t half = 0;
  const std::vector<double> s = split_chains(draws, m, n, &half);
  const int64_t count = 2 * m * half;
  const std::vector<double> z = rank_normalize(s.data(), count);
  const double bulk = rhat(z.data(), 2 * m, half);
  // Folded draws |x − median| (median over all split draws), for the tails.
  std::vector<double> sorted = s;
  std::sort(sorted.begin(), sorted.end());
  const double median = count % 2 ? sorted[count / 2] : 0.5 * (sorted[count / 2 - 1] + sorted[count / 2]);
  std::vector<double> folded(s.size());
  for (size_t i = 0; i < s.size(); ++i) folded[i] = std::fabs(s[i] - median);
  const std::vector<double> zf = rank_normalize(folded.data(), count);
  const double tail = rhat(zf.data(), 2 * m, half);
  if (std::isnan(bulk)) return tail;
  if (std::isnan(tail)) return bulk;
  return std::max(bulk, tail);
}

// Stan's multi-chain ESS (stan/analyze/mcmc/compute_effective_sample_size.hpp): biased autocovariances
// per chain (FFT), combined autocorrelation ρ̂_t = 1 − (W − mean_c acov_c(t)) / var⁺, Geyer's initial
// positive sequence turned monotone, τ̂ = −1 + 2 Σ_{t<T} ρ̂_t + ρ̂_T, ESS = m n / max(τ̂, 1/log10(m n)).
double ess(const double* draws, int64_t m, int64_t n) {
  if (m < 1 || n < 4 || !all_finite(draws, m * n)) return kNaN;
  const double nn = static_cast<double>(n);
  at::Tensor x = torch::from_blob(const_cast<double*>(draws), {m, n}, torch::kFloat64);
  const at::Tensor chain_mean_t = x.mean(1);
  const at::Tensor xc = x - chain_mean_t.unsqueeze(1);
  int64_t nfft = 1;
  while (nfft < 2 * n) nfft <<= 1;
  const at::Tensor spec = torch::fft::rfft(xc, nfft, 1);
  const at::Tensor acov_t = (torch::fft::irfft(spec.abs().pow(2), nfft, 1).narrow(1, 0, n) / nn).contiguous();
  const double* acov = acov_t.data_ptr<double>();  // [m, n], acov[c*n + t]
  const at::Tensor cm = chain_mean_t.contiguous();
  const double* chain_mean = cm.data_ptr<double>();
  double mean_var = 0.0;
  for (int64_t c = 0; c < m; ++c) mean_var += acov[c * n] * nn / (nn - 1.0);
  mean_var /= static_cast<double>(m);
  double var_plus = mean_var * (nn - 1.0) / nn;
  if (m > 1) {
    double g = 0.0;
    for (int64_t c = 0; c < m; ++c) g += chain_mean[c];
    g /= static_cast<double>(m);
    double v = 0.0;
    for (int64_t c = 0; c < m; ++c) v += (chain_mean[c] - g) * (chain_mean[c] - g);
    var_plus += v / static_cast<double>(m - 1);
  }
  if (!(var_plus > 0.0)) return kNaN;  // constant draws
  auto mean_acov = [&](int64_t t) {
    double s = 0.0;
    for (int64_t c = 0; c < m; ++c) s += acov[c * n + t];
    return s / static_cast<double>(m);
  };
  std::vector<double> rho(static_cast<size_t>(n), 0.0);
  double rho_even = 1.0;
  rho[0] = rho_even;
  double rho_odd = 1.0 - (mean_var - mean_acov(1)) / var_plus;
  rho[1] = rho_odd;
  int64_t s = 1;
  while (s < n - 4 && rho_even + rho_odd > 0.0) {
    rho_even = 1.0 - (mean_var - mean_acov(s + 1)) / var_plus;
    rho_odd = 1.0 - (mean_var - mean_acov(s + 2)) / var_plus;
    if (rho_even + rho_odd >= 0.0) {
      rho[s + 1] = rho_even;
      rho[s + 2] = rho_odd;
    }
    s += 2;
  }
  const int64_t max_s = s;
  if (rho_even > 0.0) rho[max_s + 1] = rho_even;
  for (int64_t t = 1; t <= max_s - 3; t += 2) {
    if (rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t]) {
      rho[t + 1] = 0.5 * (rho[t - 1] + rho[t]);
      rho[t + 2] = rho[t + 1];
    }
  }
  const double total = static_cast<double>(m) * nn;
  double tau = -1.0 + rho[max_s + 1];
  for (int64_t t = 0; t < max_s; ++t) tau += 2.0 * rho[t];
  return total / std::max(tau, 1.0 / std::log10(total));
}

double ess_split(const double* draws, int64_t m, int64_t n) {
  if (n < 8) return kNaN;
  int64_t half = 0;
  const std::vector<double> s = split_chains(draws, m, n, &half);
  return ess(s.data(), 2 * m, half);
}

double ess_bulk(const double* draws, int64_t m, int64_t n) {
  if (m < 1 || n < 8 || !all_finite(draws, m * n)) return kNaN;
  int64_t half = 0;
  const std::vector<double> s = split_chains(draws, m, n, &half);
  const std::vector<double> z = rank_normalize(s.data(), 2 * m * half);
  return ess(z.data(), 2 * m, half);
}

std::vector<double> chain_offsets(const double* draws, int64_t m, int64_t n) {
  std::vector<double> out(static_cast<size_t>(std::max<int64_t>(m, 0)), kNaN);
  if (m < 2 || n < 4 || !all_finite(draws, m * n)) return out;
  double total = 0, total_sq = 0;
  std::vector<double> means(static_cast<size_t>(m));
  for (int64_t c = 0; c < m; ++c) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double v = draws[c * n + i];
      s += v;
      total_sq += v * v;
    }
    means[static_cast<size_t>(c)] = s / static_cast<double>(n);
    total += s;
  }
  const double count = static_cast<double>(m * n), mean = total / count;
  const double sd = std::sqrt(std::max(0.0, total_sq / count - mean * mean));
  if (!(sd > 0)) return out;
  for (int64_t c = 0; c < m; ++c) {
    const double others =
        (total - means[static_cast<size_t>(c)] * static_cast<double>(n)) / (count - static_cast<double>(n));
    // A chain's own ESS (at least 1: a chain that did not move has one draw's worth of information).
    double e = ess(draws + c * n, 1, n);
    if (!(e >= 1)) e = 1;
    out[static_cast<size_t>(c)] = std::abs(means[static_cast<size_t>(c)] - others) / (sd / std::sqrt(e));
  }
  return out;
}

Diagnostics diagnose(const at::Tensor& chains) {
  require(chains.dim() == 3, ErrorKind::internal, "diagnose: chains must be [chains, draws, dims]");
  const int64_t m = chains.size(0), n = chains.size(1), d = chains.size(2);
  Diagnostics out;
  out.rhat.assign(static_cast<size_t>(d), kNaN);
  out.ess_bulk.assign(static_cast<size_t>(d), kNaN);
  out.max_rhat = kNaN;
  out.min_ess_bulk = kNaN;
  if (m < 2 || n < 8) return out;
  // [d, m, n]: each dimension's draws chain-major.
  const at::Tensor t = chains.to(torch::kFloat64).permute({2, 0, 1}).contiguous();
  const double* p = t.data_ptr<double>();
  out.computed = true;
  std::vector<char> off(static_cast<size_t>(m), 0);
  for (int64_t j = 0; j < d; ++j) {
    const double* x = p + j * m * n;
    out.rhat[j] = rank_normalized_split_rhat(x, m, n);
    out.ess_bulk[j] = ess_bulk(x, m, n);
    if (!std::isnan(out.rhat[j]) && (std::isnan(out.max_rhat) || out.rhat[j] > out.max_rhat)) {
      out.max_rhat = out.rhat[j];
      out.max_rhat_dim = j;
    }
    if (!std::isnan(out.ess_bulk[j]) && (std::isnan(out.min_ess_bulk) || out.ess_bulk[j] < out.min_ess_bulk))
      out.min_ess_bulk = out.ess_bulk[j];
    const std::vector<double> z = chain_offsets(x, m, n);
    for (int64_t c = 0; c < m; ++c) {
      const double zc = z[static_cast<size_t>(c)];
      if (std::isnan(zc)) continue;
      out.max_chain_offset = std::max(out.max_chain_offset, zc);
      if (zc > kOffChainZ) off[static_cast<size_t>(c)] = 1;
    }
  }
  for (int64_t c = 0; c < m; ++c)
    if (off[static_cast<size_t>(c)]) out.off_chains.push_back(c);
  return out;
}

}  // namespace simbi::mcmc
