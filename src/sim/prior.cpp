#include "simbi/sim/prior.hpp"

#include <cmath>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "simbi/core/error.hpp"

namespace simbi::sim {

namespace {

constexpr double kLog2Pi = 1.8378770664093454836;
constexpr double kNegInf = -std::numeric_limits<double>::infinity();

std::string fmt_num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

bool all_equal(const std::vector<double>& v) {
  for (double e : v)
    if (e != v.front()) return false;
  return true;
}

// "[a,b]^d" when all dimensions agree, else "[a1,b1]x[a2,b2]x..."
std::string describe_box(const std::vector<double>& lo, const std::vector<double>& hi) {
  if (all_equal(lo) && all_equal(hi))
    return "[" + fmt_num(lo[0]) + "," + fmt_num(hi[0]) + "]^" + std::to_string(lo.size());
  std::string s;
  for (size_t i = 0; i < lo.size(); ++i) s += (i ? "x[" : "[") + fmt_num(lo[i]) + "," + fmt_num(hi[i]) + "]";
  return s;
}

class BoxUniform final : public Prior {
 public:
  BoxUniform(std::vector<double> lo, std::vector<double> hi) : lo_(std::move(lo)), hi_(std::move(hi)) {
    require(!lo_.empty() && lo_.size() == hi_.size(), ErrorKind::invalid_argument,
            "uniform prior: 'low' and 'high' must be non-empty and of equal length");
    log_volume_ = 0.0;
    for (size_t i = 0; i < lo_.size(); ++i) {
      require(std::isfinite(lo_[i]) && std::isfinite(hi_[i]) && hi_[i] > lo_[i], ErrorKind::invalid_argument,
              "uniform prior: need finite low < high in dimension " + std::to_string(i + 1));
      log_volume_ += std::log(hi_[i] - lo_[i]);
    }
  }
  int64_t dim() const override { return static_cast<int64_t>(lo_.size()); }
  std::string describe() const override { return "U" + describe_box(lo_, hi_); }
  nlohmann::json to_json() const override { return {{"type", "uniform"}, {"low", lo_}, {"high", hi_}}; }
  void sample_one(float* theta, RandomStream& rng) const override {
    for (size_t i = 0; i < lo_.size(); ++i) theta[i] = static_cast<float>(rng.uniform(lo_[i], hi_[i]));
  }
  bool in_support(const float* theta) const override {
    for (size_t i = 0; i < lo_.size(); ++i)
      if (!(theta[i] >= lo_[i] && theta[i] <= hi_[i])) return false;
    return true;
  }
  double log_prob_one(const float* theta) const override { return in_support(theta) ? -log_volume_ : kNegInf; }
  void to_unconstrained(const float* theta, double* u) const override {
    for (size_t i = 0; i < lo_.size(); ++i) {
      double p = (theta[i] - lo_[i]) / (hi_[i] - lo_[i]);
      p = std::min(std::max(p, 1e-12), 1.0 - 1e-12);
      u[i] = std::log(p) - std::log1p(-p);
    }
  }
  double from_unconstrained(const double* u, float* theta) const override {
    double log_det = 0.0;
    for (size_t i = 0; i < lo_.size(); ++i) {
      const double width = hi_[i] - lo_[i];
      // log σ(u) and log(1 - σ(u)) computed stably.
      const double log_sig = -std::log1p(std::exp(-std::fabs(u[i]))) + std::min(u[i], 0.0);
      const double log_one_minus = log_sig - u[i];
      const double sig = std::exp(log_sig);
      theta[i] = static_cast<float>(lo_[i] + width * sig);
      log_det += std::log(width) + log_sig + log_one_minus;
    }
    return log_det;
  }
  std::vector<double> mean() const override {
    std::vector<double> m(lo_.size());
    for (size_t i = 0; i < m.size(); ++i) m[i] = 0.5 * (lo_[i] + hi_[i]);
    return m;
  }
  std::vector<double> stddev() const override {
    std::vector<double> s(lo_.size());
    for (size_t i = 0; i < s.size(); ++i) s[i] = (hi_[i] - lo_[i]) / std::sqrt(12.0);
    return s;
  }

 private:
  std::vector<double> lo_, hi_;
  double log_volume_;
};

class Gaussian final : public Prior {
 public:
  Gaussian(std::vector<double> mean, std::vector<double> cov) : mean_(std::move(mean)), cov_(std::move(cov)) {
    const size_t d = mean_.size();
    require(d > 0 && cov_.size() == d * d, ErrorKind::invalid_argument,
            "gaussian prior: 'cov' must have d*d = " + std::to_string(d * d) + " entries (row-major), got " +
                std::to_string(cov_.size()));
    // Cholesky factor L (lower, row-major): cov = L Lᵀ.
    chol_.assign(d * d, 0.0);
    for (size_t i = 0; i < d; ++i) {
      for (size_t j = 0; j <= i; ++j) {
        require(std::fabs(cov_[i * d + j] - cov_[j * d + i]) <= 1e-9 * (1 + std::fabs(cov_[i * d + j])),
                ErrorKind::invalid_argument, "gaussian prior: 'cov' is not symmetric");
        double s = cov_[i * d + j];
        for (size_t k = 0; k < j; ++k) s -= chol_[i * d + k] * chol_[j * d + k];
        if (i == j) {
          require(s > 0.0, ErrorKind::invalid_argument, "gaussian prior: 'cov' is not positive definite");
          chol_[i * d + i] = std::sqrt(s);
        } else {
          chol_[i * d + j] = s / chol_[j * d + j];
        }
      }
    }
    log_norm_ = -0.5 * static_cast<double>(d) * kLog2Pi;
    for (size_t i = 0; i < d; ++i) log_norm_ -= std::log(chol_[i * d + i]);
  }
  int64_t dim() const override { return static_cast<int64_t>(mean_.size()); }
  std::string describe() const override {
    const size_t d = mean_.size();
    bool diagonal = true;
    for (size_t i = 0; i < d; ++i)
      for (size_t j = 0; j < d; ++j)
        if (i != j && cov_[i * d + j] != 0.0) diagonal = false;
    std::vector<double> var(d);
    for (size_t i = 0; i < d; ++i) var[i] = cov_[i * d + i];
    if (diagonal && all_equal(mean_) && all_equal(var))
      return "N(" + fmt_num(mean_[0]) + ", " + fmt_num(var[0]) + "·I)^" + std::to_string(d) + " (variance)";
    return std::string("N(mean, Σ) with ") + (diagonal ? "diagonal" : "full") + " Σ, d=" + std::to_string(d);
  }
  nlohmann::json to_json() const override { return {{"type", "gaussian"}, {"mean", mean_}, {"cov", cov_}}; }
  void sample_one(float* theta, RandomStream& rng) const override {
    const size_t d = mean_.size();
    double z[64];
    std::vector<double> zbig;
    double* zp = z;
    if (d > 64) {
      zbig.resize(d);
      zp = zbig.data();
    }
    for (size_t i = 0; i < d; ++i) zp[i] = rng.normal();
    for (size_t i = 0; i < d; ++i) {
      double s = mean_[i];
      for (size_t k = 0; k <= i; ++k) s += chol_[i * d + k] * zp[k];
      theta[i] = static_cast<float>(s);
    }
  }
  bool in_support(const float* theta) const override {
    for (size_t i = 0; i < mean_.size(); ++i)
      if (!std::isfinite(theta[i])) return false;
    return true;
  }
  // Whitened coordinates: u = L⁻¹(θ − μ), so the bijection is θ = μ + L u (affine, log|det| = Σ log L_ii).
  void to_unconstrained(const float* theta, double* u) const override {
    const size_t d = mean_.size();
    for (size_t i = 0; i < d; ++i) {
      double s = theta[i] - mean_[i];
      for (size_t k = 0; k < i; ++k) s -= chol_[i * d + k] * u[k];
      u[i] = s / chol_[i * d + i];
    }
  }
  double from_unconstrained(const double* u, float* theta) const override {
    const size_t d = mean_.size();
    double log_det = 0.0;
    for (size_t i = 0; i < d; ++i) {
      double s = mean_[i];
      for (size_t k = 0; k <= i; ++k) s += chol_[i * d + k] * u[k];
      theta[i] = static_cast<float>(s);
      log_det += std::log(chol_[i * d + i]);
    }
    return log_det;
  }
  double log_prob_one(const float* theta) const override {
    if (!in_support(theta)) return kNegInf;
    const size_t d = mean_.size();
    std::vector<double> u(d);
    to_unconstrained(theta, u.data());
    double q = 0.0;
    for (double e : u) q += e * e;
    return log_norm_ - 0.5 * q;
  }
  std::vector<double> mean() const override { return mean_; }
  std::vector<double> stddev() const override {
    const size_t d = mean_.size();
    std::vector<double> s(d);
    for (size_t i = 0; i < d; ++i) s[i] = std::sqrt(cov_[i * d + i]);
    return s;
  }

 private:
  std::vector<double> mean_, cov_, chol_;
  double log_norm_;
};

class LogNormal final : public Prior {
 public:
  LogNormal(std::vector<double> loc, std::vector<double> scale) : loc_(std::move(loc)), scale_(std::move(scale)) {
    require(!loc_.empty() && loc_.size() == scale_.size(), ErrorKind::invalid_argument,
            "lognormal prior: 'loc' and 'scale' must be non-empty and of equal length");
    for (size_t i = 0; i < scale_.size(); ++i)
      require(std::isfinite(loc_[i]) && scale_[i] > 0.0 && std::isfinite(scale_[i]), ErrorKind::invalid_argument,
              "lognormal prior: need finite loc and scale > 0 in dimension " + std::to_string(i + 1));
  }
  int64_t dim() const override { return static_cast<int64_t>(loc_.size()); }
  std::string describe() const override {
    std::string s = "LogNormal(loc=[";
    for (size_t i = 0; i < loc_.size(); ++i) s += (i ? "," : "") + fmt_num(loc_[i]);
    s += "], scale=[";
    for (size_t i = 0; i < scale_.size(); ++i) s += (i ? "," : "") + fmt_num(scale_[i]);
    return s + "])";
  }
  nlohmann::json to_json() const override { return {{"type", "lognormal"}, {"loc", loc_}, {"scale", scale_}}; }
  void sample_one(float* theta, RandomStream& rng) const override {
    for (size_t i = 0; i < loc_.size(); ++i) theta[i] = static_cast<float>(std::exp(rng.normal(loc_[i], scale_[i])));
  }
  bool in_support(const float* theta) const override {
    for (size_t i = 0; i < loc_.size(); ++i)
      if (!(theta[i] > 0.0f) || !std::isfinite(theta[i])) return false;
    return true;
  }
  double log_prob_one(const float* theta) const override {
    if (!in_support(theta)) return kNegInf;
    double lp = 0.0;
    for (size_t i = 0; i < loc_.size(); ++i) {
      const double lx = std::log(static_cast<double>(theta[i]));
      const double z = (lx - loc_[i]) / scale_[i];
      lp += -lx - std::log(scale_[i]) - 0.5 * kLog2Pi - 0.5 * z * z;
    }
    return lp;
  }
  void to_unconstrained(const float* theta, double* u) const override {
    for (size_t i = 0; i < loc_.size(); ++i) u[i] = std::log(std::max(static_cast<double>(theta[i]), 1e-300));
  }
  double from_unconstrained(const double* u, float* theta) const override {
    double log_det = 0.0;
    for (size_t i = 0; i < loc_.size(); ++i) {
      theta[i] = static_cast<float>(std::exp(u[i]));
      log_det += u[i];
    }
    return log_det;
  }
  std::vector<double> mean() const override {
    std::vector<double> m(loc_.size());
    for (size_t i = 0; i < m.size(); ++i) m[i] = std::exp(loc_[i] + 0.5 * scale_[i] * scale_[i]);
    return m;
  }
  std::vector<double> stddev() const override {
    std::vector<double> s(loc_.size());
    for (size_t i = 0; i < s.size(); ++i) {
      const double v = scale_[i] * scale_[i];
      s[i] = std::sqrt((std::exp(v) - 1.0) * std::exp(2.0 * loc_[i] + v));
    }
    return s;
  }

 private:
  std::vector<double> loc_, scale_;
};

std::vector<double> number_array(const nlohmann::json& spec, const std::string& key, const std::string& where) {
  require(spec.contains(key) && spec[key].is_array(), ErrorKind::format,
          where + ": prior field '" + key + "' must be an array of numbers");
  std::vector<double> out;
  for (const auto& v : spec[key]) {
    require(v.is_number(), ErrorKind::format, where + ": prior field '" + key + "' must contain only numbers");
    out.push_back(v.get<double>());
  }
  return out;
}

}  // namespace

void Prior::sample(MatrixView theta, const RowStreams& streams) const {
  require(theta.cols == dim(), ErrorKind::internal, "Prior::sample: wrong column count");
  for (int64_t i = 0; i < theta.rows; ++i) {
    RandomStream rng = streams.row(i);
    sample_one(theta.row(i), rng);
  }
}

void Prior::log_prob(ConstMatrixView theta, double* out) const {
  require(theta.cols == dim(), ErrorKind::internal, "Prior::log_prob: wrong column count");
  for (int64_t i = 0; i < theta.rows; ++i) out[i] = log_prob_one(theta.row(i));
}

std::unique_ptr<Prior> make_box_uniform(std::vector<double> low, std::vector<double> high) {
  return std::make_unique<BoxUniform>(std::move(low), std::move(high));
}
std::unique_ptr<Prior> make_gaussian(std::vector<double> mean, std::vector<double> cov) {
  return std::make_unique<Gaussian>(std::move(mean), std::move(cov));
}
std::unique_ptr<Prior> make_log_normal(std::vector<double> loc, std::vector<double> scale) {
  return std::make_unique<LogNormal>(std::move(loc), std::move(scale));
}

std::unique_ptr<Prior> prior_from_json(const nlohmann::json& spec, const std::string& where) {
  require(spec.is_object() && spec.contains("type") && spec["type"].is_string(), ErrorKind::format,
          where + ": prior needs a 'type' (uniform, gaussian or lognormal)");
  const std::string type = spec["type"].get<std::string>();
  try {
    if (type == "uniform" || type == "box_uniform")
      return make_box_uniform(number_array(spec, "low", where), number_array(spec, "high", where));
    if (type == "gaussian" || type == "normal") {
      std::vector<double> mean = number_array(spec, "mean", where);
      std::vector<double> cov;
      if (spec.contains("cov")) {
        cov = number_array(spec, "cov", where);
      } else {
        const std::vector<double> sd = number_array(spec, "std", where);
        require(sd.size() == mean.size(), ErrorKind::format, where + ": prior 'std' must have as many entries as 'mean'");
        cov.assign(mean.size() * mean.size(), 0.0);
        for (size_t i = 0; i < sd.size(); ++i) cov[i * sd.size() + i] = sd[i] * sd[i];
      }
      return make_gaussian(std::move(mean), std::move(cov));
    }
    if (type == "lognormal" || type == "log_normal")
      return make_log_normal(number_array(spec, "loc", where), number_array(spec, "scale", where));
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::invalid_argument) throw Error(ErrorKind::format, where + ": " + e.what());
    throw;
  }
  throw Error(ErrorKind::format, where + ": unknown prior type '" + type + "' (expected uniform, gaussian or lognormal)");
}

}  // namespace simbi::sim
