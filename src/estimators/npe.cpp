#include "simbi/estimators/npe.hpp"

#include <cmath>
#include <limits>
#include <vector>

#include "simbi/core/error.hpp"

namespace simbi::estimators {

NpeConfig NpeConfig::from_json(const nlohmann::json& j) {
  NpeConfig c;
  read_config_dims(j, c.theta_dim, c.x_dim);
  if (j.contains("flow")) c.flow = nn::FlowConfig::from_json(j["flow"]);
  if (j.contains("embedding_hidden")) {
    require(j["embedding_hidden"].is_array(), ErrorKind::format,
            "estimator config: 'embedding_hidden' must be a list of widths");
    for (const auto& w : j["embedding_hidden"]) {
      require(w.is_number_integer() && w.get<int64_t>() > 0, ErrorKind::format,
              "estimator config: 'embedding_hidden' must contain positive integers");
      c.embedding_hidden.push_back(w.get<int64_t>());
    }
  }
  c.embedding_dim = j.value("embedding_dim", int64_t{0});
  require(c.embedding_dim >= 0, ErrorKind::invalid_argument, "--embedding-dim must be 0 (no embedding) or positive");
  require(c.embedding_hidden.empty() || c.embedding_dim > 0, ErrorKind::invalid_argument,
          "--embedding-hidden needs --embedding-dim > 0 (the embedding's output width)");
  c.support_prior = j.value("support_prior", nlohmann::json());
  c.flow.resolved_conditioner(c.theta_dim);  // coupling on 1-D θ fails here, at configuration time
  return c;
}

nlohmann::json NpeConfig::to_json() const {
  return {{"method", "npe"},
          {"theta_dim", theta_dim},
          {"x_dim", x_dim},
          {"flow", flow.to_json()},
          {"embedding_hidden", embedding_hidden},
          {"embedding_dim", embedding_dim},
          {"support_prior", support_prior}};
}

Npe::Npe(const NpeConfig& config) : config_(config) {
  require(config_.theta_dim > 0 && config_.x_dim > 0, ErrorKind::invalid_argument, "NPE: dimensions must be positive");
  theta_z_ = register_module("theta_zscore", nn::ZScore(config_.theta_dim));
  x_z_ = register_module("x_zscore", nn::ZScore(config_.x_dim));
  if (config_.embedding_dim > 0)
    embedding_ = register_module("embedding", nn::Mlp(config_.x_dim, config_.embedding_hidden, config_.embedding_dim));
  flow_ = register_module("flow", nn::ConditionalFlow(config_.flow, config_.theta_dim, config_.context_dim()));
  if (!config_.support_prior.is_null()) {
    support_.emplace(config_.support_prior, "NPE support_prior");
    require(support_->dim() == config_.theta_dim, ErrorKind::format,
            "NPE: the support prior has " + std::to_string(support_->dim()) + " dimensions, θ has " +
                std::to_string(config_.theta_dim));
  }
}

torch::Tensor Npe::flow_space(const torch::Tensor& theta, torch::Tensor* log_det, torch::Tensor* inside) const {
  if (!support_) return theta;
  SupportTransform::Unconstrained u = support_->to_unconstrained(theta);
  if (log_det) *log_det = u.log_det;
  if (inside) *inside = u.inside;
  return u.u;
}

void Npe::fit_standardization(const torch::Tensor& theta, const torch::Tensor& x) {
  theta_z_->fit(flow_space(theta, nullptr, nullptr));
  x_z_->fit(x);
}

torch::Tensor Npe::context(const torch::Tensor& x) {
  const torch::Tensor xz = x_z_->forward(x);
  return embedding_.is_empty() ? xz : embedding_->forward(xz);
}

torch::Tensor Npe::log_prob(const torch::Tensor& theta, const torch::Tensor& x) {
  require(theta.dim() == 2 && theta.size(1) == config_.theta_dim, ErrorKind::invalid_argument,
          "NPE: θ must be [B, " + std::to_string(config_.theta_dim) + "]");
  torch::Tensor rows = x.dim() == 1 ? x.reshape({1, -1}).expand({theta.size(0), config_.x_dim}) : x;
  require(rows.dim() == 2 && rows.size(0) == theta.size(0) && rows.size(1) == config_.x_dim,
          ErrorKind::invalid_argument,
          "NPE: x must be [" + std::to_string(config_.x_dim) + "] or [B, dx] for θ [B, dθ]");
  // q(θ | x) = q_z(z(θ) | x) / Π std_θ: the z-scoring's log-det turns the flow's density into one in θ's units.
  // With a support transform the flow is on u = T⁻¹(θ), and q(θ | x) = q_u(u | x) / |det ∂T/∂u|.
  torch::Tensor log_det, inside;
  const torch::Tensor v = flow_space(theta, &log_det, &inside);
  torch::Tensor lp = flow_->log_prob(theta_z_->forward(v), context(rows)) - theta_z_->log_abs_det_inverse();
  if (!support_) return lp;
  lp = lp - log_det;
  return torch::where(inside, lp, torch::full_like(lp, -std::numeric_limits<float>::infinity()));
}

void Npe::set_atomic_loss(int64_t atoms, std::shared_ptr<const sim::Prior> prior) {
  require(atoms == 0 || atoms >= 2, ErrorKind::invalid_argument,
          "--atoms must be 0 (the plain NPE loss) or at least 2, got " + std::to_string(atoms));
  require(atoms == 0 || (prior != nullptr && prior->dim() == config_.theta_dim), ErrorKind::invalid_argument,
          "--atoms: the atomic loss needs the prior of the training data (the store records none)");
  atoms_ = atoms;
  prior_ = std::move(prior);
}

torch::Tensor Npe::loss_with_noise(const torch::Tensor& theta, const torch::Tensor& x, const torch::Tensor& noise) {
  if (atoms_ == 0) return loss(theta, x);
  // The batch the atoms come from: the global one in training (collective: every rank gathers, rows or
  // not), this block of rows in validation.
  const BatchExchange::Gathered g =
      exchange_ && is_training() ? exchange_->gather_rows(theta.detach()) : BatchExchange::Gathered{theta, 0};
  const int64_t b = theta.size(0), all = g.rows.size(0), k = atoms_, d = config_.theta_dim;
  if (b == 0) return torch::zeros({0}, theta.options());
  if (all < 2) return loss(theta, x);
  // Atom a of row i: index ⌊Φ(noise)·(all − 1)⌋ among the other rows of the batch.
  const torch::Tensor u = 0.5 * torch::erfc(-noise.to(torch::kDouble) / std::sqrt(2.0));
  torch::Tensor j = (u * static_cast<double>(all - 1)).floor().clamp(0, static_cast<double>(all - 2)).to(torch::kLong);
  const torch::Tensor self = (torch::arange(b, j.options()) + g.offset).unsqueeze(1);
  j = j + (j >= self).to(torch::kLong);
  const torch::Tensor atoms =
      g.rows.detach().index_select(0, j.reshape({-1}).to(g.rows.device())).reshape({b, k - 1, d});
  const torch::Tensor thetas = torch::cat({theta.unsqueeze(1), atoms}, 1).reshape({b * k, d});
  const torch::Tensor xs = x.unsqueeze(1).expand({b, k, x.size(1)}).reshape({b * k, x.size(1)});
  const torch::Tensor lq = log_prob(thetas, xs).reshape({b, k});
  // log p(θ_k): constants of the loss (the prior has no parameters).
  const torch::Tensor cpu = thetas.detach().to(torch::kCPU, torch::kFloat).contiguous();
  std::vector<float> lp(static_cast<size_t>(b * k));
  for (int64_t r = 0; r < b * k; ++r)
    lp[static_cast<size_t>(r)] = static_cast<float>(prior_->log_prob_one(cpu.data_ptr<float>() + r * d));
  const torch::Tensor log_prior = torch::from_blob(lp.data(), {b, k}, torch::kFloat).clone().to(lq.device());
  // An atom outside the prior's support (log p = −inf) cannot have come from a proposal: left out.
  torch::Tensor logits = lq - log_prior;
  logits =
      torch::where(torch::isinf(log_prior), torch::full_like(logits, -std::numeric_limits<float>::infinity()), logits);
  return -(logits.select(1, 0) - torch::logsumexp(logits, 1));
}

torch::Tensor Npe::sample_posterior(const torch::Tensor& x_o, int64_t n, at::Generator& gen) {
  torch::NoGradGuard no_grad;
  require(x_o.numel() == config_.x_dim, ErrorKind::invalid_argument,
          "NPE: the observation must have " + std::to_string(config_.x_dim) + " numbers");
  const torch::Tensor ctx = context(x_o.reshape({1, config_.x_dim}).to(x_z_->mean().device()));
  const torch::Tensor v = theta_z_->inverse(flow_->sample(n, ctx, gen));
  return support_ ? support_->from_unconstrained(v) : v;
}

}  // namespace simbi::estimators
