#include "simbi/nn/flows.hpp"

#include <cmath>
#include <sstream>

#include "simbi/core/error.hpp"
#include "simbi/core/text.hpp"

namespace simbi::nn {

namespace {

// How an error names a FlowConfig field: the command-line option and the config key.
std::string option(const std::string& key) {
  std::string dashed = key;
  for (char& ch : dashed)
    if (ch == '_') ch = '-';
  return (key == "type" ? std::string("--flow") : "--flow-" + dashed) + " (flow." + key + ")";
}

// Seeds of the autoregressive flows' fixed random permutations, one per layer: part of the
// architecture, so a model rebuilt from its config permutes identically.
constexpr uint64_t kPermutationSeed = 20190604;

}  // namespace

// ---------------------------------------------------------------- FlowConfig

void FlowConfig::validate() const {
  require(type == "nsf" || type == "maf", ErrorKind::invalid_argument,
          option("type") + ": unknown flow type '" + type + "' (expected nsf or maf)");
  require(transforms >= 1, ErrorKind::invalid_argument,
          option("transforms") + ": expected at least 1 transform, got " + format_number(transforms));
  require(hidden >= 1, ErrorKind::invalid_argument,
          option("hidden") + ": expected a positive width, got " + format_number(hidden));
  require(blocks >= 0, ErrorKind::invalid_argument,
          option("blocks") + ": expected 0 or more blocks, got " + format_number(blocks));
  require(bins >= 2, ErrorKind::invalid_argument,
          option("bins") + ": expected at least 2 bins, got " + format_number(bins));
  require(std::isfinite(tail_bound) && tail_bound > 0, ErrorKind::invalid_argument,
          option("tail_bound") + ": expected a positive tail bound, got " + format_number(tail_bound));
  require(conditioner == "auto" || conditioner == "coupling" || conditioner == "autoregressive",
          ErrorKind::invalid_argument,
          option("conditioner") + ": expected auto, coupling or autoregressive, got '" + conditioner + "'");
  require(!(type == "maf" && conditioner == "coupling"), ErrorKind::invalid_argument,
          option("conditioner") + ": coupling is available for --flow nsf only (maf is autoregressive)");
}

std::string FlowConfig::resolved_conditioner(int64_t theta_dim) const {
  if (type == "maf") return "autoregressive";
  if (conditioner == "auto") return theta_dim >= 2 ? "coupling" : "autoregressive";
  require(!(conditioner == "coupling" && theta_dim < 2), ErrorKind::invalid_argument,
          option("conditioner") + ": coupling needs θ of dimension at least 2, got " + format_number(theta_dim) +
              " (use autoregressive or auto)");
  return conditioner;
}

FlowConfig FlowConfig::from_json(const nlohmann::json& j) {
  require(j.is_object(), ErrorKind::format, "estimator config: 'flow' must be an object");
  FlowConfig c;
  c.type = j.value("type", c.type);
  c.transforms = j.value("transforms", c.transforms);
  c.hidden = j.value("hidden", c.hidden);
  c.blocks = j.value("blocks", c.blocks);
  c.bins = j.value("bins", c.bins);
  c.tail_bound = j.value("tail_bound", c.tail_bound);
  c.conditioner = j.value("conditioner", c.conditioner);
  c.validate();
  return c;
}

nlohmann::json FlowConfig::to_json() const {
  return {{"type", type}, {"transforms", transforms}, {"hidden", hidden},          {"blocks", blocks},
          {"bins", bins}, {"tail_bound", tail_bound}, {"conditioner", conditioner}};
}

// ---------------------------------------------------------------- ConditionalFlow

torch::Tensor standard_normal_log_prob(const torch::Tensor& z) {
  constexpr double kHalfLog2Pi = 0.91893853320467274178;
  return -0.5 * (z * z).sum(1) - kHalfLog2Pi * static_cast<double>(z.size(1));
}

ConditionalFlowImpl::ConditionalFlowImpl(const FlowConfig& config, int64_t theta_dim, int64_t context_dim)
    : config_(config), theta_dim_(theta_dim), context_dim_(context_dim) {
  config_.validate();
  require(theta_dim >= 1 && context_dim >= 0, ErrorKind::invalid_argument,
          "flow: θ dimension must be positive and context dimension non-negative");
  const std::string conditioner = config_.resolved_conditioner(theta_dim);
  const FlowConfig& c = config_;
  for (int64_t i = 0; i < c.transforms; ++i) {
    const std::string name = "transform" + std::to_string(i);
    if (c.type == "maf") {
      add(name, std::make_shared<MaskedAffineAutoregressive>(theta_dim, c.hidden, context_dim, c.blocks));
    } else if (conditioner == "coupling") {
      add(name, std::make_shared<PiecewiseRQCoupling>(PiecewiseRQCoupling::alternating_mask(theta_dim, i % 2 == 0),
                                                      c.hidden, context_dim, c.blocks, c.bins, c.tail_bound));
    } else {
      add(name, std::make_shared<MaskedPiecewiseRQAutoregressive>(theta_dim, c.hidden, context_dim, c.blocks, c.bins,
                                                                  c.tail_bound));
    }
    if (theta_dim < 2) continue;  // a 1-D linear layer or permutation adds nothing
    if (conditioner == "coupling")
      add(name + "_lu", std::make_shared<LULinear>(theta_dim));
    else
      add(name + "_permutation", std::make_shared<Permutation>(Permutation::random(theta_dim, kPermutationSeed + i)));
  }
}

void ConditionalFlowImpl::add(const std::string& name, std::shared_ptr<FlowTransform> transform) {
  transforms_.push_back(register_module(name, std::move(transform)));
}

torch::Tensor ConditionalFlowImpl::broadcast_context(const torch::Tensor& context, int64_t n) const {
  if (context_dim_ == 0) return torch::Tensor();
  if (context.dim() == 2 && context.size(0) == n && context.size(1) == context_dim_ && n != 1) return context;
  require(context.numel() == context_dim_, ErrorKind::invalid_argument,
          "flow: sampling needs one context of " + std::to_string(context_dim_) + " numbers, or one per draw [" +
              std::to_string(n) + ", " + std::to_string(context_dim_) + "]");
  return context.reshape({1, context_dim_}).expand({n, context_dim_});
}

FlowStep ConditionalFlowImpl::to_noise(const torch::Tensor& theta, const torch::Tensor& context) {
  require(theta.dim() == 2 && theta.size(1) == theta_dim_, ErrorKind::invalid_argument,
          "flow: θ must be [B, " + std::to_string(theta_dim_) + "]");
  require(
      context_dim_ == 0 || (context.dim() == 2 && context.size(0) == theta.size(0) && context.size(1) == context_dim_),
      ErrorKind::invalid_argument, "flow: context must be [B, " + std::to_string(context_dim_) + "] for θ [B, d]");
  torch::Tensor z = theta;
  torch::Tensor logabsdet = torch::zeros({theta.size(0)}, theta.options());
  for (const auto& t : transforms_) {
    FlowStep step = t->forward(z, context);
    z = step.outputs;
    logabsdet = logabsdet + step.logabsdet;
  }
  return {z, logabsdet};
}

torch::Tensor ConditionalFlowImpl::log_prob(const torch::Tensor& theta, const torch::Tensor& context) {
  const FlowStep noise = to_noise(theta, context);
  return standard_normal_log_prob(noise.outputs) + noise.logabsdet;
}

std::pair<torch::Tensor, torch::Tensor> ConditionalFlowImpl::sample_and_log_prob(int64_t n,
                                                                                 const torch::Tensor& context,
                                                                                 at::Generator& gen) {
  require(n >= 0, ErrorKind::invalid_argument, "flow: number of samples must be non-negative");
  const torch::Tensor ctx = broadcast_context(context, n);
  // The noise comes from the caller's (CPU) generator and then moves to the parameters' device and dtype.
  const torch::Tensor reference = parameters().front();
  torch::Tensor x =
      torch::randn({n, theta_dim_}, gen, torch::TensorOptions().dtype(reference.scalar_type())).to(reference.device());
  // log q(θ) = log N(z) − Σ log|det d(noise → θ)|, the sampling direction's log-dets.
  torch::Tensor log_q = standard_normal_log_prob(x);
  for (auto it = transforms_.rbegin(); it != transforms_.rend(); ++it) {
    FlowStep step = (*it)->inverse(x, ctx);
    x = step.outputs;
    log_q = log_q - step.logabsdet;
  }
  return {x, log_q};
}

torch::Tensor ConditionalFlowImpl::sample(int64_t n, const torch::Tensor& context, at::Generator& gen) {
  return sample_and_log_prob(n, context, gen).first;
}

}  // namespace simbi::nn
