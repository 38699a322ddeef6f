#include "simbi/estimators/vae.hpp"

#include <cmath>

#include "simbi/core/error.hpp"
#include "simbi/nn/lattice.hpp"

namespace simbi::estimators {

namespace {

std::vector<int64_t> widths(const nlohmann::json& j, const char* key, const std::vector<int64_t>& fallback) {
  if (!j.contains(key)) return fallback;
  require(j[key].is_array(), ErrorKind::format,
          std::string("estimator config: '") + key + "' must be a list of widths");
  std::vector<int64_t> w;
  for (const auto& v : j[key]) {
    require(v.is_number_integer() && v.get<int64_t>() > 0, ErrorKind::format,
            std::string("estimator config: '") + key + "' must contain positive integers");
    w.push_back(v.get<int64_t>());
  }
  return w;
}

}  // namespace

VaeConfig VaeConfig::from_json(const nlohmann::json& j) {
  VaeConfig c;
  read_config_dims(j, c.theta_dim, c.x_dim);
  c.latent_dim = j.value("latent_dim", int64_t{0});
  c.encoder_hidden = widths(j, "encoder_hidden", c.encoder_hidden);
  c.prior_hidden = widths(j, "prior_hidden", c.prior_hidden);
  c.decoder_hidden = widths(j, "decoder_hidden", c.decoder_hidden);
  c.data_decoder_hidden = widths(j, "data_decoder_hidden", c.data_decoder_hidden);
  require(c.latent_dim >= 0, ErrorKind::invalid_argument, "--latent-dim must be positive");
  if (c.latent_dim == 0) c.latent_dim = c.theta_dim;
  c.decoder = j.value("decoder", c.decoder);
  require(c.decoder == "gaussian" || c.decoder == "nsf", ErrorKind::invalid_argument,
          "--decoder must be gaussian or nsf, got '" + c.decoder + "'");
  if (j.contains("decoder_flow")) c.decoder_flow = nn::FlowConfig::from_json(j.at("decoder_flow"));
  // The flow's conditioner for this θ (coupling needs dθ ≥ 2): refused here, before any training.
  if (c.decoder == "nsf") (void)c.decoder_flow.resolved_conditioner(c.theta_dim);
  return c;
}

nlohmann::json VaeConfig::to_json(const std::string& method) const {
  nlohmann::json j = {
      {"method", method},         {"theta_dim", theta_dim},           {"x_dim", x_dim},
      {"latent_dim", latent_dim}, {"encoder_hidden", encoder_hidden}, {"decoder_hidden", decoder_hidden}};
  if (method == "cpvae") j["prior_hidden"] = prior_hidden;
  if (method == "upvae") j["data_decoder_hidden"] = data_decoder_hidden;
  if (decoder == "nsf") {  // a Gaussian decoder's config is what it was before the flow decoder existed
    j.erase("decoder_hidden");
    j["decoder"] = decoder;
    j["decoder_flow"] = decoder_flow.to_json();
  }
  return j;
}

VaeBase::VaeBase(const VaeConfig& config_in) : config_(config_in) {
  if (config_.latent_dim <= 0) config_.latent_dim = config_.theta_dim;  // the default: dz = dθ
  const VaeConfig& config = config_;
  theta_z_ = register_module("theta_zscore", nn::ZScore(config.theta_dim));
  x_z_ = register_module("x_zscore", nn::ZScore(config.x_dim));
  encoder_ = register_module("encoder",
                             nn::Mlp(config.x_dim + config.theta_dim, config.encoder_hidden, 2 * config.latent_dim));
  if (config.decoder == "nsf")
    flow_decoder_ = register_module(
        "flow_decoder", nn::ConditionalFlow(config.decoder_flow, config.theta_dim, config.x_dim + config.latent_dim));
  else
    decoder_ = register_module("decoder",
                               nn::Mlp(config.x_dim + config.latent_dim, config.decoder_hidden, 2 * config.theta_dim));
}

void VaeBase::fit_standardization(const torch::Tensor& theta, const torch::Tensor& x) {
  theta_z_->fit(theta);
  x_z_->fit(x);
}

torch::Tensor VaeBase::gaussian_nll(const nn::DiagGaussian& dist, const torch::Tensor& value) {
  const torch::Tensor diff = value - dist.mean;
  return (0.5 * dist.log_var + 0.5 * diff * diff * torch::exp(-dist.log_var)).sum(-1);
}

nn::DiagGaussian VaeBase::encode(const torch::Tensor& xz, const torch::Tensor& thetaz) {
  return nn::DiagGaussian::from_head(encoder_->forward(torch::cat({xz, thetaz}, 1)));
}

nn::DiagGaussian VaeBase::decode_theta(const torch::Tensor& xz, const torch::Tensor& z) {
  return nn::DiagGaussian::from_head(decoder_->forward(torch::cat({xz, z}, 1)));
}

torch::Tensor VaeBase::theta_nll(const torch::Tensor& xz, const torch::Tensor& z, const torch::Tensor& thetaz) {
  if (!flow_decoder_) return gaussian_nll(decode_theta(xz, z), thetaz);
  // The flow's log density includes log N's constant; the Gaussian NLL above leaves it out, so the two
  // decoders' losses (and validation losses) are on one scale.
  const double constant = 0.5 * static_cast<double>(config_.theta_dim) * std::log(2.0 * M_PI);
  return -flow_decoder_->log_prob(thetaz, torch::cat({xz, z}, 1)) - constant;
}

torch::Tensor VaeBase::draw_theta(const torch::Tensor& x_o, const torch::Tensor& z, at::Generator& gen) {
  const torch::Tensor xz = x_z_->forward(x_o.reshape({1, -1})).expand({z.size(0), config_.x_dim});
  if (flow_decoder_) return theta_z_->inverse(flow_decoder_->sample(z.size(0), torch::cat({xz, z}, 1), gen));
  const nn::DiagGaussian theta_dist = decode_theta(xz, z);
  return theta_z_->inverse(theta_dist.rsample(gen));
}

CpVae::CpVae(const VaeConfig& config) : VaeBase(config) {
  prior_ = register_module("prior", nn::Mlp(config_.x_dim, config_.prior_hidden, 2 * config_.latent_dim));
}

torch::Tensor CpVae::loss_with_noise(const torch::Tensor& theta, const torch::Tensor& x, const torch::Tensor& noise) {
  const torch::Tensor xz = x_z_->forward(x), thetaz = theta_z_->forward(theta);
  const nn::DiagGaussian q = encode(xz, thetaz);
  const nn::DiagGaussian p = nn::DiagGaussian::from_head(prior_->forward(xz));
  const torch::Tensor z = q.rsample_from(noise);
  return kl_weight_ * q.kl_to(p) + theta_nll(xz, z, thetaz);
}

torch::Tensor CpVae::sample_posterior(const torch::Tensor& x_o, int64_t n, at::Generator& gen) {
  torch::NoGradGuard no_grad;
  const torch::Tensor xz = x_z_->forward(x_o.reshape({1, -1}));
  const nn::DiagGaussian p = nn::DiagGaussian::from_head(prior_->forward(xz));
  const nn::DiagGaussian p_n{p.mean.expand({n, config_.latent_dim}), p.log_var.expand({n, config_.latent_dim})};
  return draw_theta(x_o, p_n.rsample(gen), gen);
}

UpVae::UpVae(const VaeConfig& config) : VaeBase(config) {
  data_decoder_ =
      register_module("data_decoder", nn::Mlp(config_.latent_dim, config_.data_decoder_hidden, 2 * config_.x_dim));
  x_log_var_floor_ = register_buffer("x_log_var_floor", torch::full({config_.x_dim}, nn::kMinLogVar));
}

void UpVae::fit_standardization(const torch::Tensor& theta, const torch::Tensor& x) {
  VaeBase::fit_standardization(theta, x);
  torch::NoGradGuard no_grad;
  const torch::Tensor spacing_z = nn::lattice_spacing(x) / x_z_->std();  // Δ in z-scored units
  const torch::Tensor floor = torch::where(spacing_z > 0, torch::log(spacing_z * spacing_z / 12.0),
                                           torch::full_like(spacing_z, nn::kMinLogVar));
  x_log_var_floor_.copy_(floor.clamp(nn::kMinLogVar, nn::kMaxLogVar));
}

torch::Tensor UpVae::loss_with_noise(const torch::Tensor& theta, const torch::Tensor& x, const torch::Tensor& noise) {
  const torch::Tensor xz = x_z_->forward(x), thetaz = theta_z_->forward(theta);
  const nn::DiagGaussian q = encode(xz, thetaz);
  const torch::Tensor z = q.rsample_from(noise);
  const torch::Tensor nll_theta = theta_nll(xz, z, thetaz);
  nn::DiagGaussian x_dist = nn::DiagGaussian::from_head(data_decoder_->forward(z));
  x_dist.log_var = torch::maximum(x_dist.log_var, x_log_var_floor_);
  const torch::Tensor nll_x = gaussian_nll(x_dist, xz);
  return kl_weight_ * kKlWeight * q.kl_to_standard_normal() + kThetaWeight * nll_theta + kDataWeight * nll_x;
}

torch::Tensor UpVae::sample_posterior(const torch::Tensor& x_o, int64_t n, at::Generator& gen) {
  torch::NoGradGuard no_grad;
  const torch::Tensor z = torch::randn({n, config_.latent_dim}, gen, torch::kFloat);
  return draw_theta(x_o, z, gen);
}

}  // namespace simbi::estimators
