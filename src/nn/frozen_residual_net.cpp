#include "simbi/nn/frozen_residual_net.hpp"

#include <cblas.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "simbi/core/error.hpp"

namespace simbi::nn {

namespace {

void relu(const float* x, size_t count, float* y) {
  for (size_t i = 0; i < count; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

// e^x for x in [−87, 87] (callers clamp), relative error ~1e-7: 2^n · p(r), n = round(x·log2 e),
// r = x − n·ln 2 (ln 2 split in two for exactness), p the degree-6 Taylor polynomial of e^r on |r| ≤ ln2/2.
// Branch-free and call-free so that the loop below vectorises: std::exp is a scalar libm call per
// element, and it made SiLU networks' MCMC evaluations ~2× slower than ReLU's.
inline float exp_approx(float x) {
  constexpr float kRound = 12582912.0f;  // 1.5·2^23: adding it rounds a float of magnitude < 2^22
  const float t = x * 1.44269504f + kRound;
  const float n = t - kRound;
  const float r = (x - n * 0.693145752f) - n * 1.42860677e-6f;
  const float p =
      1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;  // 2^n
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// SiLU x·σ(x) = x / (1 + e^−x); beyond |x| = 80, e^−x is clamped (σ is 0 or 1 to float precision there).
// NaN stays NaN (the selects keep it, and exp_approx's polynomial of NaN is NaN), as torch::silu, so a
// broken network still reads as a NaN potential (docs/ace.md).
// The clamp is written as selects and this file is built with -fno-trapping-math (CMakeLists.txt), which
// lets GCC turn them into min/max instructions and vectorise the loop (1.3 vs 2.0 ns per element with
// std::exp, measured with SSE2).
void silu(const float* x, size_t count, float* y) {
  for (size_t i = 0; i < count; ++i) {
    const float v = x[i];
    float m = -v;
    m = m < -80.0f ? -80.0f : m;
    m = m > 80.0f ? 80.0f : m;
    y[i] = v / (1.0f + exp_approx(m));
  }
}

void activate(Activation a, const float* x, size_t count, float* y) {
  if (a == Activation::silu)
    silu(x, count, y);
  else
    relu(x, count, y);
}

}  // namespace

std::vector<float> to_floats(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

FrozenResidualNet::Layer FrozenResidualNet::from_linear(const torch::nn::Linear& l) {
  Layer out;
  out.out = l->weight.size(0);
  out.in = l->weight.size(1);
  out.weight_t = to_floats(l->weight.t());
  out.bias = l->bias.defined() ? to_floats(l->bias) : std::vector<float>(static_cast<size_t>(out.out), 0.0f);
  return out;
}

FrozenResidualNet::FrozenResidualNet(const ResidualNet& net, const torch::Tensor& shift, const torch::Tensor& scale,
                                     const torch::Tensor& constant_tail)
    : activation_(net->activation()) {
  torch::NoGradGuard no_grad;
  const torch::nn::Linear& first = net->input_layer();
  const int64_t inputs = first->weight.size(1);
  in_ = shift.numel();
  require(scale.numel() == in_ && in_ + constant_tail.numel() == inputs, ErrorKind::invalid_argument,
          "FrozenResidualNet: " + std::to_string(in_) + " varying + " + std::to_string(constant_tail.numel()) +
              " constant inputs for a network of " + std::to_string(inputs));
  // First layer on [(v − shift)/scale, c]: W_v/scale · v + (b + W_c·c − (W_v/scale)·shift), in double.
  const torch::Tensor w = first->weight.detach().to(torch::kCPU, torch::kDouble);
  const torch::Tensor wv = w.slice(1, 0, in_) / scale.to(torch::kCPU, torch::kDouble).reshape({1, in_});
  torch::Tensor b = first->bias.detach().to(torch::kCPU, torch::kDouble) -
                    wv.matmul(shift.to(torch::kCPU, torch::kDouble).reshape({in_}));
  if (constant_tail.numel() > 0)
    b = b + w.slice(1, in_, inputs).matmul(constant_tail.detach().to(torch::kCPU, torch::kDouble).reshape({-1}));
  input_.in = in_;
  input_.out = width_ = w.size(0);
  input_.weight_t = to_floats(wv.t());
  input_.bias = to_floats(b);
  for (const auto& [l1, l2] : net->blocks()) blocks_.emplace_back(from_linear(l1), from_linear(l2));
  output_ = from_linear(net->output_layer());
  out_ = output_.out;
}

void FrozenResidualNet::apply(const Layer& l, const float* x, int64_t n, float* y, bool accumulate) {
  const size_t o = static_cast<size_t>(l.out);
  for (int64_t r = 0; r < n; ++r) {
    float* row = y + static_cast<size_t>(r) * o;
    if (accumulate)
      for (size_t j = 0; j < o; ++j) row[j] += l.bias[j];
    else
      std::copy(l.bias.begin(), l.bias.end(), row);
  }
  if (l.out == 1)  // the cost head: a matrix-vector product
    cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(n), static_cast<int>(l.in), 1.0f, x,
                static_cast<int>(l.in), l.weight_t.data(), 1, 1.0f, y, 1);
  else
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(n), static_cast<int>(l.out),
                static_cast<int>(l.in), 1.0f, x, static_cast<int>(l.in), l.weight_t.data(), static_cast<int>(l.out),
                1.0f, y, static_cast<int>(l.out));
}

void FrozenResidualNet::forward(const float* v, int64_t n, float* out) {
  // Large batches (MCMC initialisation: 65,536 rows) in blocks whose activations stay in cache.
  constexpr int64_t kBlockRows = 256;
  for (int64_t start = 0; start < n; start += kBlockRows) {
    const int64_t rows = std::min(kBlockRows, n - start);
    forward_block(v + static_cast<size_t>(start * in_), rows, out + static_cast<size_t>(start * out_));
  }
}

void FrozenResidualNet::forward_block(const float* v, int64_t n, float* out) {
  const size_t cells = static_cast<size_t>(n) * static_cast<size_t>(width_);
  if (h_.size() < cells) {
    h_.resize(cells);
    a_.resize(cells);
    b_.resize(cells);
  }
  apply(input_, v, n, h_.data(), false);
  for (const auto& [l1, l2] : blocks_) {  // h += L2(act(L1(act(h))))
    activate(activation_, h_.data(), cells, a_.data());
    apply(l1, a_.data(), n, b_.data(), false);
    activate(activation_, b_.data(), cells, b_.data());
    apply(l2, b_.data(), n, h_.data(), true);
  }
  apply(output_, h_.data(), n, out, false);
}

}  // namespace simbi::nn
