#include "simbi/nn/conditioners.hpp"

#include <algorithm>
#include <string>

#include "simbi/core/error.hpp"

namespace simbi::nn {

namespace {

constexpr double kNearZeroInit = 1e-3;

void shrink(torch::nn::Linear& layer, double bound) {
  torch::NoGradGuard no_grad;
  layer->weight.uniform_(-bound, bound);
  if (layer->bias.defined()) layer->bias.uniform_(-bound, bound);
}

// Degrees of MADE's hidden units (see the class comment): they cycle through 1 … D − 1 (all 0 for
// D = 1, so that no hidden unit sees the input at all).
torch::Tensor hidden_degrees(int64_t hidden, int64_t features) {
  const int64_t max_degree = std::max<int64_t>(1, features - 1), min_degree = std::min<int64_t>(1, features - 1);
  return torch::arange(hidden, torch::kLong).remainder(max_degree) + min_degree;
}

// mask[o, i] = 1 where unit o may see unit i: degree(o) ≥ degree(i), or > for the output layer.
torch::Tensor degree_mask(const torch::Tensor& out_degrees, const torch::Tensor& in_degrees, bool strict) {
  const torch::Tensor o = out_degrees.unsqueeze(1), i = in_degrees.unsqueeze(0);
  return (strict ? o > i : o >= i).to(torch::kFloat);
}

}  // namespace

MaskedLinearImpl::MaskedLinearImpl(const torch::Tensor& mask) {
  linear_ = register_module("linear", torch::nn::Linear(mask.size(1), mask.size(0)));
  mask_ = register_buffer("mask", mask.to(torch::kFloat).clone());
}

torch::Tensor MaskedLinearImpl::forward(const torch::Tensor& input) {
  return torch::nn::functional::linear(input, linear_->weight * mask_, linear_->bias);
}

void MaskedLinearImpl::shrink_initialisation(double bound) { shrink(linear_, bound); }

MadeImpl::MadeImpl(int64_t features, int64_t hidden, int64_t context_features, int64_t blocks, int64_t multiplier)
    : features_(features), hidden_(hidden), multiplier_(multiplier) {
  require(features >= 1 && hidden >= 1 && multiplier >= 1 && blocks >= 0 && context_features >= 0,
          ErrorKind::invalid_argument, "MADE: features, hidden width and multiplier must be positive");
  const torch::Tensor input_deg = torch::arange(1, features + 1, torch::kLong);
  const torch::Tensor hidden_deg = hidden_degrees(hidden, features);
  const torch::Tensor output_deg = input_deg.repeat_interleave(multiplier);  // output i·M + m ↔ feature i
  input_ = register_module("input", MaskedLinear(degree_mask(hidden_deg, input_deg, false)));
  if (context_features > 0) context_ = register_module("context", torch::nn::Linear(context_features, hidden));
  for (int64_t b = 0; b < blocks; ++b) {
    const std::string name = "block" + std::to_string(b);
    auto first = register_module(name + "_1", MaskedLinear(degree_mask(hidden_deg, hidden_deg, false)));
    auto second = register_module(name + "_2", MaskedLinear(degree_mask(hidden_deg, hidden_deg, false)));
    second->shrink_initialisation(kNearZeroInit);
    blocks_.emplace_back(first, second);
  }
  output_ = register_module("output", MaskedLinear(degree_mask(output_deg, hidden_deg, true)));
}

torch::Tensor MadeImpl::forward(const torch::Tensor& inputs, const torch::Tensor& context) {
  torch::Tensor h = input_->forward(inputs);
  if (!context_.is_empty()) h = h + context_->forward(context);
  for (auto& [first, second] : blocks_) h = h + second->forward(torch::relu(first->forward(torch::relu(h))));
  return output_->forward(h).reshape({inputs.size(0), features_, multiplier_});
}

ContextResidualNetImpl::ContextResidualNetImpl(int64_t in, int64_t context_features, int64_t hidden, int64_t blocks,
                                               int64_t out)
    : hidden_(hidden), context_features_(context_features) {
  require(in + context_features >= 1 && hidden >= 1 && out >= 1 && blocks >= 0, ErrorKind::invalid_argument,
          "residual conditioner: input, hidden and output widths must be positive");
  input_ = register_module("input", torch::nn::Linear(in + context_features, hidden));
  for (int64_t b = 0; b < blocks; ++b) {
    const std::string name = "block" + std::to_string(b);
    Block block;
    block.first = register_module(name + "_1", torch::nn::Linear(hidden, hidden));
    block.second = register_module(name + "_2", torch::nn::Linear(hidden, hidden));
    shrink(block.second, kNearZeroInit);
    if (context_features > 0) block.gate = register_module(name + "_gate", torch::nn::Linear(context_features, hidden));
    blocks_.push_back(block);
  }
  output_ = register_module("output", torch::nn::Linear(hidden, out));
}

torch::Tensor ContextResidualNetImpl::forward(const torch::Tensor& inputs, const torch::Tensor& context) {
  const bool has_context = context_features_ > 0;
  torch::Tensor h = input_->forward(has_context ? torch::cat({inputs, context}, 1) : inputs);
  for (auto& block : blocks_) {
    torch::Tensor update = block.second->forward(torch::relu(block.first->forward(torch::relu(h))));
    if (has_context) update = update * torch::sigmoid(block.gate->forward(context));
    h = h + update;
  }
  return output_->forward(h);
}

}  // namespace simbi::nn
