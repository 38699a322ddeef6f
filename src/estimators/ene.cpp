#include "simbi/estimators/ene.hpp"

#include <algorithm>
#include <cmath>

#include "simbi/core/error.hpp"

namespace simbi::estimators {

namespace {

namespace F = torch::nn::functional;

// Validation rows are scored in blocks of at most this many (a [block, block] similarity matrix each).
constexpr int64_t kValidationBlock = 1024;

void check(bool ok, const std::string& what) { require(ok, ErrorKind::invalid_argument, "E&E config: " + what); }

torch::Tensor unit(const torch::Tensor& v) { return F::normalize(v, F::NormalizeFuncOptions().p(2).dim(1).eps(1e-12)); }

std::vector<int64_t> widths(const nlohmann::json& j, const char* key, std::vector<int64_t> fallback) {
  if (!j.contains(key)) return fallback;
  std::vector<int64_t> w = j[key].get<std::vector<int64_t>>();
  for (int64_t v : w) check(v > 0, std::string("'") + key + "' widths must be positive");
  return w;
}

}  // namespace

EneConfig EneConfig::from_json(const nlohmann::json& j) {
  EneConfig c;
  read_config_dims(j, c.theta_dim, c.x_dim);
  c.embed_dim = j.value("embed_dim", c.embed_dim);
  check(c.embed_dim > 0, "the embedding dimension (--embed-dim) must be positive, got " + std::to_string(c.embed_dim));
  c.tau = j.value("tau", c.tau);
  check(std::isfinite(c.tau) && c.tau > 0, "the temperature tau (--tau) must be a positive number, got " +
                                               std::to_string(c.tau));
  c.encoder = j.value("encoder", c.encoder);
  check(c.encoder == "mlp" || c.encoder == "conv", "encoder must be mlp or conv, got '" + c.encoder + "'");
  c.encoder_hidden = widths(j, "encoder_hidden", c.encoder_hidden);
  c.conv_channels = widths(j, "conv_channels", c.conv_channels);
  c.series_channels = j.value("series_channels", c.series_channels);
  c.crop = j.value("crop", c.crop);
  c.test_windows = j.value("test_windows", c.test_windows);
  if (c.encoder == "conv") {
    check(c.series_channels > 0 && c.x_dim % c.series_channels == 0,
          "a conv encoder reads x as [channels, time]: series_channels = " + std::to_string(c.series_channels) +
              " must be positive and divide the store's x dimension " + std::to_string(c.x_dim));
    check(c.crop >= 0 && c.crop <= c.series_length(),
          "crop = " + std::to_string(c.crop) + " must be between 0 (whole series) and the series length " +
              std::to_string(c.series_length()) + " (x " + std::to_string(c.x_dim) + " = " +
              std::to_string(c.series_channels) + " channels x " + std::to_string(c.series_length()) + " steps)");
    check(c.test_windows >= 1, "test_windows must be at least 1");
  } else {
    check(c.series_channels == 0 && c.crop == 0, "series_channels and crop are for encoder = conv");
  }
  c.emulator_width = j.value("emulator_width", c.emulator_width);
  c.emulator_blocks = j.value("emulator_blocks", c.emulator_blocks);
  check(c.emulator_width > 0 && c.emulator_blocks >= 0, "emulator_width must be positive and emulator_blocks >= 0");
  c.intra_weight = j.value("intra_weight", c.intra_weight);
  c.jitter = j.value("jitter", c.jitter);
  check(c.intra_weight >= 0 && c.jitter >= 0, "intra_weight and jitter must be >= 0");
  c.memory_bank = j.value("memory_bank", c.memory_bank);
  check(c.memory_bank >= 0, "memory_bank must be >= 0");
  c.ensemble = j.value("ensemble", c.ensemble);  // model files before ensembles: one critic
  check(c.ensemble >= 1, "the ensemble size (--ensemble) must be at least 1, got " + std::to_string(c.ensemble));
  c.theta_fourier = j.value("theta_fourier", c.theta_fourier);  // model files before Fourier features: off
  c.x_fourier = j.value("x_fourier", c.x_fourier);
  c.fourier_scale = j.value("fourier_scale", c.fourier_scale);
  check(c.theta_fourier >= 0 && c.x_fourier >= 0,
        "the Fourier feature counts (--theta-fourier, --x-fourier) must be >= 0, got " +
            std::to_string(c.theta_fourier) + " and " + std::to_string(c.x_fourier));
  check(
      std::isfinite(c.fourier_scale) && c.fourier_scale > 0,
      "the Fourier feature scale (--fourier-scale) must be a positive number, got " + std::to_string(c.fourier_scale));
  check(c.x_fourier == 0 || c.encoder == "mlp", "x_fourier (--x-fourier) is for encoder = mlp");
  return c;
}

nlohmann::json EneConfig::to_json() const {
  return {{"method", "ene"},
          {"theta_dim", theta_dim},
          {"x_dim", x_dim},
          {"embed_dim", embed_dim},
          {"tau", tau},
          {"encoder", encoder},
          {"encoder_hidden", encoder_hidden},
          {"series_channels", series_channels},
          {"conv_channels", conv_channels},
          {"crop", crop},
          {"test_windows", test_windows},
          {"emulator_width", emulator_width},
          {"emulator_blocks", emulator_blocks},
          {"intra_weight", intra_weight},
          {"jitter", jitter},
          {"memory_bank", memory_bank},
          {"ensemble", ensemble},
          {"theta_fourier", theta_fourier},
          {"x_fourier", x_fourier},
          {"fourier_scale", fourier_scale}};
}

Ene::Ene(const EneConfig& config) : config_(config) {
  theta_z_ = register_module("theta_zscore", nn::ZScore(config.theta_dim));
  x_z_ = register_module("x_zscore", nn::ZScore(conv() ? config.series_channels : config.x_dim));
  for (int64_t k = 0; k < config.ensemble; ++k) {
    // Member 0 keeps a single model's parameter names, so model files from before ensembles load as K = 1.
    const std::string suffix = k == 0 ? "" : "_" + std::to_string(k);
    Member m;
    // Each member its own frequencies (a fixed seed per member: the same on every rank).
    const uint64_t frequency_seed = 0x5eed0000ULL + 2 * static_cast<uint64_t>(k);
    int64_t x_in = config.x_dim, theta_in = config.theta_dim;
    if (config.x_fourier > 0) {
      m.x_features = register_module("x_fourier" + suffix, nn::FourierFeatures(config.x_dim, config.x_fourier,
                                                                               config.fourier_scale, frequency_seed));
      x_in = m.x_features->out_dim();
    }
    if (config.theta_fourier > 0) {
      m.theta_features = register_module(
          "theta_fourier" + suffix,
          nn::FourierFeatures(config.theta_dim, config.theta_fourier, config.fourier_scale, frequency_seed + 1));
      theta_in = m.theta_features->out_dim();
    }
    if (conv())
      m.conv_encoder = register_module("encoder" + suffix, nn::ConvEncoder(config.series_channels, config.conv_channels,
                                                                           2 * config.embed_dim, config.embed_dim));
    else
      m.mlp_encoder = register_module("encoder" + suffix, nn::Mlp(x_in, config.encoder_hidden, config.embed_dim));
    m.emulator = register_module("emulator" + suffix, nn::ResidualNet(theta_in, config.emulator_width,
                                                                      config.emulator_blocks, config.embed_dim));
    members_.push_back(std::move(m));
  }
}

int64_t Ene::noise_dim() const {
  if (config_.intra_weight <= 0) return config_.encoder == "conv" ? 1 : 0;
  // Two crop offsets (conv) or the x jitter (mlp), then the θ jitter.
  return (config_.encoder == "conv" ? 2 : config_.x_dim) + config_.theta_dim;
}

void Ene::fit_standardization(const torch::Tensor& theta, const torch::Tensor& x) {
  theta_z_->fit(theta);
  if (conv()) {
    // Per channel over all time steps: the statistics of a stationary series do not depend on the window.
    const int64_t c = config_.series_channels;
    x_z_->fit(x.reshape({x.size(0), c, -1}).permute({0, 2, 1}).reshape({-1, c}));
  } else {
    x_z_->fit(x);
  }
}

torch::Tensor Ene::zscore_x(const torch::Tensor& x) const {
  if (!conv()) return x_z_->forward(x);
  const int64_t c = config_.series_channels;
  return (x.reshape({x.size(0), c, -1}) - x_z_->mean().view({1, c, 1})) / x_z_->std().view({1, c, 1});
}

torch::Tensor Ene::emulate(Member& m, const torch::Tensor& theta_z) {
  return unit(m.emulator->forward(m.theta_features ? m.theta_features->forward(theta_z) : theta_z));
}

torch::Tensor Ene::concat_members(const std::vector<torch::Tensor>& parts) const {
  if (parts.size() == 1) return parts.front();
  return torch::cat(parts, 1) / std::sqrt(static_cast<double>(parts.size()));
}

torch::Tensor Ene::crop_offsets(const torch::Tensor& noise_column) const {
  const int64_t positions = config_.series_length() - config_.window() + 1;
  const torch::Tensor u = 0.5 * torch::erfc(-noise_column.to(torch::kCPU, torch::kDouble) / std::sqrt(2.0));
  return (u * static_cast<double>(positions)).floor().clamp(0, static_cast<double>(positions - 1)).to(torch::kLong);
}

torch::Tensor Ene::encode_windows(Member& m, const torch::Tensor& xz, const torch::Tensor& offsets) {
  if (m.mlp_encoder) return unit(m.mlp_encoder->forward(m.x_features ? m.x_features->forward(xz) : xz));
  const int64_t w = config_.window();
  if (w == config_.series_length() || !offsets.defined()) return unit(m.conv_encoder->forward(xz));
  const int64_t n = xz.size(0), c = xz.size(1);
  const torch::Tensor idx = (offsets.to(xz.device()).view({n, 1, 1}) +
                             torch::arange(w, torch::TensorOptions().dtype(torch::kLong).device(xz.device())).view({1, 1, w}))
                                .expand({n, c, w});
  return unit(m.conv_encoder->forward(xz.gather(2, idx)));
}

torch::Tensor Ene::embed_x(const torch::Tensor& x) {
  const torch::Tensor xz = zscore_x(x.to(theta_z_->mean().device(), torch::kFloat));
  std::vector<torch::Tensor> parts;
  for (Member& m : members_) parts.push_back(embed_x_member(m, xz));
  return concat_members(parts);
}

torch::Tensor Ene::embed_x_member(Member& m, const torch::Tensor& xz) {
  if (!conv() || config_.window() == config_.series_length()) return encode_windows(m, xz, {});
  // Test time: the mean of the unit embeddings of evenly spaced windows, back on the sphere.
  const int64_t n = xz.size(0), last = config_.series_length() - config_.window(), k = config_.test_windows;
  torch::Tensor sum;
  for (int64_t i = 0; i < k; ++i) {
    const int64_t start = k == 1 ? last / 2 : (i * last + (k - 1) / 2) / (k - 1);
    const torch::Tensor e = encode_windows(m, xz, torch::full({n}, start, torch::kLong));
    sum = sum.defined() ? sum + e : e;
  }
  return unit(sum);
}

torch::Tensor Ene::embed_theta(const torch::Tensor& theta) {
  const torch::Tensor tz = theta_z_->forward(theta.to(theta_z_->mean().device(), torch::kFloat));
  std::vector<torch::Tensor> parts;
  for (Member& m : members_) parts.push_back(emulate(m, tz));
  return concat_members(parts);
}

torch::Tensor Ene::critic(const torch::Tensor& f_o, const torch::Tensor& theta) {
  return embed_theta(theta).matmul(f_o.reshape({-1}).to(theta_z_->mean().device(), torch::kFloat)) / config_.tau;
}

torch::Tensor info_nce(const torch::Tensor& a, const torch::Tensor& b, int64_t offset, double tau,
                       const torch::Tensor& extra_negatives) {
  const torch::Tensor keys = extra_negatives.defined() && extra_negatives.size(0) > 0 ? torch::cat({b, extra_negatives}) : b;
  const torch::Tensor logits = a.matmul(keys.t()) / tau;
  const torch::Tensor target =
      torch::arange(offset, offset + a.size(0), torch::TensorOptions().dtype(torch::kLong).device(a.device()));
  return F::cross_entropy(logits, target, F::CrossEntropyFuncOptions().reduction(torch::kNone));
}

torch::Tensor Ene::loss_with_noise(const torch::Tensor& theta, const torch::Tensor& x, const torch::Tensor& noise) {
  const int64_t rows = theta.size(0);
  const double tau = config_.tau;
  if (!is_training()) {
    // Validation: the rows in blocks, each its own batch, without augmentation or the memory bank; the
    // ensemble's critic (what the posterior uses), so the best epoch is the ensemble's.
    std::vector<torch::Tensor> parts;
    for (int64_t lo = 0; lo < rows; lo += kValidationBlock) {
      const int64_t n = std::min(kValidationBlock, rows - lo);
      const torch::Tensor f = embed_x(x.narrow(0, lo, n)), g = embed_theta(theta.narrow(0, lo, n));
      parts.push_back(info_nce(f, g, 0, tau) + info_nce(g, f, 0, tau));
    }
    return parts.empty() ? torch::zeros({0}, theta.options()) : torch::cat(parts);
  }
  torch::Tensor nz = noise;
  if (!nz.defined() && noise_dim() > 0) nz = torch::randn({rows, noise_dim()}, theta.options());
  const torch::Tensor tz = theta_z_->forward(theta), xz = zscore_x(x);
  // The members' mean: each member's gradient is its own InfoNCE's (parameters are disjoint), and the
  // figure is on a single critic's scale.
  torch::Tensor loss;
  for (Member& m : members_) {
    const torch::Tensor l = member_loss(m, tz, xz, nz);
    loss = loss.defined() ? loss + l : l;
  }
  return members_.size() == 1 ? loss : loss / static_cast<double>(members_.size());
}

torch::Tensor Ene::member_loss(Member& m, const torch::Tensor& tz, const torch::Tensor& xz, const torch::Tensor& nz) {
  const double tau = config_.tau;
  const bool is_conv = conv();
  auto gather = [this](const torch::Tensor& t) {
    return exchange_ ? exchange_->gather_rows(t) : BatchExchange::Gathered{t, 0};
  };
  const torch::Tensor f = encode_windows(m, xz, is_conv ? crop_offsets(nz.select(1, 0)) : torch::Tensor());
  const torch::Tensor g = emulate(m, tz);
  const BatchExchange::Gathered fa = gather(f), ga = gather(g);
  const int64_t offset = fa.offset;
  // The symmetric inter-domain InfoNCE: data → parameter (rows of S) and parameter → data (columns).
  torch::Tensor loss = info_nce(f, ga.rows, offset, tau, m.bank_g) + info_nce(g, fa.rows, offset, tau, m.bank_f);
  if (config_.intra_weight > 0) {
    const int64_t xcols = is_conv ? 2 : config_.x_dim;
    const torch::Tensor g2 = emulate(m, tz + config_.jitter * nz.narrow(1, xcols, config_.theta_dim));
    const torch::Tensor f2 = is_conv ? encode_windows(m, xz, crop_offsets(nz.select(1, 1)))
                                     : encode_windows(m, xz + config_.jitter * nz.narrow(1, 0, config_.x_dim), {});
    const BatchExchange::Gathered f2a = gather(f2), g2a = gather(g2);
    loss = loss + config_.intra_weight * (info_nce(g, g2a.rows, offset, tau) + info_nce(g2, ga.rows, offset, tau) +
                                          info_nce(f, f2a.rows, offset, tau) + info_nce(f2, fa.rows, offset, tau));
  }
  if (config_.memory_bank > 0) {
    // Newest last; the same on every rank (built from the gathered global batch).
    auto push = [this](torch::Tensor& bank, const torch::Tensor& batch) {
      const torch::Tensor all = bank.defined() ? torch::cat({bank, batch.detach()}) : batch.detach();
      bank = all.narrow(0, std::max<int64_t>(0, all.size(0) - config_.memory_bank),
                        std::min(all.size(0), config_.memory_bank)).clone();
    };
    push(m.bank_f, fa.rows);
    push(m.bank_g, ga.rows);
  }
  return loss;
}

}  // namespace simbi::estimators
