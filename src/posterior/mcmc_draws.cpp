// What the MCMC-sampled posteriors (ACE, NLE) share: the engine's options from the posterior options and
// one run turned into a DrawSet with its report line.
#include <cstdio>

#include "posteriors.hpp"
#include "simbi/core/log.hpp"

namespace simbi::posterior::detail {

mcmc::McmcOptions mcmc_options(const PosteriorOptions& o, const std::string& sampler, uint64_t stream_index) {
  mcmc::McmcOptions m = o.mcmc;
  m.sampler = mcmc::parse_sampler(sampler);
  m.seed = o.seed;
  m.stream_index = stream_index;
  m.comm = o.comm;
  return m;
}

DrawSet mcmc_draw_set(const sim::Prior& prior, mcmc::Potential* potential, const PosteriorOptions& o,
                      const std::string& sampler, uint64_t stream_index) {
  const mcmc::McmcResult r = mcmc::run_mcmc(prior, potential, o.num_samples, mcmc_options(o, sampler, stream_index));
  DrawSet set;
  set.samples = r.samples;
  set.seconds = r.wall_seconds;
  set.max_rhat = r.diagnostics.max_rhat;
  set.min_ess_bulk = r.diagnostics.min_ess_bulk;
  set.off_chains = static_cast<int64_t>(r.diagnostics.off_chains.size());
  set.chains = r.num_chains;
  char line[480];
  std::snprintf(line, sizeof line,
                " in %.2f s: %lld chains (%s, warm-up %lld, thin %lld), max R-hat %.3f, min bulk ESS "
                "%.0f, chains off the others %lld (largest offset %.1f SE), %s potential evaluations/s (%.1f rows "
                "per call; initialisation %.2f s)",
                r.wall_seconds, static_cast<long long>(r.num_chains), sampler.c_str(),
                static_cast<long long>(o.mcmc.warmup), static_cast<long long>(o.mcmc.thin), r.diagnostics.max_rhat,
                r.diagnostics.min_ess_bulk, static_cast<long long>(set.off_chains), r.diagnostics.max_chain_offset,
                log::human_count(r.evaluations_per_second()).c_str(),
                r.potential_calls > 0 ? static_cast<double>(r.potential_evaluations) / r.potential_calls : 0.0,
                r.init_seconds);
  set.summary = line;
  set.summary += r.jump_summary();
  if (r.occupancy.modes > 0) {
    set.summary += "; " + r.occupancy.summary();
    set.occupancy = r.occupancy;
  }
  return set;
}

}  // namespace simbi::posterior::detail
