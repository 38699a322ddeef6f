// rejection_abc (include/simbi/mcmc/rejection.hpp): rejection ABC with the kernel exp(−β·d), rows split
// over the ranks, one uniform per row keyed by the row's index, accepted indices gathered on rank 0.
#include <cmath>

#include "simbi/core/random.hpp"
#include "simbi/dist/comm.hpp"
#include "simbi/mcmc/rejection.hpp"

namespace simbi::mcmc {

namespace {
// Tag of ABC's streams within StreamPurpose::sampling ("ABCR"), apart from MCMC's and the GBI rejection's.
constexpr uint64_t kAbcTag = uint64_t{0x41424352} << 32;
}  // namespace

AbcResult rejection_abc(int64_t rows, const std::vector<uint8_t>& usable,
                        const std::function<void(int64_t, int64_t, double*)>& distances,
                        const std::vector<double>& betas, const AbcOptions& o) {
  const dist::Comm comm(o.comm);
  comm.run_agreed([&] {
    require(rows >= 0 && static_cast<int64_t>(usable.size()) == rows, ErrorKind::internal,
            "rejection ABC: one usable flag per row is needed");
    require(!betas.empty(), ErrorKind::invalid_argument, "rejection ABC: no beta given");
    for (double b : betas)
      require(std::isfinite(b) && b > 0, ErrorKind::invalid_argument, "rejection ABC: beta must be positive");
  });
  const int64_t lo = rows * comm.rank() / comm.size(), hi = rows * (comm.rank() + 1) / comm.size();
  std::vector<double> d(static_cast<size_t>(hi - lo));
  comm.run_agreed([&] {
    if (hi > lo) distances(lo, hi - lo, d.data());
  });
  const RandomStream base(o.seed, StreamPurpose::sampling, kAbcTag + o.stream_index);
  std::vector<std::vector<int64_t>> mine(betas.size());
  int64_t used = 0, nonfinite = 0;
  for (int64_t i = lo; i < hi; ++i) {
    if (!usable[static_cast<size_t>(i)]) continue;
    const double di = d[static_cast<size_t>(i - lo)];
    if (!std::isfinite(di)) {
      ++nonfinite;
      continue;
    }
    ++used;
    // Accept at β when u < exp(−β·d), i.e. log u < −β·d (no underflow for large β·d).
    const double log_u = std::log(base.substream(static_cast<uint64_t>(i)).uniform_open());
    for (size_t b = 0; b < betas.size(); ++b)
      if (log_u < -betas[b] * di) mine[b].push_back(i);
  }
  AbcResult res;
  res.usable = comm.sum(used);
  res.nonfinite = comm.sum(nonfinite);
  for (size_t b = 0; b < betas.size(); ++b) {
    res.accepted_count.push_back(comm.sum(static_cast<int64_t>(mine[b].size())));
    // Ranks hold consecutive row ranges, so rank order is row order.
    std::vector<int64_t> all = comm.gather_to_root(mine[b]);
    res.accepted.push_back(comm.rank() == 0 ? std::move(all) : std::vector<int64_t>{});
  }
  return res;
}

}  // namespace simbi::mcmc
