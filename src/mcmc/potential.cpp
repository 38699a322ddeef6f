#include "simbi/mcmc/potential.hpp"

#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "simbi/core/error.hpp"

namespace simbi::mcmc {

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

class FunctionPotential final : public Potential {
 public:
  FunctionPotential(PotentialFn fn, c10::ScalarType dtype, int64_t dim)
      : fn_(std::move(fn)), dtype_(dtype), dim_(dim) {}
  at::Tensor log_prob(const at::Tensor& theta) override { return fn_(theta); }
  c10::ScalarType dtype() const override { return dtype_; }
  int64_t dim() const override { return dim_; }

 private:
  PotentialFn fn_;
  c10::ScalarType dtype_;
  int64_t dim_;
};

std::string shape_of(const at::Tensor& t) {
  std::ostringstream os;
  os << "[";
  for (int64_t i = 0; i < t.dim(); ++i) os << (i ? ", " : "") << t.size(i);
  os << "]";
  return os.str();
}

}  // namespace

std::unique_ptr<Potential> make_potential(PotentialFn fn, c10::ScalarType dtype, int64_t dim) {
  require(static_cast<bool>(fn), ErrorKind::invalid_argument, "make_potential: empty function");
  require(dtype == torch::kFloat32 || dtype == torch::kFloat64, ErrorKind::invalid_argument,
          "make_potential: θ dtype must be float32 or float64");
  return std::make_unique<FunctionPotential>(std::move(fn), dtype, dim);
}

void Potential::evaluate(const float* theta, int64_t n, int64_t d, double* out) {
  torch::NoGradGuard no_grad;
  // A copy: the potential may keep or modify its input.
  at::Tensor t = torch::from_blob(const_cast<float*>(theta), {n, d}, torch::kFloat32).to(dtype(), false, true);
  at::Tensor r = log_prob(t);
  require(
      r.defined() && r.numel() == n && (r.dim() == 1 || (r.dim() == 2 && r.size(1) == 1)), ErrorKind::invalid_argument,
      "MCMC: the potential returned " + (r.defined() ? "a tensor of shape " + shape_of(r) : std::string("nothing")) +
          " for " + std::to_string(n) + " θ rows; expected shape [" + std::to_string(n) + "]");
  require(r.is_floating_point(), ErrorKind::invalid_argument, "MCMC: the potential must return floating-point values");
  r = r.reshape({n}).to(torch::kCPU, torch::kFloat64).contiguous();  // a network may answer on a GPU
  std::copy_n(r.data_ptr<double>(), n, out);
}

UnconstrainedTarget::UnconstrainedTarget(const sim::Prior& prior, Potential* potential)
    : prior_(prior), potential_(potential), dim_(prior.dim()) {
  if (potential_) {
    const int64_t pd = potential_->dim();
    require(
        pd < 0 || pd == dim_, ErrorKind::invalid_argument,
        "MCMC: the potential is over " + std::to_string(pd) + " parameters but the prior over " + std::to_string(dim_));
    const auto dt = potential_->dtype();
    require(dt == torch::kFloat32 || dt == torch::kFloat64, ErrorKind::invalid_argument,
            "MCMC: a potential must take θ as float32 or float64");
  }
}

void UnconstrainedTarget::potential_at(const float* theta, int64_t n, double* out) {
  if (n <= 0) return;
  if (!potential_) {
    std::fill(out, out + n, 0.0);
    return;
  }
  potential_->evaluate(theta, n, dim_, out);
  ++counters_.calls;
  counters_.rows += n;
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(out[i]) || out[i] == std::numeric_limits<double>::infinity()) {
      out[i] = kNegInf;
      ++counters_.nonfinite;
    }
  }
}

void UnconstrainedTarget::log_prob(const double* u, int64_t n, double* out) {
  if (n <= 0) return;
  const size_t d = static_cast<size_t>(dim_);
  theta_buf_.resize(static_cast<size_t>(n) * d);
  logdet_buf_.resize(static_cast<size_t>(n));
  prior_buf_.resize(static_cast<size_t>(n));
  inside_.clear();
  for (int64_t i = 0; i < n; ++i) {
    float* th = theta_buf_.data() + static_cast<size_t>(i) * d;
    logdet_buf_[i] = prior_.from_unconstrained(u + static_cast<size_t>(i) * d, th);
    const double lp = prior_.log_prob_one(th);
    prior_buf_[i] = lp;
    out[i] = kNegInf;
    if (lp > kNegInf && std::isfinite(logdet_buf_[i])) inside_.push_back(i);
  }
  if (inside_.empty()) return;
  const int64_t m = static_cast<int64_t>(inside_.size());
  term_buf_.resize(static_cast<size_t>(m));
  if (potential_) {
    // Compact the rows inside the support in place (inside_ is increasing, so rows only move up).
    for (int64_t k = 0; k < m; ++k)
      if (inside_[k] != k)
        std::copy_n(theta_buf_.data() + static_cast<size_t>(inside_[k]) * d, d,
                    theta_buf_.data() + static_cast<size_t>(k) * d);
    potential_at(theta_buf_.data(), m, term_buf_.data());
  } else {
    std::fill(term_buf_.begin(), term_buf_.end(), 0.0);
  }
  for (int64_t k = 0; k < m; ++k) {
    const int64_t i = inside_[k];
    const double v = prior_buf_[i] + logdet_buf_[i] + term_buf_[k];
    out[i] = std::isnan(v) ? kNegInf : v;
  }
}

at::Tensor UnconstrainedTarget::log_prob(const at::Tensor& u) {
  require(u.dim() == 2 && u.size(1) == dim_, ErrorKind::invalid_argument,
          "MCMC: u must have shape [n, " + std::to_string(dim_) + "], got " + shape_of(u));
  const at::Tensor ud = u.to(torch::kFloat64).contiguous();
  at::Tensor out = torch::empty({u.size(0)}, torch::kFloat64);
  log_prob(ud.data_ptr<double>(), u.size(0), out.data_ptr<double>());
  return out;
}

void UnconstrainedTarget::to_theta(const double* u, int64_t n, float* theta) const {
  for (int64_t i = 0; i < n; ++i) prior_.from_unconstrained(u + i * dim_, theta + i * dim_);
}

void UnconstrainedTarget::to_unconstrained(const float* theta, int64_t n, double* u) const {
  for (int64_t i = 0; i < n; ++i) prior_.to_unconstrained(theta + i * dim_, u + i * dim_);
}

}  // namespace simbi::mcmc
