#include "simbi/estimators/ace.hpp"

#include <cblas.h>

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

CostHead parse_cost_head(const std::string& name, const std::string& what) {
  if (name == "network") return CostHead::network;
  if (name == "moments") return CostHead::moments;
  throw Error(ErrorKind::invalid_argument, what + ": expected network or moments, got '" + name + "'");
}

const char* cost_head_name(CostHead head) { return head == CostHead::network ? "network" : "moments"; }

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
  c.head = parse_cost_head(j.value("head", std::string("network")), "ACE config: 'head'");
  // The moments head's cost is E‖x − x_o‖²/D: right for the mse distance only.
  const std::string distance_name = c.distance.value("name", std::string());
  require(c.head == CostHead::network || (distance_name == "mse" && c.set_trials == 0), ErrorKind::invalid_argument,
          "ACE config: 'head' = moments needs the mse distance on vector x, got the " + distance_name + " distance" +
              (c.set_trials > 0 ? " on set-valued x" : ""));
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
          {"head", cost_head_name(head)},
          {"set_trials", set_trials},
          {"distance", distance},
          {"train_targets", train_targets},
          {"validation_targets", validation_targets},
          {"noise_targets", noise_targets}};
}

Ace::Ace(const AceConfig& config) : config_(config), distance_(sim::distance_from_json(config.distance)) {
  theta_z_ = register_module("theta_zscore", nn::ZScore(config.theta_dim));
  x_z_ = register_module("x_zscore", nn::ZScore(config.x_dim));
  if (config.head == CostHead::moments) {  // θ → [μ(θ) z-scored, h]
    net_ = register_module(
        "net", nn::ResidualNet(config.theta_dim, config.width, config.blocks, config.x_dim + 1, config.activation));
    linear_mean_ = register_buffer("linear_mean", torch::zeros({config.theta_dim + 1, config.x_dim}));
  } else {  // [θ, x_t] → h
    int64_t x_features = config.x_dim;
    if (config.set_trials > 0) {
      embedding_ = register_module("embedding", nn::SetEmbedding(config.set_trials, config.x_dim / config.set_trials));
      x_features = nn::SetEmbeddingImpl::kOut;
    }
    net_ = register_module(
        "net", nn::ResidualNet(config.theta_dim + x_features, config.width, config.blocks, 1, config.activation));
  }
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
  if (config_.head == CostHead::moments) {
    // z_x ≈ [z_θ, 1]·W by least squares (in double; the normal equations of a dθ + 1 column design).
    torch::NoGradGuard no_grad;
    const torch::Tensor zt = theta_z_->forward(theta).to(torch::kCPU, torch::kDouble);
    const torch::Tensor design = torch::cat({zt, torch::ones({zt.size(0), 1}, zt.options())}, 1);
    const torch::Tensor zx = x_z_->forward(x).to(torch::kCPU, torch::kDouble);
    const torch::Tensor gram =
        design.t().matmul(design) + 1e-8 * static_cast<double>(zt.size(0)) * torch::eye(design.size(1), zt.options());
    const torch::Tensor w = torch::linalg_solve(gram, design.t().matmul(zx));
    linear_mean_.copy_(w.to(linear_mean_.device(), torch::kFloat));
  }
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

torch::Tensor Ace::scaled_output(const torch::Tensor& h) const {
  return (config_.output == CostOutput::linear ? h : torch::nn::functional::softplus(h)) * distance_scale_;
}

std::pair<torch::Tensor, torch::Tensor> Ace::moments(const torch::Tensor& theta) {
  const torch::Tensor zt = theta_z_->forward(theta);
  const torch::Tensor out = net_->forward(kMomentsInputBound * torch::tanh(zt / kMomentsInputBound));
  const int64_t dt = config_.theta_dim, dx = config_.x_dim;
  const torch::Tensor linear = zt.matmul(linear_mean_.slice(0, 0, dt)) + linear_mean_.select(0, dt);
  return {linear + out.slice(1, 0, dx), out.select(1, dx)};
}

torch::Tensor Ace::cost(const torch::Tensor& theta, const torch::Tensor& x_t) {
  const torch::Tensor xt = x_t.dim() == 1 ? x_t.unsqueeze(0).expand({theta.size(0), config_.x_dim}) : x_t;
  if (config_.head == CostHead::moments) {
    const auto [mean_z, h] = moments(theta);
    return (x_z_->inverse(mean_z) - xt).pow(2).mean(1) + scaled_output(h);
  }
  torch::Tensor xz = x_z_->forward(xt);
  if (embedding_) xz = embedding_->forward(xz);
  return scaled_output(net_->forward(torch::cat({theta_z_->forward(theta), xz}, 1)).squeeze(1));
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
  if (config_.head == CostHead::moments) {
    // z_θ·W_θ + w_1 = θ·(W_θ / std_θ) + (w_1 − (mean_θ / std_θ)·W_θ) for θ in original units; the
    // intercept goes into the per-dimension offset.
    const int64_t dt = config_.theta_dim;
    const auto host = [](const torch::Tensor& t) { return t.to(torch::kCPU, torch::kDouble); };
    const torch::Tensor mean_t = host(theta_z_->mean()).reshape({dt, 1});
    const torch::Tensor std_t = host(theta_z_->std()).reshape({dt, 1});
    const torch::Tensor w = host(linear_mean_);
    const torch::Tensor slope = w.slice(0, 0, dt) / std_t;
    const torch::Tensor intercept = w.select(0, dt) - (mean_t * slope).sum(0);
    const torch::Tensor offset =
        host(x_z_->mean()) + host(x_z_->std()) * intercept - host(x_o).reshape({config_.x_dim});
    FrozenAceCost::Moments moments{nn::to_floats(offset), nn::to_floats(x_z_->std()), nn::to_floats(slope),
                                   nn::to_floats(theta_z_->mean()), nn::to_floats(theta_z_->std())};
    // The network's input is squashed z-scored θ, computed by FrozenAceCost: no standardisation to fold.
    return FrozenAceCost(nn::FrozenResidualNet(net_, torch::zeros({dt}), torch::ones({dt}), torch::empty({0})),
                         distance_scale(), config_.output, std::move(moments));
  }
  const torch::Tensor row = x_o.reshape({1, config_.x_dim}).to(distance_scale_.device(), torch::kFloat);
  torch::Tensor xz = x_z_->forward(row);
  if (embedding_) xz = embedding_->forward(xz);
  return FrozenAceCost(nn::FrozenResidualNet(net_, theta_z_->mean(), theta_z_->std(), xz.reshape({-1})),
                       distance_scale(), config_.output);
}

// m̄·h or m̄·softplus(h), as Ace::cost (softplus(h) = h beyond 20, as torch's threshold).
float FrozenAceCost::scaled_output(float h) const {
  const float scale = static_cast<float>(distance_scale_);
  if (output_ == CostOutput::linear) return h * scale;
  return (h > 20.0f ? h : std::log1p(std::exp(h))) * scale;
}

void FrozenAceCost::cost(const float* theta, int64_t n, float* costs) {
  if (moments_.offset.empty()) {
    net_.forward(theta, n, costs);
    for (int64_t i = 0; i < n; ++i) costs[i] = scaled_output(costs[i]);
    return;
  }
  // ĉ = mean_j (offset_j + scale_j·(θ·slope + r)_j)² + m̄·out(h) for the network's row [r, h].
  const size_t d = moments_.offset.size();
  const int dt = static_cast<int>(net_.in_dim()), ld = static_cast<int>(d + 1);
  const float bound = static_cast<float>(kMomentsInputBound);
  squashed_.resize(static_cast<size_t>(n) * static_cast<size_t>(dt));
  for (size_t i = 0; i < squashed_.size(); ++i) {
    const size_t k = i % static_cast<size_t>(dt);
    squashed_[i] = bound * std::tanh((theta[i] - moments_.theta_shift[k]) / moments_.theta_scale[k] / bound);
  }
  out_.resize(static_cast<size_t>(n) * (d + 1));
  net_.forward(squashed_.data(), n, out_.data());
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(n), static_cast<int>(d), dt, 1.0f, theta, dt,
              moments_.slope.data(), static_cast<int>(d), 1.0f, out_.data(), ld);
  for (int64_t i = 0; i < n; ++i) {
    const float* row = out_.data() + static_cast<size_t>(i) * (d + 1);
    float sum = 0.0f;
    for (size_t j = 0; j < d; ++j) {
      const float e = moments_.offset[j] + moments_.scale[j] * row[j];
      sum += e * e;
    }
    costs[i] = sum / static_cast<float>(d) + scaled_output(row[d]);
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
