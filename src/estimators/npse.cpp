#include "simbi/estimators/npse.hpp"

#include <cmath>
#include <initializer_list>
#include <sstream>

#include "simbi/core/error.hpp"
#include "simbi/core/text.hpp"

namespace simbi::estimators {

namespace {

void check(bool cond, const std::string& message) {
  require(cond, ErrorKind::invalid_argument, "npse config: " + message);
}

void validate(const NpseConfig& c) {
  check(c.theta_dim > 0 && c.x_dim > 0, "'theta_dim' and 'x_dim' must be positive");
  check(c.width > 0, "'width' must be positive, got " + std::to_string(c.width));
  check(c.blocks >= 0, "'blocks' must be >= 0, got " + std::to_string(c.blocks));
  check(c.time_features >= 0, "'time_features' must be >= 0, got " + std::to_string(c.time_features));
  check(c.sde == "vp" || c.sde == "ve", "'sde' must be vp or ve, got '" + c.sde + "'");
  if (c.sde == "vp") {
    check(std::isfinite(c.beta_min) && c.beta_min > 0, "'beta_min' must be positive, got " + format_number(c.beta_min));
    check(std::isfinite(c.beta_max) && c.beta_max > c.beta_min,
          "'beta_max' must be larger than beta_min = " + format_number(c.beta_min) + ", got " +
              format_number(c.beta_max));
    check(std::isfinite(c.t_min) && c.t_min > 0 && c.t_min < 1,
          "'t_min' must be in (0, 1), got " + format_number(c.t_min));
  } else {
    check(std::isfinite(c.sigma_min) && c.sigma_min > 0,
          "'sigma_min' (VE noise at t = 0) must be positive, got " + format_number(c.sigma_min));
    check(std::isfinite(c.sigma_max) && c.sigma_max > c.sigma_min,
          "'sigma_max' (VE noise at t = 1) must be larger than sigma_min = " + format_number(c.sigma_min) + ", got " +
              format_number(c.sigma_max));
  }
  c.solver.validate();
}

// A key of the other SDE's schedule is a mistake (it would be ignored).
void refuse_keys(const nlohmann::json& j, const std::string& sde, std::initializer_list<const char*> keys) {
  for (const char* k : keys)
    check(!j.contains(k), "'" + std::string(k) + "' is not an option of sde = \"" + sde + "\"");
}

}  // namespace

NpseConfig NpseConfig::from_json(const nlohmann::json& j) {
  NpseConfig c;
  read_config_dims(j, c.theta_dim, c.x_dim);
  c.width = j.value("width", c.width);
  c.blocks = j.value("blocks", c.blocks);
  c.time_features = j.value("time_features", c.time_features);
  c.sde = j.value("sde", c.sde);
  check(!j.contains("time_prior_exponent"), "'time_prior_exponent' is an option of fmpe, not of npse");
  if (c.sde == "ve")
    refuse_keys(j, c.sde, {"beta_min", "beta_max", "t_min"});
  else
    refuse_keys(j, c.sde, {"sigma_min", "sigma_max"});
  c.beta_min = j.value("beta_min", c.beta_min);
  c.beta_max = j.value("beta_max", c.beta_max);
  c.t_min = j.value("t_min", c.t_min);
  c.sigma_min = j.value("sigma_min", c.sigma_min);
  c.sigma_max = j.value("sigma_max", c.sigma_max);
  c.solver = nn::OdeSolverOptions::from_json(j, c.solver);
  c.support_prior = j.value("support_prior", nlohmann::json());
  validate(c);
  return c;
}

nlohmann::json NpseConfig::to_json() const {
  nlohmann::json j = {{"method", "npse"}, {"theta_dim", theta_dim}, {"x_dim", x_dim},
                      {"width", width},   {"blocks", blocks},       {"time_features", time_features}};
  if (sde == "ve") {  // models of the VP SDE keep the keys they had before the VE one existed
    j["sde"] = sde;
    j["sigma_min"] = sigma_min;
    j["sigma_max"] = sigma_max;
  } else {
    j["beta_min"] = beta_min;
    j["beta_max"] = beta_max;
    j["t_min"] = t_min;
  }
  solver.to_json(j);
  if (!support_prior.is_null()) j["support_prior"] = support_prior;  // absent: the configs of older models
  return j;
}

Npse::Npse(const NpseConfig& config)
    : OdeFlowEstimator(config.theta_dim, config.x_dim, config.solver, "npse", config.support_prior), config_(config) {
  validate(config_);
  check_solver(config_.solver);
  net_ = register_module(
      "net", nn::VectorField(config_.theta_dim, config_.x_dim, config_.width, config_.blocks, config_.time_features));
}

nlohmann::json Npse::config() const {
  NpseConfig c = config_;
  c.solver = solver();
  return c.to_json();
}

torch::Tensor Npse::half_integral(const torch::Tensor& t) const {
  return 0.5 * (config_.beta_min * t + 0.5 * (config_.beta_max - config_.beta_min) * t * t);
}

double Npse::half_integral(double t) const {
  return 0.5 * (config_.beta_min * t + 0.5 * (config_.beta_max - config_.beta_min) * t * t);
}

double Npse::alpha(double t) const { return ve() ? 1.0 : std::exp(-half_integral(t)); }

double Npse::sigma(double t) const {
  if (ve()) return config_.sigma_min * std::pow(config_.sigma_max / config_.sigma_min, t);
  return std::sqrt(-std::expm1(-2.0 * half_integral(t)));
}

double Npse::base_std() const { return ve() ? std::sqrt(1.0 + config_.sigma_max * config_.sigma_max) : 1.0; }

double Npse::diffusion2(double t) const {
  if (!ve()) return beta(t);
  const double s = sigma(t);
  return 2.0 * s * s * std::log(config_.sigma_max / config_.sigma_min);  // dσ²/dt
}

torch::Tensor Npse::network(const torch::Tensor& theta_t, const torch::Tensor& t, const torch::Tensor& s,
                            const torch::Tensor& x_z) {
  if (!ve()) return net_->forward(theta_t, t, x_z);
  // Karras et al.'s (2022) preconditioning for σ_data = 1, in ε form: the exact ε̂ for N(0, I) data,
  // θ_t·σ/(1 + σ²), plus the network's correction scaled by 1/√(1 + σ²). At large σ the network's errors
  // are damped instead of amplified by the ODE's drift σ·ln(σ_max/σ_min)·ε̂, and its input stays O(1).
  const torch::Tensor c = torch::rsqrt(1.0 + s * s);
  return theta_t * (s * c * c) - c * net_->forward(theta_t * c, t, x_z);
}

torch::Tensor Npse::noise_prediction(const torch::Tensor& y, double t, const torch::Tensor& x_z) {
  const double s = sigma(t);
  return network(y, torch::full({1}, t, y.options()), torch::full({1}, s, y.options()), x_z);
}

torch::Tensor Npse::loss_with_noise(const torch::Tensor& theta, const torch::Tensor& x, const torch::Tensor& noise) {
  const int64_t rows = theta.size(0), d = config_.theta_dim;
  const torch::Tensor n = noise.defined() ? noise : torch::randn({rows, noise_dim()}, theta.options());
  require(n.dim() == 2 && n.size(0) == rows && n.size(1) == noise_dim(), ErrorKind::internal,
          "npse: noise must be [" + std::to_string(rows) + ", " + std::to_string(noise_dim()) + "]");
  const torch::Tensor u = 0.5 * torch::erfc(-n.slice(1, 0, 1) / std::sqrt(2.0));  // Φ: uniform on [0, 1]
  const torch::Tensor eps = n.slice(1, 1, 1 + d);
  const torch::Tensor theta0 = standardized_theta(theta);
  torch::Tensor t, a, s;
  if (ve()) {
    t = u;
    a = torch::ones_like(t);
    s = config_.sigma_min * torch::exp(t * std::log(config_.sigma_max / config_.sigma_min));
  } else {
    t = config_.t_min + (1.0 - config_.t_min) * u;  // [B, 1]
    const torch::Tensor it = half_integral(t);
    // σ² via expm1: at t ≈ t_min it is ~1e-4 and 1 − α² would lose most of float's digits.
    a = torch::exp(-it);
    s = torch::sqrt(-torch::expm1(-2.0 * it));
  }
  return (network(a * theta0 + s * eps, t, s, x_z_->forward(x)) - eps).pow(2).mean(1);
}

nn::OdeFunction Npse::ode(const torch::Tensor& x_z) {
  return [this, x_z](double t, const torch::Tensor& y) {
    // dθ/dt = f(θ, t) − ½g(t)²·score, score = −ε̂/σ(t)
    return drift(t) * y + (0.5 * diffusion2(t) / sigma(t)) * noise_prediction(y, t, x_z);
  };
}

torch::Tensor Npse::sample_reverse_sde(const torch::Tensor& x_z, const torch::Tensor& base, at::Generator& gen) {
  const nn::OdeSolverOptions& o = solver();
  const int64_t steps = o.steps;
  const double t0 = data_time(), h = (base_time() - t0) / static_cast<double>(steps);
  auto normal = [&](const torch::Tensor& like) {
    return torch::randn(like.sizes(), gen, torch::kFloat).to(like.options());
  };
  auto score = [&](const torch::Tensor& y, double t) { return noise_prediction(y, t, x_z) * (-1.0 / sigma(t)); };
  // The mean over the draws of the rows' norms (Song et al.'s choice): a per-row ratio blows up in low
  // dimensions wherever one draw's score is near zero.
  auto mean_norm = [](const torch::Tensor& v) { return v.pow(2).sum(1).sqrt().mean().item<double>(); };
  torch::Tensor y = base;
  for (int64_t i = 0; i < steps; ++i) {
    const double t = base_time() - static_cast<double>(i) * h;
    // Corrector: Langevin steps at t toward p_t, step 2·(snr·|z|/|score|)² (Song et al. 2021, Alg. 4).
    for (int64_t c = 0; c < o.corrector_steps; ++c) {
      const torch::Tensor g = score(y, t), z = normal(y);
      const double step = 2.0 * std::pow(o.snr * mean_norm(z) / std::max(mean_norm(g), 1e-12), 2);
      y = y + step * g + std::sqrt(2.0 * step) * z;
    }
    // Predictor: one Euler–Maruyama step of the reverse-time SDE from t to t − h; the last one adds no
    // noise (its mean is the draw: the noise of a step to t_0 is below the data's resolution).
    const double g2 = diffusion2(t);
    const torch::Tensor mean = y - (drift(t) * y - g2 * score(y, t)) * h;
    y = i + 1 == steps ? mean : mean + std::sqrt(g2 * h) * normal(y);
  }
  return y;
}

}  // namespace simbi::estimators
