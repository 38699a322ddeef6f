#include "simbi/estimators/ace.hpp"

#include <cmath>
#include <vector>

#include "simbi/core/error.hpp"
#include "simbi/core/matrix.hpp"

namespace simbi::estimators {

namespace {

// The target set and m̄ are the same on every rank: drawn from a fixed stream, not torch's global one.
constexpr uint64_t kTargetSeed = 0xACE0;
// m̄ is the mean distance over kScalePairs × kScalePairs (simulation, target) pairs.
constexpr int64_t kScalePairs = 1000;

int64_t positive(const nlohmann::json& j, const char* key, int64_t fallback) {
  const int64_t v = j.value(key, fallback);
  require(v > 0, ErrorKind::invalid_argument, std::string("ACE config: '") + key + "' must be positive, got " +
                                                  std::to_string(v));
  return v;
}

}  // namespace

CostOutput parse_cost_output(const std::string& name, const std::string& what) {
  if (name == "linear") return CostOutput::linear;
  if (name == "softplus") return CostOutput::softplus;
  throw Error(ErrorKind::invalid_argument, what + ": expected linear or softplus, got '" + name + "'");
}

const char* cost_output_name(CostOutput output) { return output == CostOutput::linear ? "linear" : "softplus"; }

AceConfig AceConfig::from_json(const nlohmann::json& j) {
  AceConfig c;
  read_config_dims(j, c.theta_dim, c.x_dim);
  c.width = positive(j, "width", c.width);
  c.blocks = positive(j, "blocks", c.blocks);
  c.set_trials = j.value("set_trials", int64_t{0});
  require(c.set_trials >= 0 && (c.set_trials == 0 || c.x_dim % c.set_trials == 0), ErrorKind::invalid_argument,
          "ACE config: set_trials = " + std::to_string(c.set_trials) + " does not divide x_dim = " +
              std::to_string(c.x_dim));
  require(j.contains("distance"), ErrorKind::format, "ACE config: 'distance' is missing");
  c.distance = j["distance"];
  c.activation = nn::parse_activation(j.value("activation", std::string("relu")), "ACE config: 'activation'");
  c.output = parse_cost_output(j.value("output", std::string("softplus")), "ACE config: 'output'");
  c.train_targets = positive(j, "train_targets", c.train_targets);
  c.validation_targets = positive(j, "validation_targets", c.validation_targets);
  c.noise_targets = j.value("noise_targets", c.noise_targets);
  require(c.noise_targets >= 0, ErrorKind::invalid_argument,
          "ACE config: 'noise_targets' must be 0 or more, got " + std::to_string(c.noise_targets));
  return c;
}

nlohmann::json AceConfig::to_json() const {
  return {{"method", "ace"},
          {"theta_dim", theta_dim},
          {"x_dim", x_dim},
          {"width", width},
          {"blocks", blocks},
          {"activation", nn::activation_name(activation)},
          {"output", cost_output_name(output)},
          {"set_trials", set_trials},
          {"distance", distance},
          {"train_targets", train_targets},
          {"validation_targets", validation_targets},
          {"noise_targets", noise_targets}};
}

Ace::Ace(const AceConfig& config) : config_(config), distance_(sim::distance_from_json(config.distance)) {
  theta_z_ = register_module("theta_zscore", nn::ZScore(config.theta_dim));
  x_z_ = register_module("x_zscore", nn::ZScore(config.x_dim));
  int64_t x_features = config.x_dim;
  if (config.set_trials > 0) {
    embedding_ = register_module("embedding", nn::SetEmbedding(config.set_trials, config.x_dim / config.set_trials));
    x_features = nn::SetEmbeddingImpl::kOut;
  }
  net_ = register_module(
      "net", nn::ResidualNet(config.theta_dim + x_features, config.width, config.blocks, 1, config.activation));
  distance_scale_ = register_buffer("distance_scale", torch::ones({}));
}

void Ace::add_targets(const torch::Tensor& x) {
  require(x.dim() == 2 && x.size(1) == config_.x_dim, ErrorKind::invalid_argument,
          "ACE targets: expected rows of " + std::to_string(config_.x_dim) + " numbers");
  const torch::Tensor rows = x.to(torch::kCPU, torch::kFloat);
  extra_targets_ = extra_targets_.defined() ? torch::cat({extra_targets_, rows}) : rows;
}

void Ace::fit_standardization(const torch::Tensor& theta, const torch::Tensor& x) {
  theta_z_->fit(theta);
  x_z_->fit(x);
  const torch::Tensor sims = x.to(torch::kCPU, torch::kFloat).contiguous();
  // Fitted distances (z-scored MAE) take their scales from the training simulations; the scales are
  // then part of the distance saved in the model's config.
  if (distance_->needs_fit()) {
    distance_->fit(ConstMatrixView{sims.data_ptr<float>(), sims.size(0), sims.size(1)});
    config_.distance = distance_->to_json();
  }
  at::Generator gen = at::detail::createCPUGenerator(kTargetSeed);
  const int64_t n = sims.size(0);
  std::vector<torch::Tensor> parts{sims};
  if (config_.noise_targets > 0) {
    // Noise-augmented copies: random training x plus N(0, (2·std_d)²) per dimension.
    const torch::Tensor picks = torch::randint(n, {config_.noise_targets}, gen, torch::kLong);
    const torch::Tensor spread = 2.0 * sims.std(0, /*unbiased=*/true, /*keepdim=*/true);
    parts.push_back(sims.index_select(0, picks) +
                    spread * torch::randn({config_.noise_targets, config_.x_dim}, gen, torch::kFloat));
  }
  if (extra_targets_.defined()) parts.push_back(extra_targets_);
  targets_ = torch::cat(parts).contiguous();
  // m̄: the mean distance over all pairs of kScalePairs random simulations and kScalePairs random targets.
  const int64_t k = std::min<int64_t>(kScalePairs, n);
  const torch::Tensor a = sims.index_select(0, torch::randint(n, {k}, gen, torch::kLong));
  const torch::Tensor b = targets_.index_select(0, torch::randint(targets_.size(0), {kScalePairs}, gen, torch::kLong));
  const torch::Tensor d = distances(a.repeat_interleave(kScalePairs, 0), b.repeat({k, 1}));
  const double scale = d.mean().item<double>();
  require(std::isfinite(scale) && scale > 0, ErrorKind::numeric,
          "ACE: the mean distance between simulations and targets is " + std::to_string(scale) +
              " (expected a positive number; are all simulations identical?)");
  torch::NoGradGuard no_grad;
  distance_scale_.fill_(scale);
}

torch::Tensor Ace::distances(const torch::Tensor& a, const torch::Tensor& b) const {
  const torch::Tensor ac = a.to(torch::kCPU, torch::kFloat).contiguous(), bc = b.to(torch::kCPU, torch::kFloat).contiguous();
  std::vector<double> out(static_cast<size_t>(ac.size(0)));
  distance_->pairs(ac.data_ptr<float>(), bc.data_ptr<float>(), ac.size(0), out.data());
  return torch::tensor(out, torch::kDouble).to(torch::kFloat);
}

torch::Tensor Ace::cost(const torch::Tensor& theta, const torch::Tensor& x_t) {
  const torch::Tensor xt = x_t.dim() == 1 ? x_t.unsqueeze(0).expand({theta.size(0), config_.x_dim}) : x_t;
  torch::Tensor xz = x_z_->forward(xt);
  if (embedding_) xz = embedding_->forward(xz);
  const torch::Tensor h = net_->forward(torch::cat({theta_z_->forward(theta), xz}, 1)).squeeze(1);
  return (config_.output == CostOutput::linear ? h : torch::nn::functional::softplus(h)) * distance_scale_;
}

torch::Tensor ace_target_picks(const torch::Tensor& noise, int64_t k, int64_t count) {
  require(noise.dim() == 2 && noise.size(1) >= k && count > 0, ErrorKind::internal,
          "ACE: target picks need noise [rows, >= " + std::to_string(k) + "] and a non-empty target set");
  const torch::Tensor u = 0.5 * torch::erfc(-noise.slice(1, 0, k).to(torch::kCPU, torch::kDouble) / std::sqrt(2.0));
  return (u * static_cast<double>(count)).floor().clamp(0, static_cast<double>(count - 1)).to(torch::kLong).reshape({-1});
}

FrozenAceCost Ace::freeze(const torch::Tensor& x_o) {
  require(x_o.numel() == config_.x_dim, ErrorKind::invalid_argument,
          "ACE: an observation has " + std::to_string(x_o.numel()) + " values, the model expects " +
              std::to_string(config_.x_dim));
  torch::NoGradGuard no_grad;
  const torch::Tensor row = x_o.reshape({1, config_.x_dim}).to(distance_scale_.device(), torch::kFloat);
  torch::Tensor xz = x_z_->forward(row);
  if (embedding_) xz = embedding_->forward(xz);
  return FrozenAceCost(nn::FrozenResidualNet(net_, theta_z_->mean(), theta_z_->std(), xz.reshape({-1})),
                       distance_scale(), config_.output);
}

void FrozenAceCost::cost(const float* theta, int64_t n, float* costs) {
  net_.forward(theta, n, costs);
  // m̄·h or m̄·softplus(h), as Ace::cost (softplus(h) = h beyond 20, as torch's threshold).
  const float scale = static_cast<float>(distance_scale_);
  if (output_ == CostOutput::linear) {
    for (int64_t i = 0; i < n; ++i) costs[i] *= scale;
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    const float h = costs[i];
    costs[i] = (h > 20.0f ? h : std::log1p(std::exp(h))) * scale;
  }
}

torch::Tensor Ace::loss_with_noise(const torch::Tensor& theta, const torch::Tensor& x, const torch::Tensor& noise) {
  require(targets_.defined(), ErrorKind::internal, "ACE: fit_standardization() must run before training");
  const int64_t rows = theta.size(0);
  const int64_t k = is_training() ? config_.train_targets : config_.validation_targets;
  const int64_t count = targets_.size(0);
  torch::Tensor picks;
  if (noise.defined()) {
    require(noise.dim() == 2 && noise.size(0) == rows, ErrorKind::internal, "ACE: noise must have one row per θ");
    picks = ace_target_picks(noise, k, count);
  } else {
    picks = torch::randint(count, {rows * k}, torch::kLong);
  }
  const torch::Tensor x_t = targets_.index_select(0, picks);
  const torch::Tensor labels = distances(x.repeat_interleave(k, 0), x_t).to(theta.device());
  const torch::Tensor predicted = cost(theta.repeat_interleave(k, 0), x_t.to(theta.device()));
  return (predicted - labels).pow(2).view({rows, k}).mean(1);
}

}  // namespace simbi::estimators
