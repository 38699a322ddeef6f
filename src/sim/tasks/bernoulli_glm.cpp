// bernoulli_glm (sbibm): θ ~ N(0, B⁻¹) smoothness prior, spikes y_t ~ Bernoulli(sigmoid(Xθ)_t) for 100
// bins, x = Xᵀy (10-D sufficient statistic). Also implements the GLM shared with bernoulli_glm_raw
// (bernoulli_glm_common.hpp). Contract: immutable data; the simulator is stateless.
#include <cmath>

#include "bernoulli_glm_common.hpp"
#include "builtin_tasks.hpp"
#include "simbi/core/error.hpp"

namespace simbi::sim::tasks {

namespace {

// numpy.random.RandomState(42).randn(100).astype(float32), printed with max_digits10 (9) significant
// digits so that every literal rounds back to the same float32 (sbibm's stimulus_I).
constexpr std::array<float, kGlmTimeBins> kStimulus = {
    0.496714145f,   -0.138264298f, 0.647688568f,   1.5230298f,     -0.234153375f, -0.234136954f, 1.57921278f,
    0.767434716f,   -0.469474375f, 0.542560041f,   -0.463417679f,  -0.465729743f, 0.241962269f,  -1.91328025f,
    -1.72491789f,   -0.562287509f, -1.01283109f,   0.31424734f,    -0.908024073f, -1.41230369f,  1.46564877f,
    -0.2257763f,    0.0675282031f, -1.42474818f,   -0.544382751f,  0.11092259f,   -1.15099359f,  0.37569803f,
    -0.600638688f,  -0.291693747f, -0.601706624f,  1.85227823f,    -0.013497225f, -1.05771089f,  0.822544932f,
    -1.22084367f,   0.208863601f,  -1.95967007f,   -1.32818604f,   0.196861237f,  0.738466561f,  0.171368286f,
    -0.115648285f,  -0.301103681f, -1.47852194f,   -0.719844222f,  -0.460638762f, 1.05712223f,   0.343618304f,
    -1.76304018f,   0.324083984f,  -0.385082275f,  -0.676922023f,  0.611676276f,  1.03099954f,   0.931280136f,
    -0.839217544f,  -0.309212387f, 0.331263423f,   0.975545108f,   -0.479174227f, -0.185658976f, -1.10633492f,
    -1.19620657f,   0.812525809f,  1.35624003f,    -0.0720101222f, 1.00353289f,   0.361636013f,  -0.645119727f,
    0.361395597f,   1.53803658f,   -0.0358260386f, 1.56464362f,    -2.61974502f,  0.821902514f,  0.0870470703f,
    -0.299007356f,  0.0917607769f, -1.98756886f,   -0.21967189f,   0.357112557f,  1.47789407f,   -0.518270195f,
    -0.808493614f,  -0.501757026f, 0.915402114f,   0.328751117f,   -0.529760182f, 0.513267457f,  0.0970775485f,
    0.968644977f,   -0.70205307f,  -0.32766214f,   -0.392108142f,  -1.46351492f,  0.296120286f,  0.261055261f,
    0.00511345686f, -0.234587133f,
};

GlmDesignMatrix build_design_matrix() {
  GlmDesignMatrix x{};
  for (int t = 0; t < kGlmTimeBins; ++t) {
    x[t * kGlmDim] = 1.0f;
    for (int j = 0; j + 1 < kGlmDim; ++j) x[t * kGlmDim + j + 1] = t >= j ? kStimulus[t - j] : 0.0f;
  }
  return x;
}

class BernoulliGlmSimulator final : public RowwiseSimulator {
 public:
  explicit BernoulliGlmSimulator(bool raw) : raw_(raw) {
    const auto& x = glm_design_matrix();
    for (int t = 0; t < kGlmTimeBins; ++t)
      for (int k = 0; k < kGlmDim; ++k) columns_[k][t] = x[t * kGlmDim + k];
  }
  int64_t theta_dim() const override { return kGlmDim; }
  int64_t x_dim() const override { return raw_ ? kGlmTimeBins : kGlmDim; }

 protected:
  bool simulate_row(const float* theta, float* x, RandomStream& rng) const override {
    double th[kGlmDim];
    for (int k = 0; k < kGlmDim; ++k) {
      th[k] = theta[k];
      if (!std::isfinite(th[k])) return false;
    }
    // ψ = Xθ, column by column (vectorises over t).
    double psi[kGlmTimeBins];
    for (int t = 0; t < kGlmTimeBins; ++t) psi[t] = th[0];
    for (int k = 1; k < kGlmDim; ++k)
      for (int t = 0; t < kGlmTimeBins; ++t) psi[t] += columns_[k][t] * th[k];
    double summary[kGlmDim] = {};
    for (int t = 0; t < kGlmTimeBins; ++t) {
      const double rate = 1.0 / (1.0 + std::exp(-psi[t]));
      // As sbibm: spike when uniform < rate. A 32-bit uniform (midpoints of 2^32 cells) is finer than
      // sbibm's float32 torch.rand and needs half the random bits of RandomStream::uniform().
      const double u = (static_cast<double>(rng.next_u32()) + 0.5) * 0x1p-32;
      const bool spike = u < rate;
      if (raw_) {
        x[t] = spike ? 1.0f : 0.0f;
      } else if (spike) {
        for (int k = 0; k < kGlmDim; ++k) summary[k] += columns_[k][t];
      }
    }
    if (!raw_)
      for (int k = 0; k < kGlmDim; ++k) x[k] = static_cast<float>(summary[k]);
    return true;
  }

 private:
  bool raw_;
  double columns_[kGlmDim][kGlmTimeBins];  // X column-major: columns_[k][t] = X[t, k]
};

}  // namespace

const std::array<float, kGlmTimeBins>& glm_stimulus() { return kStimulus; }

const GlmDesignMatrix& glm_design_matrix() {
  static const GlmDesignMatrix x = build_design_matrix();
  return x;
}

std::vector<double> glm_prior_precision() {
  constexpr int m = kGlmDim - 1;  // filter length M = 9
  // D = I - (ones on the first sub-diagonal); F = D·D + diag(sqrt(i / 9)).
  double d[m][m] = {}, f[m][m] = {};
  for (int i = 0; i < m; ++i) {
    d[i][i] = 1.0;
    if (i > 0) d[i][i - 1] = -1.0;
  }
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j) {
      double s = 0.0;
      for (int k = 0; k < m; ++k) s += d[i][k] * d[k][j];
      f[i][j] = s + (i == j ? std::sqrt(static_cast<double>(i) / m) : 0.0);
    }
  std::vector<double> b(kGlmDim * kGlmDim, 0.0);
  b[0] = 0.5;
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j) {
      double s = 0.0;
      for (int k = 0; k < m; ++k) s += f[k][i] * f[k][j];
      b[(i + 1) * kGlmDim + (j + 1)] = s;
    }
  return b;
}

std::vector<double> glm_prior_covariance() {
  constexpr int n = kGlmDim;
  const std::vector<double> b = glm_prior_precision();
  // Cholesky B = L Lᵀ, then B⁻¹ = L⁻ᵀ L⁻¹ with L⁻¹ by forward substitution.
  double l[n][n] = {}, li[n][n] = {};
  for (int i = 0; i < n; ++i)
    for (int j = 0; j <= i; ++j) {
      double s = b[i * n + j];
      for (int k = 0; k < j; ++k) s -= l[i][k] * l[j][k];
      if (i == j) {
        require(s > 0.0, ErrorKind::internal, "bernoulli_glm: prior precision B is not positive definite");
        l[i][i] = std::sqrt(s);
      } else {
        l[i][j] = s / l[j][j];
      }
    }
  for (int j = 0; j < n; ++j) {
    li[j][j] = 1.0 / l[j][j];
    for (int i = j + 1; i < n; ++i) {
      double s = 0.0;
      for (int k = j; k < i; ++k) s -= l[i][k] * li[k][j];
      li[i][j] = s / l[i][i];
    }
  }
  std::vector<double> cov(n * n, 0.0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j <= i; ++j) {
      double s = 0.0;
      for (int k = i; k < n; ++k) s += li[k][i] * li[k][j];  // (L⁻ᵀ L⁻¹)_ij, exactly symmetric
      cov[i * n + j] = cov[j * n + i] = s;
    }
  return cov;
}

Task make_bernoulli_glm_task(bool raw) {
  Task t;
  t.name = raw ? "bernoulli_glm_raw" : "bernoulli_glm";
  t.description =
      raw ? "Bernoulli GLM, raw 100-bin spike train (sbibm)" : "Bernoulli GLM, 10-D sufficient statistic X^T y (sbibm)";
  t.prior = make_gaussian(std::vector<double>(kGlmDim, 0.0), glm_prior_covariance());
  t.simulator = std::make_unique<BernoulliGlmSimulator>(raw);
  t.theta_labels = default_theta_labels(kGlmDim);
  return t;
}

Task make_bernoulli_glm() { return make_bernoulli_glm_task(false); }

}  // namespace simbi::sim::tasks
