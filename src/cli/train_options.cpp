// The options of `simbi train`, bound to a train::TrainRequest (commands.hpp).
#include "commands.hpp"

namespace simbi::cli {

namespace {

// The data, the outputs, the run (device, checkpoints, data loading) and the optimisation.
void add_run_options(CLI::App* sub, train::TrainRequest* a) {
  sub->add_option("--data", a->data, "Simulation store (HDF5) to train on")->required();
  sub->add_option("--method", a->estimator.method,
                  "cpvae | upvae | ace | ene (Embed and Emulate) | npe (normalizing flow) | fmpe (flow matching) | "
                  "npse (score) | nle (likelihood flow)");
  sub->add_option("--out", a->out, "Model file to write")->required();
  add_integer_option(sub, "--seed", a->seed, "Seed (split, shuffling, initialisation)")->capture_default_str();
  sub->add_option("--device", a->device, "cpu | cuda")->capture_default_str();
  sub->add_option("--backend", a->backend, "Gradient sync: mpi | nccl")->capture_default_str();
  sub->add_flag("--resume", a->resume,
                "Continue from the checkpoint OUT.ckpt if there is one (any rank count), else start from scratch");
  sub->add_option("--init-from", a->init_from,
                  "Start from this model's weights and standardization (the same estimator config): a warm start");
  add_integer_option(sub, "--checkpoint-every-epochs", a->checkpoint_every_epochs,
                     "Write OUT.ckpt at the end of every k-th epoch (0 = only on a stop signal / --checkpoint-seconds)",
                     kCount)
      ->capture_default_str();
  sub->add_option("--checkpoint-seconds", a->checkpoint_seconds,
                  "Also write OUT.ckpt at the first step this many seconds after the last one (0 = off)");
  sub->add_option("--data-loading", a->data_loading,
                  "auto | memory | stream: hold all rows on every rank (rank-count invariant), or stream each "
                  "rank's shard from the store in windows (bounded memory); auto streams stores too big for memory")
      ->capture_default_str();
  sub->add_option("--stream-buffer-mb", a->stream_buffer_mb,
                  "Streaming: MB of rows each rank holds and shuffles at a time")
      ->capture_default_str();
  auto& o = a->options;
  add_integer_option(sub, "--batch-size", o.batch_size, "Global batch size (split over ranks)", kCount)
      ->capture_default_str();
  sub->add_option("--lr", o.lr, "AdamW learning rate")->capture_default_str();
  sub->add_option("--weight-decay", o.weight_decay, "AdamW weight decay")->capture_default_str();
  add_integer_option(sub, "--max-epochs", o.max_epochs, "Maximum epochs", kCount)->capture_default_str();
  add_integer_option(sub, "--patience", o.patience, "Early stopping: epochs without validation improvement", kCount)
      ->capture_default_str();
  add_integer_option(sub, "--lr-decay-patience", o.lr_decay_patience,
                     "Halve (--lr-decay-factor) the learning rate after this many epochs without improvement (0 = off)",
                     kCount)
      ->capture_default_str();
  add_integer_option(sub, "--kl-warmup-epochs", o.kl_warmup_epochs,
                     "VAEs: ramp the KL term's weight from 1/N to 1 over the first N epochs (0 = off)", kCount)
      ->capture_default_str();
  sub->add_option("--lr-decay-factor", o.lr_decay_factor, "Learning-rate decay factor on a plateau")
      ->capture_default_str();
  sub->add_option("--lr-schedule", o.lr_schedule,
                  "constant | cosine (to 0 at --max-epochs; E&E's schedule), after --lr-warmup-epochs")
      ->capture_default_str();
  add_integer_option(sub, "--lr-warmup-epochs", o.lr_warmup_epochs,
                     "Linear learning-rate warm-up over the first N epochs", kCount)
      ->capture_default_str();
  sub->add_option("--clip-norm", o.clip_norm, "Gradient-norm clipping (0 = off)")->capture_default_str();
  sub->add_option("--validation-fraction", o.validation_fraction, "Held-out fraction")->capture_default_str();
  sub->add_option("--ema-decay", o.ema_decay,
                  "Validate, keep and write an exponential moving average of the weights with this decay, e.g. "
                  "0.999 (0 = off)")
      ->capture_default_str();
  add_integer_option(sub, "--atoms", o.atoms,
                     "npe: SNPE-C's atomic loss with this many atoms per row, for rows from proposals other than "
                     "the prior (0 = the plain loss)",
                     kCount)
      ->capture_default_str();
  sub->add_option("--max-minutes", a->max_minutes, "Stop after this many minutes (keeps the best weights)");
}

// ACE: the cost network, its distance and targets.
void add_ace_options(CLI::App* sub, train::TrainRequest* a) {
  add_integer_option(sub, "--width", a->estimator.ace.width, "ACE: units per residual block", kCount)
      ->capture_default_str();
  add_integer_option(sub, "--blocks", a->estimator.ace.blocks, "ACE: residual blocks", kCount)->capture_default_str();
  sub->add_option("--distance", a->estimator.distance, "ACE: mse | mmd2 | zmae (default: the task's own distance)");
  sub->add_option("--distance-params", a->estimator.distance_params,
                  "ACE: the distance's parameters as JSON, e.g. "
                  "'{\"set_size\": 5, \"point_dim\": 2}'");
  sub->add_option("--activation", a->estimator.activation, "ACE: relu (the paper's) | silu")->capture_default_str();
  sub->add_option("--ace-output", a->estimator.ace_output,
                  "ACE: the cost from the network's output h: linear (m̄·h) | softplus (m̄·softplus(h), the paper's)")
      ->capture_default_str();
  sub->add_option("--ace-head", a->estimator.ace_head,
                  "ACE: network (ĉ from a network on [θ, x_o], the paper's) | moments (mse distance only: a network "
                  "on θ predicts the simulator's mean and variance term; exact in x_o)")
      ->capture_default_str();
  add_integer_option(sub, "--ace-train-targets", a->estimator.ace.train_targets,
                     "ACE: targets paired with each θ per training step (the paper: 2)", kCount)
      ->capture_default_str();
  add_integer_option(sub, "--ace-noise-targets", a->estimator.ace.noise_targets,
                     "ACE: noise-augmented copies of training x in the target set (the paper: 100; more covers "
                     "misspecified observations better)",
                     kCount)
      ->capture_default_str();
  sub->add_option("--ace-targets", a->estimator.ace_targets,
                  "ACE: observations (CSV or FILE.h5) added to the training targets (the paper's known x_o)");
}

// E&E: the encoder, the emulator and the contrastive loss.
void add_ene_options(CLI::App* sub, train::TrainRequest* a) {
  auto& e = a->estimator.ene;
  add_integer_option(sub, "--embed-dim", e.embed_dim, "E&E: embedding dimension d", kCount)->capture_default_str();
  sub->add_option("--tau", e.tau, "E&E: InfoNCE temperature")->capture_default_str();
  sub->add_option("--encoder", e.encoder, "E&E: encoder of x, mlp | conv (time series)")->capture_default_str();
  add_integer_option(sub, "--series-channels", e.series_channels,
                     "E&E conv: channels of the time series x = [channels, time] row-major", kCount)
      ->capture_default_str();
  sub->add_option("--conv-channels", a->estimator.conv_channels,
                  "E&E conv: channels of the conv layers, e.g. 32,64,128");
  add_integer_option(sub, "--crop", e.crop, "E&E conv: training window (random crop) length, 0 = whole series", kCount)
      ->capture_default_str();
  add_integer_option(sub, "--test-windows", e.test_windows, "E&E conv: windows averaged at test time", kCount)
      ->capture_default_str();
  add_integer_option(sub, "--emulator-width", e.emulator_width, "E&E: units of the emulator's residual MLP", kCount)
      ->capture_default_str();
  add_integer_option(sub, "--emulator-blocks", e.emulator_blocks, "E&E: residual blocks of the emulator", kCount)
      ->capture_default_str();
  sub->add_option("--intra-weight", e.intra_weight, "E&E: weight of the intra-domain InfoNCE terms (0 = off)")
      ->capture_default_str();
  sub->add_option("--jitter", e.jitter, "E&E: std of the intra-domain views' jitter (z-scored units)")
      ->capture_default_str();
  add_integer_option(sub, "--memory-bank", e.memory_bank, "E&E: earlier embeddings kept as extra negatives (0 = off)",
                     kCount)
      ->capture_default_str();
  add_integer_option(sub, "--ensemble", e.ensemble,
                     "E&E: critics trained side by side from different initialisations; the posterior uses their mean",
                     kCount)
      ->capture_default_str();
  add_integer_option(
      sub, "--theta-fourier", e.theta_fourier,
      "E&E: random Fourier features of θ before the emulator (0 = off; for thin posteriors in low dim θ)", kCount)
      ->capture_default_str();
  add_integer_option(sub, "--x-fourier", e.x_fourier,
                     "E&E mlp: random Fourier features of x before the encoder (0 = off)", kCount)
      ->capture_default_str();
  sub->add_option("--fourier-scale", e.fourier_scale,
                  "E&E: std of the Fourier frequencies, in cycles per z-scored unit")
      ->capture_default_str();
}

// NPE, NLE: the flow; FMPE / NPSE: the vector field and the ODE solver.
void add_density_options(CLI::App* sub, train::TrainRequest* a) {
  auto& f = a->estimator.flow;
  sub->add_option("--flow", f.type,
                  "NPE/NLE/VAE nsf decoder: nsf (neural spline flow) | maf (masked autoregressive flow)")
      ->capture_default_str();
  add_integer_option(sub, "--flow-transforms", f.transforms, "NPE/NLE/VAE nsf decoder: flow layers", kCount)
      ->capture_default_str();
  add_integer_option(sub, "--flow-hidden", f.hidden,
                     "NPE/NLE/VAE nsf decoder: hidden units of each layer's conditioner", kCount)
      ->capture_default_str();
  add_integer_option(sub, "--flow-blocks", f.blocks, "NPE/NLE/VAE nsf decoder: residual blocks of each conditioner",
                     kCount)
      ->capture_default_str();
  add_integer_option(sub, "--flow-bins", f.bins, "NPE/NLE/VAE nsf decoder: spline bins", kCount)->capture_default_str();
  sub->add_option("--flow-tail-bound", f.tail_bound,
                  "NPE/NLE/VAE nsf decoder: splines on [-B, B] (z-scored units), identity outside")
      ->capture_default_str();
  sub->add_option(
         "--flow-conditioner", f.conditioner,
         "NPE/NLE/VAE nsf decoder: auto (coupling for a flow over >= 2 dimensions, else autoregressive) | coupling | "
         "autoregressive")
      ->capture_default_str();
  sub->add_option("--embedding-hidden", a->estimator.embedding_hidden, "NPE: hidden widths of an MLP embedding of x");
  add_integer_option(sub, "--embedding-dim", a->estimator.embedding_dim,
                     "NPE: output width of the x embedding (0 = none)", kCount)
      ->capture_default_str();
  sub->add_option("--support-transform", a->estimator.support_transform,
                  "NPE/FMPE/NPSE: prior (learn through the prior's bijection to R^d: every draw inside the "
                  "support) | none (on θ itself; sample --reject-outside-prior rejects) | auto (NPE: prior, "
                  "FMPE/NPSE: none)")
      ->capture_default_str();
  // FMPE / NPSE: set only what is given (the method's defaults otherwise).
  nlohmann::json* vf = &a->estimator.vector_field;
  add_json_option<int64_t>(sub, "--field-width", vf, "width",
                           "FMPE/NPSE: units of the vector field's residual MLP (default 128)", kCount);
  add_json_option<int64_t>(sub, "--field-blocks", vf, "blocks",
                           "FMPE/NPSE: residual blocks of the vector field (default 3)", kCount);
  add_json_option<int64_t>(sub, "--time-features", vf, "time_features",
                           "FMPE/NPSE: sinusoidal features of t (default 8)", kCount);
  add_json_option<double>(sub, "--sigma-min", vf, "sigma_min",
                          "FMPE: width of the probability paths at t = 1, in (0, 1); NPSE --sde ve: the noise at t = 0 "
                          "(default 0.01)");
  add_json_option<std::string>(sub, "--sde", vf, "sde", "NPSE: vp (variance preserving, default) | ve (exploding)");
  add_json_option<double>(sub, "--sigma-max", vf, "sigma_max", "NPSE --sde ve: the noise at t = 1 (default 50)");
  add_json_option<double>(sub, "--time-prior-exponent", vf, "time_prior_exponent",
                          "FMPE: training times t ~ p(t) ∝ t^a on [0, 1] (0 = uniform)");
  add_json_option<std::string>(sub, "--solver", vf, "solver",
                               "FMPE/NPSE: ODE solver for sampling and log_prob, rk4 | dopri5; NPSE also pc "
                               "(predictor–corrector sampling of the reverse SDE; log_prob then uses rk4)");
  add_json_option<int64_t>(sub, "--ode-steps", vf, "steps",
                           "FMPE/NPSE rk4 and pc: steps from t = 0 to 1 (FMPE 10, NPSE 50)", kCount);
  add_json_option<int64_t>(sub, "--corrector-steps", vf, "corrector_steps",
                           "NPSE pc: Langevin corrector steps after each predictor step (default 1)", kCount);
  add_json_option<double>(sub, "--snr", vf, "snr", "NPSE pc: the corrector's signal-to-noise ratio (default 0.05)");
  add_json_option<double>(sub, "--rtol", vf, "rtol", "FMPE/NPSE dopri5: relative tolerance (default 1e-5)");
  add_json_option<double>(sub, "--atol", vf, "atol", "FMPE/NPSE dopri5: absolute tolerance (default 1e-5)");
}

}  // namespace

void add_train_options(CLI::App* sub, train::TrainRequest* a) {
  add_run_options(sub, a);
  sub->add_option("--task", a->task, "Refuse a store simulated for another task (a config's top-level `task` sets it)");
  add_integer_option(sub, "--latent-dim", a->estimator.latent_dim, "VAE latent dimension (default: dim θ)", kCount);
  add_ace_options(sub, a);
  add_ene_options(sub, a);
  add_density_options(sub, a);
  sub->add_option("--encoder-hidden", a->estimator.encoder_hidden,
                  "Hidden widths of q(z | x, θ) (VAEs) or of the MLP encoder f(x) (E&E), e.g. 64,64");
  sub->add_option("--prior-hidden", a->estimator.prior_hidden, "CP-VAE: hidden widths of p(z | x)");
  sub->add_option("--decoder-hidden", a->estimator.decoder_hidden, "Hidden widths of p(θ | x, z) (gaussian decoder)");
  sub->add_option("--decoder", a->estimator.decoder,
                  "VAEs: p(θ | x, z) as a diagonal gaussian (the paper's) or a conditional nsf (the --flow-* options)")
      ->capture_default_str();
  sub->add_option("--data-decoder-hidden", a->estimator.data_decoder_hidden, "UP-VAE: hidden widths of p(x | z)");
  add_integer_option(sub, "--threads", a->threads,
                     "Torch threads per rank (default 1: small networks run fastest single-threaded; scale with ranks)",
                     kThreads);
}

}  // namespace simbi::cli
