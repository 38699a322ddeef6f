#include "simbi/sim/distance.hpp"

#include <cmath>

#include "simbi/core/error.hpp"
#include "simbi/core/log.hpp"
#include "simbi/sim/task.hpp"

namespace simbi::sim {

namespace {

std::string known_names() {
  std::string s;
  for (const auto& n : distance_names()) s += (s.empty() ? "" : ", ") + n;
  return s;
}

int64_t int_param(const nlohmann::json& p, const char* key, int64_t fallback, const std::string& who) {
  if (!p.contains(key)) return fallback;
  require(p[key].is_number_integer(), ErrorKind::invalid_argument,
          who + ": parameter '" + key + "' must be an integer, got " + p[key].dump());
  return p[key].get<int64_t>();
}

double number_param(const nlohmann::json& p, const char* key, double fallback, const std::string& who) {
  if (!p.contains(key)) return fallback;
  require(p[key].is_number(), ErrorKind::invalid_argument,
          who + ": parameter '" + key + "' must be a number, got " + p[key].dump());
  return p[key].get<double>();
}

class Mse final : public Distance {
 public:
  explicit Mse(int64_t dim) : dim_(dim) {}
  std::string name() const override { return "mse"; }
  int64_t dim() const override { return dim_; }
  double operator()(const float* a, const float* b) const override {
    double s = 0.0;
    for (int64_t k = 0; k < dim_; ++k) {
      const double d = static_cast<double>(a[k]) - static_cast<double>(b[k]);
      s += d * d;
    }
    return s / static_cast<double>(dim_);
  }
  nlohmann::json to_json() const override { return {{"name", "mse"}, {"dim", dim_}}; }
  std::unique_ptr<Distance> clone() const override { return std::make_unique<Mse>(*this); }

 private:
  int64_t dim_;
};

class Mmd2 final : public Distance {
 public:
  Mmd2(int64_t set_size, int64_t point_dim, double gamma) : m_(set_size), d_(point_dim), gamma_(gamma) {}
  std::string name() const override { return "mmd2"; }
  int64_t dim() const override { return m_ * d_; }
  double operator()(const float* a, const float* b) const override {
    // Biased MMD²: mean k(a,a) + mean k(b,b) − 2 mean k(a,b) over all m² pairs; k(u,u) = 1 on the
    // diagonals, the off-diagonal pairs of the same set counted twice by symmetry.
    double kaa = 0.0, kbb = 0.0, kab = 0.0;
    for (int64_t i = 0; i < m_; ++i) {
      for (int64_t j = i + 1; j < m_; ++j) {
        kaa += kernel(a + i * d_, a + j * d_);
        kbb += kernel(b + i * d_, b + j * d_);
      }
      for (int64_t j = 0; j < m_; ++j) kab += kernel(a + i * d_, b + j * d_);
    }
    const double mm = static_cast<double>(m_) * static_cast<double>(m_);
    const double same = (2.0 * static_cast<double>(m_) + 2.0 * (kaa + kbb)) / mm;
    return same - 2.0 * kab / mm;
  }
  nlohmann::json to_json() const override {
    return {{"name", "mmd2"}, {"dim", dim()}, {"set_size", m_}, {"point_dim", d_}, {"gamma", gamma_}};
  }
  std::unique_ptr<Distance> clone() const override { return std::make_unique<Mmd2>(*this); }

 private:
  double kernel(const float* u, const float* v) const {
    double s = 0.0;
    for (int64_t k = 0; k < d_; ++k) {
      const double e = static_cast<double>(u[k]) - static_cast<double>(v[k]);
      s += e * e;
    }
    return std::exp(-gamma_ * s);
  }
  int64_t m_, d_;
  double gamma_;
};

class ZMae final : public Distance {
 public:
  explicit ZMae(int64_t dim) : dim_(dim) {}
  ZMae(int64_t dim, std::vector<double> scales) : dim_(dim) { set_scales(std::move(scales)); }
  std::string name() const override { return "zmae"; }
  int64_t dim() const override { return dim_; }
  bool needs_fit() const override { return true; }
  bool ready() const override { return !inv_scale_.empty(); }
  double operator()(const float* a, const float* b) const override {
    require(ready(), ErrorKind::internal, "distance zmae: used before fit() (its scales come from the training x)");
    double s = 0.0;
    for (int64_t k = 0; k < dim_; ++k)
      s += std::fabs(static_cast<double>(a[k]) - static_cast<double>(b[k])) * inv_scale_[static_cast<size_t>(k)];
    return s / static_cast<double>(dim_);
  }
  void fit(ConstMatrixView x) override {
    require(x.cols == dim_, ErrorKind::invalid_argument,
            "distance zmae: fit() on rows of " + std::to_string(x.cols) + " numbers, expected " + std::to_string(dim_));
    std::vector<double> sum(static_cast<size_t>(dim_), 0.0), sum2(static_cast<size_t>(dim_), 0.0);
    std::vector<double> shift(static_cast<size_t>(dim_), 0.0);
    int64_t n = 0;
    for (int64_t i = 0; i < x.rows; ++i) {
      const float* r = x.row(i);
      bool finite = true;
      for (int64_t k = 0; k < dim_ && finite; ++k) finite = std::isfinite(r[k]);
      if (!finite) continue;
      if (n == 0)
        for (int64_t k = 0; k < dim_; ++k) shift[static_cast<size_t>(k)] = r[k];  // shifted sums: stable
      for (int64_t k = 0; k < dim_; ++k) {
        const double v = r[k] - shift[static_cast<size_t>(k)];
        sum[static_cast<size_t>(k)] += v;
        sum2[static_cast<size_t>(k)] += v * v;
      }
      ++n;
    }
    require(n >= 2, ErrorKind::invalid_argument,
            "distance zmae: fit() needs at least 2 finite training rows, got " + std::to_string(n) + " of " +
                std::to_string(x.rows));
    std::vector<double> scales(static_cast<size_t>(dim_));
    for (size_t k = 0; k < scales.size(); ++k) {
      const double mean = sum[k] / n;
      const double var = std::max(0.0, (sum2[k] - n * mean * mean) / static_cast<double>(n - 1));
      scales[k] = std::sqrt(var);
      if (!(scales[k] > 0.0)) {
        log::warn("distance zmae: feature " + std::to_string(k + 1) +
                  " is constant over the training x; its scale is set to 1");
        scales[k] = 1.0;
      }
    }
    set_scales(std::move(scales));
  }
  nlohmann::json to_json() const override {
    nlohmann::json j = {{"name", "zmae"}, {"dim", dim_}};
    if (ready()) j["scales"] = scales_;
    return j;
  }
  std::unique_ptr<Distance> clone() const override { return std::make_unique<ZMae>(*this); }

 private:
  void set_scales(std::vector<double> scales) {
    require(
        static_cast<int64_t>(scales.size()) == dim_, ErrorKind::invalid_argument,
        "distance zmae: 'scales' has " + std::to_string(scales.size()) + " entries, expected " + std::to_string(dim_));
    for (size_t k = 0; k < scales.size(); ++k)
      require(std::isfinite(scales[k]) && scales[k] > 0.0, ErrorKind::invalid_argument,
              "distance zmae: scale " + std::to_string(k + 1) + " must be a positive number");
    scales_ = std::move(scales);
    inv_scale_.resize(scales_.size());
    for (size_t k = 0; k < scales_.size(); ++k) inv_scale_[k] = 1.0 / scales_[k];
  }
  int64_t dim_;
  std::vector<double> scales_, inv_scale_;
};

}  // namespace

void Distance::pairs(const float* a, const float* b, int64_t n, double* out) const {
  const int64_t d = dim();
  for (int64_t i = 0; i < n; ++i) out[i] = (*this)(a + i * d, b + i * d);
}

void Distance::to_one(const float* a, int64_t n, const float* b, double* out) const {
  const int64_t d = dim();
  for (int64_t i = 0; i < n; ++i) out[i] = (*this)(a + i * d, b);
}

void Distance::pairs(ConstMatrixView a, ConstMatrixView b, double* out) const {
  require(a.cols == dim() && b.cols == dim() && a.rows == b.rows, ErrorKind::invalid_argument,
          "distance " + name() + ": pairs of [" + std::to_string(a.rows) + ", " + std::to_string(a.cols) + "] and [" +
              std::to_string(b.rows) + ", " + std::to_string(b.cols) + "] rows, expected two [n, " +
              std::to_string(dim()) + "]");
  pairs(a.data, b.data, a.rows, out);
}

const std::vector<std::string>& distance_names() {
  static const std::vector<std::string> names = {"mse", "mmd2", "zmae"};
  return names;
}

std::unique_ptr<Distance> make_distance(const std::string& name, int64_t x_dim, const nlohmann::json& params) {
  const std::string who = "distance " + name;
  require(params.is_object() || params.is_null(), ErrorKind::invalid_argument,
          who + ": parameters must be a JSON object, got " + params.dump());
  const nlohmann::json p = params.is_null() ? nlohmann::json::object() : params;
  if (name != "mse" && name != "mmd2" && name != "zmae")
    throw Error(ErrorKind::invalid_argument,
                "unknown distance '" + name + "' (known distances: " + known_names() + ")");
  require(x_dim > 0, ErrorKind::invalid_argument, who + ": x dimension must be positive, got " + std::to_string(x_dim));
  if (name == "mse") return std::make_unique<Mse>(x_dim);
  if (name == "mmd2") {
    const int64_t m = int_param(p, "set_size", x_dim, who);
    const int64_t d = int_param(p, "point_dim", m > 0 && x_dim % m == 0 ? x_dim / m : 1, who);
    const double gamma = number_param(p, "gamma", 0.01, who);
    require(m > 0 && d > 0 && m * d == x_dim, ErrorKind::invalid_argument,
            who + ": set_size " + std::to_string(m) + " x point_dim " + std::to_string(d) +
                " must equal the x dimension " + std::to_string(x_dim));
    require(std::isfinite(gamma) && gamma > 0.0, ErrorKind::invalid_argument,
            who + ": gamma must be a positive number, got " + std::to_string(gamma));
    return std::make_unique<Mmd2>(m, d, gamma);
  }
  // zmae
  if (!p.contains("scales")) return std::make_unique<ZMae>(x_dim);
  require(p["scales"].is_array(), ErrorKind::invalid_argument, who + ": 'scales' must be an array of numbers");
  std::vector<double> scales;
  for (const auto& v : p["scales"]) {
    require(v.is_number(), ErrorKind::invalid_argument, who + ": 'scales' must be an array of numbers");
    scales.push_back(v.get<double>());
  }
  return std::make_unique<ZMae>(x_dim, std::move(scales));
}

std::unique_ptr<Distance> make_distance(const Task& task) {
  nlohmann::json params;
  try {
    params = nlohmann::json::parse(task.distance_params.empty() ? "{}" : task.distance_params);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::internal, "task " + task.name + ": distance parameters are not JSON: " + e.what());
  }
  return make_distance(task.distance, task.x_dim(), params);
}

std::unique_ptr<Distance> distance_from_json(const nlohmann::json& spec) {
  require(spec.is_object(), ErrorKind::format,
          "distance: expected a JSON object {\"name\": ..., \"dim\": ...}, got " + spec.dump());
  require(spec.contains("name") && spec["name"].is_string(), ErrorKind::format,
          "distance: 'name' is missing (one of " + known_names() + ")");
  require(spec.contains("dim") && spec["dim"].is_number_integer(), ErrorKind::format,
          "distance " + spec["name"].get<std::string>() + ": 'dim' (an integer) is missing");
  nlohmann::json params = spec;
  params.erase("name");
  params.erase("dim");
  return make_distance(spec["name"].get<std::string>(), spec["dim"].get<int64_t>(), params);
}

}  // namespace simbi::sim
