// E&E — Embed and Emulate (docs/methods.md §3): an encoder f(x) and an emulator g(θ), both L2-normalised
// to the unit sphere of R^d, trained with the symmetric inter-domain InfoNCE so that the critic
// s(x, θ) = ⟨f(x), g(θ)⟩ / τ converges to log p(x | θ)/p(x) + const; the posterior is then
// p(θ | x_o) ∝ p(θ)·exp(s(x_o, θ)). As s ≤ 1/τ, it can be sampled exactly by rejection from the prior.
// The loss couples the rows of a batch: in training the negatives are the whole global batch across the
// ranks (BatchExchange), plus an optional memory bank of earlier batches' embeddings; validation uses
// each rank's validation rows as one batch. Contract: a torch module, one thread at a time.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "simbi/estimators/estimator.hpp"
#include "simbi/nn/conv_encoder.hpp"
#include "simbi/nn/fourier_features.hpp"
#include "simbi/nn/mlp.hpp"
#include "simbi/nn/residual_net.hpp"
#include "simbi/nn/zscore.hpp"

namespace simbi::estimators {

struct EneConfig {
  int64_t theta_dim = 0;
  int64_t x_dim = 0;
  int64_t embed_dim = 128;  // d (the paper's)
  double tau = 0.15;        // temperature (the paper's)
  // Encoder f: "mlp" (vector x; hidden widths encoder_hidden) or "conv" (time series: x is
  // [series_channels, x_dim / series_channels] row-major; nn::ConvEncoder with conv_channels).
  std::string encoder = "mlp";
  std::vector<int64_t> encoder_hidden{256, 256};
  int64_t series_channels = 0;
  std::vector<int64_t> conv_channels{32, 64, 128};
  int64_t crop = 0;          // conv: training window length (a random crop per example; 0 = the whole series)
  int64_t test_windows = 1;  // conv: evenly spaced windows whose embeddings are averaged at test time
  // Emulator g: residual MLP θ → width → blocks residual blocks → d (the paper: width 512, 5 blocks).
  int64_t emulator_width = 256;
  int64_t emulator_blocks = 3;
  // Intra-domain InfoNCE terms (parameter–parameter, data–data), each with this weight (the paper's
  // optional 0.5; 0 = off). Positives: θ jittered by N(0, jitter²) in z-scored units; for x a second
  // random crop (conv) or jitter (mlp).
  double intra_weight = 0.0;
  double jitter = 0.05;
  // Embeddings of this many earlier training examples kept as extra negatives (0 = off). Not saved with
  // the model (training state only; a resumed run refills it).
  int64_t memory_bank = 0;
  // K critics (encoder + emulator pairs from different initialisations) trained side by side on the same
  // batches, each with its own InfoNCE; the model's critic is their mean ⟨f_k, g_k⟩/τ, i.e. the single
  // critic of the concatenated embeddings [f_1 … f_K]/√K and [g_1 … g_K]/√K (unit norm, dimension K·d), so the
  // rejection bound 1/τ holds as it is. Averaging log-ratios cuts the variance of the learned critic (on
  // the sbibm tasks the gap to the reference was bias, not variance: docs/ene.md).
  int64_t ensemble = 1;
  // Random Fourier features (nn::FourierFeatures) of z-scored θ before the emulator and of z-scored x
  // before an mlp encoder: this many frequencies each (0 = off), drawn from N(0, fourier_scale²). For
  // low-dimensional θ or x whose posterior has thin structure (two_moons' crescents).
  int64_t theta_fourier = 0;
  int64_t x_fourier = 0;
  double fourier_scale = 1.0;

  static EneConfig from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
  int64_t series_length() const { return series_channels > 0 ? x_dim / series_channels : 0; }
  int64_t window() const { return crop > 0 ? crop : series_length(); }
};

class Ene final : public Estimator {
 public:
  explicit Ene(const EneConfig& config);
  std::string method() const override { return "ene"; }
  nlohmann::json config() const override { return config_.to_json(); }
  void fit_standardization(const torch::Tensor& theta, const torch::Tensor& x) override;
  torch::Tensor loss(const torch::Tensor& theta, const torch::Tensor& x) override {
    return loss_with_noise(theta, x, {});
  }
  // Per example: crop offsets (2, conv) and jitter (θ; x for mlp) of the intra-domain views.
  int64_t noise_dim() const override;
  torch::Tensor loss_with_noise(const torch::Tensor& theta, const torch::Tensor& x,
                                const torch::Tensor& noise) override;
  bool couples_batch() const override { return true; }
  void set_batch_exchange(BatchExchange* exchange) override { exchange_ = exchange; }

  // f(x) for rows x [n, dx] (original units) → [n, K·d], unit norm (K = ensemble; the members'
  // embeddings concatenated, each scaled by 1/√K). In eval mode a conv encoder averages the embeddings
  // of test_windows evenly spaced windows (renormalised).
  torch::Tensor embed_x(const torch::Tensor& x);
  // g(θ) for rows θ [n, dθ] (original units) → [n, K·d], unit norm, laid out as embed_x's.
  torch::Tensor embed_theta(const torch::Tensor& theta);
  // s(x_o, θ) = ⟨f_o, g(θ)⟩ / τ for one encoded observation f_o [K·d] (embed_x's row) → [n].
  torch::Tensor critic(const torch::Tensor& f_o, const torch::Tensor& theta);
  double tau() const { return config_.tau; }
  const EneConfig& ene_config() const { return config_; }

 private:
  // One critic of the ensemble: its encoder (mlp or conv), its emulator and its memory bank.
  struct Member {
    nn::Mlp mlp_encoder{nullptr};
    nn::ConvEncoder conv_encoder{nullptr};
    nn::ResidualNet emulator{nullptr};
    nn::FourierFeatures theta_features{nullptr}, x_features{nullptr};  // registered only when on
    torch::Tensor bank_f, bank_g;  // memory bank (detached embeddings of earlier examples, newest last)
  };
  // Encoder f on z-scored x with the window starting at per-row offsets (conv; undefined = whole series).
  torch::Tensor encode_windows(Member& m, const torch::Tensor& xz, const torch::Tensor& offsets);
  // A member's test-time f (conv: the renormalised mean over test_windows windows).
  torch::Tensor embed_x_member(Member& m, const torch::Tensor& xz);
  torch::Tensor zscore_x(const torch::Tensor& x) const;
  torch::Tensor emulate(Member& m, const torch::Tensor& theta_z);
  // The members' unit embeddings [n, d] each → the ensemble's [n, K·d].
  torch::Tensor concat_members(const std::vector<torch::Tensor>& parts) const;
  // One member's training loss per example (the symmetric InfoNCE, intra terms, memory bank update).
  torch::Tensor member_loss(Member& m, const torch::Tensor& theta_z, const torch::Tensor& xz,
                            const torch::Tensor& noise);
  // Crop offsets in [0, T − window] from standard-normal noise [rows] (⌊Φ(z)·(T − window + 1)⌋).
  torch::Tensor crop_offsets(const torch::Tensor& noise_column) const;
  bool conv() const { return config_.encoder == "conv"; }

  EneConfig config_;
  BatchExchange* exchange_ = nullptr;
  nn::ZScore theta_z_{nullptr}, x_z_{nullptr};  // x_z_: per channel for a conv encoder; shared by the members
  std::vector<Member> members_;
};

// The symmetric InfoNCE per example: for rows i of queries a [n, d] and keys b [m, d] whose positive is
// b[offset + i], −log softmax(a_i·bᵀ/τ)[offset + i]; the E&E loss adds this for (f, g) and for (g, f).
// Extra negatives (undefined = none) are appended to the keys. Exposed for tests.
torch::Tensor info_nce(const torch::Tensor& a, const torch::Tensor& b, int64_t offset, double tau,
                       const torch::Tensor& extra_negatives = {});

}  // namespace simbi::estimators
