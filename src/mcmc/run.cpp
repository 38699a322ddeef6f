// run_mcmc: option checks, the chains' streams, "resample" initialisation, the warm-up/sampling loop
// with thinning, the gather on rank 0 and the diagnostics.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

#include "samplers.hpp"
#include "simbi/core/log.hpp"
#include "simbi/core/text.hpp"
#include "simbi/core/timing.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/mcmc/sampler.hpp"

namespace simbi::mcmc {

namespace {

using detail::ChainSampler;
using detail::ChainSet;
using dist::Comm;
using Clock = std::chrono::steady_clock;

constexpr double kNegInf = -std::numeric_limits<double>::infinity();
// Tag of the engine's streams within StreamPurpose::sampling ("MCMC"), away from the small indices
// the direct samplers use (one per observation).
constexpr uint64_t kStreamTag = uint64_t{0x4D434D43} << 32;

void validate(const sim::Prior& prior, Potential* potential, int64_t num_samples, const McmcOptions& o) {
  auto bad = [](bool cond, const std::string& what) { require(!cond, ErrorKind::invalid_argument, "MCMC: " + what); };
  bad(num_samples <= 0, "the number of samples must be positive, got " + std::to_string(num_samples));
  bad(o.chains < 1, "the number of chains must be at least 1, got " + std::to_string(o.chains));
  bad(o.diagnostics && o.chains < 2, "R-hat needs at least 2 chains, got " + std::to_string(o.chains) +
                                         " (use more chains, or turn the diagnostics off)");
  bad(o.warmup < 0, "warm-up must be >= 0, got " + std::to_string(o.warmup));
  bad(o.thin < 1, "thinning must be >= 1, got " + std::to_string(o.thin));
  bad(o.mode_jumps < 0, "mode jumps must be >= 0, got " + std::to_string(o.mode_jumps));
  bad(o.mode_jumps > 0 && o.chains < 2, "mode jumps need at least 2 chains, got " + std::to_string(o.chains));
  bad(o.init_candidates < 1, "initialisation candidates must be >= 1, got " + std::to_string(o.init_candidates));
  bad(o.init == InitKind::given && o.initial_states.size() != static_cast<size_t>(o.chains * prior.dim()),
      "given initial states hold " + std::to_string(o.initial_states.size()) + " values, expected chains x " +
          std::to_string(prior.dim()) + " = " + std::to_string(o.chains * prior.dim()));
  bad(o.mode_clusters < 0, "the number of modes must be >= 0, got " + std::to_string(o.mode_clusters));
  bad(o.mode_clusters > o.chains * ((num_samples + o.chains - 1) / o.chains),
      "the number of modes (" + std::to_string(o.mode_clusters) + ") is larger than the number of draws");
  bad(o.max_batch_rows < 1, "max_batch_rows must be >= 1, got " + std::to_string(o.max_batch_rows));
  bad(!(o.slice_width > 0.0) || !std::isfinite(o.slice_width),
      "the initial slice width must be a positive number, got " + format_number(o.slice_width, "%g"));
  bad(o.slice_tune_sweeps < 0, "slice tuning sweeps must be >= 0");
  bad(o.slice_max_step_out < 1, "slice stepping-out limit must be >= 1");
  bad(o.slice_max_shrink < 1, "slice shrinkage limit must be >= 1");
  bad(!(o.rwm_target_accept > 0.0 && o.rwm_target_accept < 1.0), "the RWM target acceptance must be in (0, 1)");
  bad(o.rwm_first_window < 1, "the first RWM adaptation window must be >= 1");
  bad(prior.dim() < 1, "the prior has no parameters");
  // Sizes that must fit in MPI's int counts when gathered.
  const int64_t per_chain = (num_samples + o.chains - 1) / o.chains;
  bad(per_chain > (std::numeric_limits<int>::max() / std::max<int64_t>(1, o.chains)) / prior.dim(),
      "too many samples for one call (" + std::to_string(num_samples) + ")");
  bad(o.warmup > std::numeric_limits<int64_t>::max() / 4 - per_chain * o.thin, "warm-up plus sampling too long");
  if (potential) {
    const int64_t pd = potential->dim();
    bad(pd >= 0 && pd != prior.dim(), "the potential is over " + std::to_string(pd) +
                                          " parameters but the prior over " + std::to_string(prior.dim()));
  }
}

// "given": chain c starts at row c of o.initial_states. "prior": one prior draw per chain.
// "resample": per chain, init_candidates prior draws; one is picked with probability ∝ exp(log ℓ(θ))
// — importance resampling with the prior as the proposal, so the weight is the potential term alone.
// The pick uses the Gumbel-max trick (argmax of log ℓ + Gumbel noise), which is exact, streams over
// candidate batches, and cannot overflow. Candidates of all local chains share the batched calls.
void initialise(ChainSet& ch, UnconstrainedTarget& target, const McmcOptions& o,
                const std::vector<RandomStream>& candidate_rng, const std::vector<RandomStream>& gumbel_rng) {
  const sim::Prior& prior = target.prior();
  const int64_t n = ch.count, d = ch.dim;
  std::vector<float> best(static_cast<size_t>(n * d));
  const bool resample = o.init == InitKind::resample && target.has_potential();
  const int64_t k = resample ? o.init_candidates : 1;
  std::vector<RandomStream> cand = candidate_rng, gum = gumbel_rng;
  if (o.init == InitKind::given) {
    std::copy_n(o.initial_states.data() + ch.first * d, n * d, best.data());
    for (int64_t c = 0; c < n; ++c)
      require(prior.in_support(best.data() + c * d), ErrorKind::invalid_argument,
              "MCMC initialisation: the given initial state of chain " + std::to_string(ch.first + c) +
                  " is outside the prior's support");
  } else if (!resample) {
    for (int64_t c = 0; c < n; ++c) prior.sample_one(best.data() + c * d, cand[c]);
  } else {
    std::vector<double> best_score(static_cast<size_t>(n), kNegInf);
    const int64_t total = n * k;
    const int64_t batch = std::min(total, o.max_batch_rows);
    std::vector<float> buf(static_cast<size_t>(batch * d));
    std::vector<double> vals(static_cast<size_t>(batch));
    for (int64_t start = 0; start < total; start += batch) {
      const int64_t m = std::min(batch, total - start);
      for (int64_t r = 0; r < m; ++r) prior.sample_one(buf.data() + r * d, cand[(start + r) / k]);
      target.potential_at(buf.data(), m, vals.data());
      for (int64_t r = 0; r < m; ++r) {
        const int64_t c = (start + r) / k;
        const double g = -std::log(-std::log(gum[c].uniform_open()));
        const double score = vals[r] + g;
        if (score > best_score[c]) {
          best_score[c] = score;
          std::copy_n(buf.data() + r * d, d, best.data() + c * d);
        }
      }
    }
    for (int64_t c = 0; c < n; ++c)
      require(best_score[c] > kNegInf, ErrorKind::numeric,
              "MCMC initialisation: the potential is -inf or NaN at all " + std::to_string(k) +
                  " prior candidates of chain " + std::to_string(ch.first + c) +
                  " (a potential that is wrong for this prior, or far too peaked for it)");
  }
  ch.u.resize(static_cast<size_t>(n * d));
  ch.logp.resize(static_cast<size_t>(n));
  target.to_unconstrained(best.data(), n, ch.u.data());
  target.log_prob(ch.u.data(), n, ch.logp.data());
  for (int64_t c = 0; c < n; ++c)
    require(std::isfinite(ch.logp[c]), ErrorKind::numeric,
            "MCMC initialisation: the log density is not finite at the initial state of chain " +
                std::to_string(ch.first + c));
}

void set_max_min(Diagnostics& dg) {
  dg.max_rhat = std::numeric_limits<double>::quiet_NaN();
  dg.max_rhat_dim = -1;
  dg.min_ess_bulk = std::numeric_limits<double>::quiet_NaN();
  for (size_t j = 0; j < dg.rhat.size(); ++j) {
    if (!std::isnan(dg.rhat[j]) && (std::isnan(dg.max_rhat) || dg.rhat[j] > dg.max_rhat)) {
      dg.max_rhat = dg.rhat[j];
      dg.max_rhat_dim = static_cast<int64_t>(j);
    }
    if (!std::isnan(dg.ess_bulk[j]) && (std::isnan(dg.min_ess_bulk) || dg.ess_bulk[j] < dg.min_ess_bulk))
      dg.min_ess_bulk = dg.ess_bulk[j];
  }
}

}  // namespace

const char* to_string(SamplerKind kind) {
  switch (kind) {
    case SamplerKind::slice:
      return "slice";
    case SamplerKind::rwm:
      return "rwm";
  }
  return "?";
}

SamplerKind parse_sampler(const std::string& name) {
  if (name == "slice") return SamplerKind::slice;
  if (name == "rwm") return SamplerKind::rwm;
  throw Error(ErrorKind::invalid_argument, "unknown MCMC sampler '" + name + "' (expected slice or rwm)");
}

double McmcResult::evaluations_per_second() const {
  return sampling_seconds > 0.0 ? static_cast<double>(potential_evaluations) / sampling_seconds : 0.0;
}
std::string McmcResult::jump_summary() const {
  if (jumps_proposed == 0) return "";
  char line[96];
  std::snprintf(line, sizeof line, ", mode jumps %.1f%% of %lld accepted",
                100.0 * static_cast<double>(jumps_accepted) / static_cast<double>(jumps_proposed),
                static_cast<long long>(jumps_proposed));
  return line;
}

double McmcResult::ess_per_second() const {
  return wall_seconds > 0.0 && diagnostics.computed ? diagnostics.min_ess_bulk / wall_seconds : 0.0;
}

namespace {

// This rank's chains and their streams: chain c's streams depend on (seed, stream_index, c) only.
struct LocalChains {
  ChainSet ch;
  std::vector<RandomStream> candidate_rng, gumbel_rng;
};

LocalChains local_chains(const Comm& comm, int64_t dim, const McmcOptions& o) {
  LocalChains lc;
  const int64_t nc = o.chains;
  lc.ch.first = nc * comm.rank() / comm.size();
  lc.ch.count = nc * (comm.rank() + 1) / comm.size() - lc.ch.first;
  lc.ch.dim = dim;
  const RandomStream base(o.seed, StreamPurpose::sampling, kStreamTag + o.stream_index);
  for (int64_t c = 0; c < lc.ch.count; ++c) {
    const RandomStream chain = base.substream(static_cast<uint64_t>(lc.ch.first + c));
    lc.candidate_rng.push_back(chain.substream(0));
    lc.gumbel_rng.push_back(chain.substream(1));
    lc.ch.rng.push_back(chain.substream(2));
    lc.ch.jump_rng.push_back(chain.substream(3));
  }
  return lc;
}

// Warm-up and sampling: rank-local segments between the sampler's collective sync points (and, with
// mode jumps, every `thin` iterations after warm-up, where the jumps run); a failure inside a segment is
// agreed on at its end, so no rank is left waiting in a collective. Returns this rank's kept draws,
// [local chain][draw][dim]; `jumps` is set when mode jumps ran.
std::vector<float> run_chains(ChainSet& ch, ChainSampler& sampler, UnconstrainedTarget& target, const Comm& comm,
                              int64_t per_chain, int64_t total_iters, const McmcOptions& o,
                              std::unique_ptr<detail::ModeJumps>& jumps) {
  const int64_t d = ch.dim;
  std::vector<float> draws(static_cast<size_t>(ch.count * per_chain * d));
  const std::vector<int64_t> sync = sampler.sync_points();
  std::vector<int64_t> stops = sync;
  const bool jumping = o.mode_jumps > 0 && target.has_potential();
  const size_t stride = detail::ModeJumps::moment_stride(d);
  std::vector<double> moments(jumping ? static_cast<size_t>(ch.count) * stride : 0, 0.0);
  if (jumping)
    for (int64_t t = o.warmup; t < total_iters; t += o.thin) stops.push_back(t);
  std::sort(stops.begin(), stops.end());
  stops.erase(std::unique(stops.begin(), stops.end()), stops.end());
  stops.push_back(total_iters);
  int64_t t = 0;
  for (const int64_t stop : stops) {
    if (stop <= t || stop > total_iters) continue;
    comm.run_agreed([&] {
      sampler.run(t, stop, [&](int64_t c, int64_t it) {
        if (jumping && it >= o.warmup - o.warmup / 2 && it < o.warmup)  // the mode jumps' kernel shape
          detail::ModeJumps::add_moments(ch.u.data() + c * d, d, moments.data() + c * stride);
        if (it >= o.warmup && (it - o.warmup + 1) % o.thin == 0) {
          const int64_t s = (it - o.warmup + 1) / o.thin - 1;
          target.to_theta(ch.u.data() + c * d, 1, draws.data() + (c * per_chain + s) * d);
        }
      });
      t = stop;
    });
    if (stop == total_iters) break;
    if (std::binary_search(sync.begin(), sync.end(), stop)) sampler.synchronise(comm, stop);
    if (jumping && stop >= o.warmup) {
      if (!jumps) comm.run_agreed([&] { jumps = std::make_unique<detail::ModeJumps>(ch, moments, comm); });
      comm.run_agreed([&] { jumps->move(ch, target, o.mode_jumps); });
    }
  }
  return draws;
}

// Evaluation and sampler counters summed over all ranks.
void sum_counters(McmcResult& res, const EvalCounters& init_counters, const EvalCounters& sc,
                  const detail::SamplerStats& st, const Comm& comm, SamplerKind kind) {
  res.init_evaluations = comm.sum(init_counters.rows);
  res.potential_evaluations = comm.sum(sc.rows);
  res.potential_calls = comm.sum(sc.calls);
  res.nonfinite_evaluations = comm.sum(sc.nonfinite + init_counters.nonfinite);
  res.step_out_limited = comm.sum(st.step_out_limited);
  res.shrink_exhausted = comm.sum(st.shrink_exhausted);
  const int64_t updates = comm.sum(st.updates), accepted = comm.sum(st.accepted);
  if (kind == SamplerKind::rwm)
    res.acceptance_rate = updates > 0 ? static_cast<double>(accepted) / static_cast<double>(updates) : 0.0;
  else
    res.acceptance_rate =
        updates > 0 ? 1.0 - static_cast<double>(res.shrink_exhausted) / static_cast<double>(updates) : 1.0;
}

// Gathers the draws on rank 0 (ranks hold consecutive chains, so rank order is chain order) into
// res.chains / res.samples, and the diagnostics computed there onto every rank.
void gather_and_diagnose(McmcResult& res, const std::vector<float>& draws, const Comm& comm, int64_t num_samples,
                         int64_t dim, const McmcOptions& o) {
  const bool diagnostics = o.diagnostics;
  const int64_t nc = res.num_chains, per_chain = res.draws_per_chain, d = dim;
  std::vector<float> all = comm.gather_to_root(draws);
  // [computed, R̂ × d, ESS × d, largest chain offset, off chains × nc (1 = off)]
  std::vector<double> packed(static_cast<size_t>(2 * d + 2 + nc), std::numeric_limits<double>::quiet_NaN());
  if (comm.rank() == 0) {
    res.chains = torch::from_blob(all.data(), {nc, per_chain, d}, torch::kFloat32).clone();
    // Draw-major order: row i is draw i / C of chain i % C; the first num_samples rows are kept.
    res.samples = res.chains.transpose(0, 1).reshape({nc * per_chain, d}).narrow(0, 0, num_samples).contiguous();
    if (o.mode_clusters > 0) res.occupancy = mode_occupancy(res.chains, o.mode_clusters, o.seed);
    if (diagnostics) {
      const Diagnostics dg = diagnose(res.chains);
      packed[0] = dg.computed ? 1.0 : 0.0;
      for (int64_t j = 0; j < d; ++j) {
        packed[1 + j] = dg.rhat[j];
        packed[1 + d + j] = dg.ess_bulk[j];
      }
      packed[1 + 2 * d] = dg.max_chain_offset;
      std::fill(packed.begin() + 2 * d + 2, packed.end(), 0.0);
      for (int64_t c : dg.off_chains) packed[2 * d + 2 + c] = 1.0;
    } else {
      packed[0] = 0.0;
    }
  }
  comm.broadcast(packed);
  res.diagnostics.computed = packed[0] == 1.0;
  res.diagnostics.rhat.assign(packed.begin() + 1, packed.begin() + 1 + d);
  res.diagnostics.ess_bulk.assign(packed.begin() + 1 + d, packed.begin() + 1 + 2 * d);
  res.diagnostics.max_chain_offset = packed[1 + 2 * d];
  res.diagnostics.off_chains.clear();
  for (int64_t c = 0; c < nc; ++c)
    if (packed[2 * d + 2 + c] == 1.0) res.diagnostics.off_chains.push_back(c);
  set_max_min(res.diagnostics);
}

// The run's warnings (the same lines on every rank).
std::vector<std::string> run_warnings(const McmcResult& res, const McmcOptions& o) {
  std::vector<std::string> w;
  const int64_t evaluated = res.init_evaluations + res.potential_evaluations;
  if (res.nonfinite_evaluations > 0)
    w.push_back("MCMC: the potential returned NaN or +inf at " + std::to_string(res.nonfinite_evaluations) + " of " +
                std::to_string(evaluated) +
                " evaluated points (treated as -inf: zero density there, those points were rejected)");
  if (res.shrink_exhausted > 0)
    w.push_back("MCMC: the slice sampler kept the current point in " + std::to_string(res.shrink_exhausted) +
                " updates after " + std::to_string(o.slice_max_shrink) + " shrinkage steps");
  if (o.diagnostics && !res.diagnostics.computed)
    w.push_back("MCMC: R-hat and ESS not computed: " + std::to_string(res.draws_per_chain) +
                " draws per chain, they need at least 8 (ask for more samples or fewer chains)");
  if (res.diagnostics.computed) {
    for (size_t j = 0; j < res.diagnostics.rhat.size(); ++j)
      if (std::isnan(res.diagnostics.rhat[j]))
        w.push_back("MCMC: R-hat undefined for parameter " + std::to_string(j + 1) +
                    " (its draws are constant or not finite)");
    if (res.diagnostics.max_rhat > o.rhat_warn)
      w.push_back("MCMC: max R-hat " + format_number(res.diagnostics.max_rhat, "%.4f") + " > " +
                  format_number(o.rhat_warn, "%.4g") + " (parameter " +
                  std::to_string(res.diagnostics.max_rhat_dim + 1) +
                  "): the chains have not mixed; use more warm-up, thinning or samples");
    const std::vector<int64_t>& off = res.diagnostics.off_chains;
    if (!off.empty())
      w.push_back("MCMC: " + std::to_string(off.size()) + " of " + std::to_string(res.num_chains) +
                  " chains lie off the others' draws (chain " + std::to_string(off.front() + 1) +
                  (off.size() > 1 ? " and more" : "") + "; largest offset " +
                  format_number(res.diagnostics.max_chain_offset, "%.1f") +
                  " standard errors): stuck in a mode the others do not visit, or not yet mixed; use more "
                  "mode jumps or warm-up");
  }
  return w;
}

}  // namespace

McmcResult run_mcmc(const sim::Prior& prior, Potential* potential, int64_t num_samples, const McmcOptions& o) {
  const auto t_start = Clock::now();
  const Comm comm(o.comm);
  McmcResult res;
  std::unique_ptr<UnconstrainedTarget> target;
  comm.run_agreed([&] {
    validate(prior, potential, num_samples, o);
    target = std::make_unique<UnconstrainedTarget>(prior, potential);
  });
  const int64_t d = prior.dim(), nc = o.chains;
  const int64_t per_chain = (num_samples + nc - 1) / nc;
  const int64_t total_iters = o.warmup + per_chain * o.thin;
  res.num_chains = nc;
  res.draws_per_chain = per_chain;
  res.iterations = total_iters;
  LocalChains lc = local_chains(comm, d, o);

  const auto t_init = Clock::now();
  comm.run_agreed([&] { initialise(lc.ch, *target, o, lc.candidate_rng, lc.gumbel_rng); });
  const EvalCounters init_counters = target->counters();
  target->reset_counters();
  res.init_seconds = comm.max(seconds_since(t_init));

  const auto t_sample = Clock::now();
  std::unique_ptr<ChainSampler> sampler = o.sampler == SamplerKind::slice
                                              ? detail::make_slice_sampler(lc.ch, *target, o)
                                              : detail::make_rwm_sampler(lc.ch, *target, o, comm);
  std::unique_ptr<detail::ModeJumps> jumps;
  const std::vector<float> draws = run_chains(lc.ch, *sampler, *target, comm, per_chain, total_iters, o, jumps);
  res.sampling_seconds = comm.max(seconds_since(t_sample));

  sum_counters(res, init_counters, target->counters(), sampler->stats(), comm, o.sampler);
  if (jumps) {
    res.jumps_proposed = comm.sum(jumps->proposed());
    res.jumps_accepted = comm.sum(jumps->accepted());
  }
  gather_and_diagnose(res, draws, comm, num_samples, d, o);
  res.warnings = run_warnings(res, o);
  if (comm.rank() == 0)
    for (const auto& w : res.warnings) log::warn(w);
  res.wall_seconds = comm.max(seconds_since(t_start));
  return res;
}

}  // namespace simbi::mcmc
