// GbiRejectionSampler: the pilot draws and the search for C_lo, the acceptance-rate estimate, and the
// block-parallel rejection loop with its restart rule (include/simbi/mcmc/rejection.hpp).
//
// Work is cut into blocks of options.block_draws prior draws; block b uses the substreams b of the run's
// stream (θ from .substream(0), the uniforms from .substream(1)), so what a block yields depends on b
// alone. Ranks process the blocks of a round round-robin, then every rank receives every block's summary
// (accepted count, lowest cost and where) and scans them in block order: the scan — and so the accepted
// set, the restarts and the stopping point — is the same for any rank count and any round sizes.
#include "simbi/mcmc/rejection.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "simbi/core/random.hpp"
#include "simbi/dist/comm.hpp"

namespace simbi::mcmc {

namespace {

using dist::Comm;
using Clock = std::chrono::steady_clock;

constexpr double kInf = std::numeric_limits<double>::infinity();
// Stream tags within StreamPurpose::sampling ("PILT", "REJC"), apart from the MCMC engine's ("MCMC").
constexpr uint64_t kPilotTag = uint64_t{0x50494C54} << 32;
constexpr uint64_t kDrawTag = uint64_t{0x52454A43} << 32;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Block b's θ (its first `rows` draws): prior draws from the block's own substream.
void draw_block(const sim::Prior& prior, const RandomStream& base, int64_t b, Matrix& theta, int64_t rows) {
  RandomStream rng = base.substream(static_cast<uint64_t>(b)).substream(0);
  for (int64_t i = 0; i < rows; ++i) prior.sample_one(theta.row(i), rng);
}

}  // namespace

GbiRejectionSampler::GbiRejectionSampler(const sim::Prior& prior, CostFunction cost, const RejectionOptions& o)
    : prior_(prior), cost_(std::move(cost)), options_(o) {
  const Comm comm(o.comm);
  const bool search = std::isnan(o.fixed_bound);
  comm.run_agreed([&] {
    auto bad = [](bool cond, const std::string& what) {
      require(!cond, ErrorKind::invalid_argument, "rejection sampler: " + what);
    };
    bad(!cost_, "no cost function");
    bad(prior.dim() < 1, "the prior has no parameters");
    bad(o.block_draws < 1, "block_draws must be >= 1");
    bad(search && o.pilot_draws < 1, "pilot_draws must be >= 1");
    bad(o.refine_starts < 0 || o.refine_evaluations < 1, "refine_starts must be >= 0 and refine_evaluations >= 1");
    bad(!(o.bound_margin >= 0.0) || !std::isfinite(o.bound_margin), "bound_margin must be a number >= 0");
    bad(!search && !std::isfinite(o.fixed_bound), "fixed_bound must be finite (or NaN: search)");
    bad(o.max_blocks_per_round < 1, "max_blocks_per_round must be >= 1");
  });
  if (!search) {
    bound_ = o.fixed_bound;
    return;
  }
  const int64_t d = prior.dim(), B = o.block_draws;
  pilot_blocks_ = ceil_div(o.pilot_draws, B);
  const RandomStream base(o.seed, StreamPurpose::sampling, kPilotTag);
  // This rank's pilot blocks; the lowest `keep` costs of them as [cost, global index, θ...] candidates.
  const int64_t keep = std::max<int64_t>(1, o.refine_starts);
  std::vector<std::pair<double, int64_t>> best;  // (cost, global row index)
  std::vector<float> best_theta;                 // keep × d, parallel to `best` before sorting
  int64_t nonfinite = 0;
  comm.run_agreed([&] {
    Matrix theta(B, d);
    std::vector<double> c(static_cast<size_t>(B));
    std::vector<std::pair<double, int64_t>> cand;
    std::vector<float> cand_theta;
    for (int64_t b = comm.rank(); b < pilot_blocks_; b += comm.size()) {
      draw_block(prior, base, b, theta, B);
      cost_(theta.view(), c.data());
      my_pilot_blocks_.push_back(b);
      my_pilot_costs_.insert(my_pilot_costs_.end(), c.begin(), c.end());
      for (int64_t i = 0; i < B; ++i) {
        if (std::isnan(c[i])) {
          ++nonfinite;
          continue;
        }
        cand.emplace_back(c[i], b * B + i);
        cand_theta.insert(cand_theta.end(), theta.row(i), theta.row(i) + d);
      }
      // Keep only the lowest `keep` candidates so far (ties by index: deterministic).
      std::vector<size_t> order(cand.size());
      for (size_t k = 0; k < order.size(); ++k) order[k] = k;
      const size_t m = std::min(order.size(), static_cast<size_t>(keep));
      std::partial_sort(order.begin(), order.begin() + m, order.end(),
                        [&](size_t a, size_t b2) { return cand[a] < cand[b2]; });
      std::vector<std::pair<double, int64_t>> next;
      std::vector<float> next_theta;
      for (size_t k = 0; k < m; ++k) {
        next.push_back(cand[order[k]]);
        next_theta.insert(next_theta.end(), cand_theta.begin() + order[k] * d, cand_theta.begin() + (order[k] + 1) * d);
      }
      cand.swap(next);
      cand_theta.swap(next_theta);
    }
    best = cand;
    best_theta = cand_theta;
  });
  // Every rank's candidates → the global lowest `keep`, the same list on every rank.
  std::vector<double> mine;
  for (size_t k = 0; k < best.size(); ++k) {
    mine.push_back(best[k].first);
    mine.push_back(static_cast<double>(best[k].second));
    for (int64_t j = 0; j < d; ++j) mine.push_back(best_theta[k * d + j]);
  }
  const std::vector<double> all = comm.allgather(mine);
  const int64_t stride = 2 + d;
  std::vector<size_t> order(all.size() / stride);
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::make_pair(all[a * stride], all[a * stride + 1]) < std::make_pair(all[b * stride], all[b * stride + 1]);
  });
  nonfinite = comm.sum(nonfinite);
  comm.run_agreed([&] {
    require(!order.empty(), ErrorKind::numeric,
            "rejection sampler: the cost is NaN at all " + std::to_string(pilot_draws()) + " pilot draws");
  });
  // The lowest candidates are refined (on rank 0).
  std::vector<std::vector<float>> starts;
  for (size_t k = 0; k < std::min(order.size(), static_cast<size_t>(o.refine_starts)); ++k)
    starts.emplace_back(all.begin() + order[k] * stride + 2, all.begin() + (order[k] + 1) * stride);
  refine_and_set_bound(comm, all[order[0] * stride], starts);
}

void GbiRejectionSampler::refine_and_set_bound(const Comm& comm, double lowest,
                                               const std::vector<std::vector<float>>& starts) {
  std::vector<double> found{lowest, 0.0};
  comm.run_agreed([&] {
    if (comm.rank() != 0) return;
    for (const std::vector<float>& th : starts) {
      std::vector<float> at;
      found[0] = std::min(found[0], refine(th.data(), at));
    }
    found[1] = static_cast<double>(search_evaluations_);
  });
  comm.broadcast(found);
  min_found_ = found[0];
  search_evaluations_ = static_cast<int64_t>(found[1]);
  bound_ = bound_below(min_found_);
}

double GbiRejectionSampler::bound_below(double c) const { return c - options_.bound_margin * (1.0 + std::fabs(c)); }

// Nelder–Mead (reflection 1, expansion 2, contraction ½, shrink ½) on f(u) = C(T(u)), u the prior's
// unconstrained coordinates: every point tried maps into the support (a minimum on a box's face is
// approached as u → ±∞, where T saturates at the face). Two passes, the second restarted from the first's
// best with a smaller simplex (the usual remedy for a collapsed simplex). Returns the lowest C seen.
double GbiRejectionSampler::refine(const float* theta0, std::vector<float>& best_theta) {
  const int64_t d = prior_.dim();
  const int64_t budget = options_.refine_evaluations;
  std::vector<float> th(static_cast<size_t>(d));
  double best = kInf;
  best_theta.assign(theta0, theta0 + d);
  int64_t used = 0;
  auto f = [&](const std::vector<double>& u) {
    prior_.from_unconstrained(u.data(), th.data());
    double c = 0.0;
    cost_(ConstMatrixView{th.data(), 1, d}, &c);
    ++used;
    if (std::isnan(c)) return kInf;
    if (c < best) {
      best = c;
      best_theta = th;
    }
    return c;
  };
  std::vector<double> start(static_cast<size_t>(d));
  prior_.to_unconstrained(theta0, start.data());
  for (const double step : {0.1, 0.005}) {
    const int64_t stop_at = used + budget / 2;
    std::vector<std::vector<double>> x(static_cast<size_t>(d + 1), start);
    std::vector<double> fx(static_cast<size_t>(d + 1));
    for (int64_t j = 0; j < d; ++j) x[j + 1][j] += step;
    for (int64_t j = 0; j <= d; ++j) fx[j] = f(x[j]);
    std::vector<size_t> idx(static_cast<size_t>(d + 1));
    while (used < stop_at) {
      for (size_t k = 0; k < idx.size(); ++k) idx[k] = k;
      std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return fx[a] < fx[b]; });
      const size_t lo = idx.front(), hi = idx.back(), second = idx[idx.size() - 2];
      double size = 0.0;
      for (int64_t j = 0; j <= d; ++j)
        for (int64_t k = 0; k < d; ++k) size = std::max(size, std::fabs(x[j][k] - x[lo][k]));
      if (size < 1e-10 || (std::isfinite(fx[hi]) && fx[hi] - fx[lo] <= 1e-15 * (1.0 + std::fabs(fx[lo])))) break;
      std::vector<double> centroid(static_cast<size_t>(d), 0.0);
      for (int64_t j = 0; j <= d; ++j)
        if (static_cast<size_t>(j) != hi)
          for (int64_t k = 0; k < d; ++k) centroid[k] += x[j][k] / static_cast<double>(d);
      auto along = [&](double t) {
        std::vector<double> p(static_cast<size_t>(d));
        for (int64_t k = 0; k < d; ++k) p[k] = centroid[k] + t * (x[hi][k] - centroid[k]);
        return p;
      };
      const std::vector<double> r = along(-1.0);
      const double fr = f(r);
      if (fr < fx[lo]) {
        const std::vector<double> e = along(-2.0);
        const double fe = f(e);
        x[hi] = fe < fr ? e : r;
        fx[hi] = std::min(fe, fr);
      } else if (fr < fx[second]) {
        x[hi] = r;
        fx[hi] = fr;
      } else {
        const std::vector<double> c = fr < fx[hi] ? along(-0.5) : along(0.5);
        const double fc = f(c);
        if (fc < std::min(fr, fx[hi])) {
          x[hi] = c;
          fx[hi] = fc;
        } else {
          for (int64_t j = 0; j <= d; ++j) {
            if (static_cast<size_t>(j) == lo) continue;
            for (int64_t k = 0; k < d; ++k) x[j][k] = x[lo][k] + 0.5 * (x[j][k] - x[lo][k]);
            fx[j] = f(x[j]);
          }
        }
      }
    }
    prior_.to_unconstrained(best_theta.data(), start.data());
  }
  search_evaluations_ += used;
  return best;
}

double GbiRejectionSampler::estimated_acceptance(double beta) const {
  const Comm comm(options_.comm);
  comm.run_agreed([&] {
    require(std::isfinite(beta) && beta > 0, ErrorKind::invalid_argument, "rejection sampler: beta must be positive");
    require(pilot_blocks_ > 0, ErrorKind::invalid_argument,
            "rejection sampler: no pilot draws to estimate the acceptance rate from (fixed_bound given)");
  });
  // Per-block sums, added in block order: the estimate does not depend on the rank count.
  const int64_t B = options_.block_draws;
  std::vector<double> mine;
  for (size_t k = 0; k < my_pilot_blocks_.size(); ++k) {
    double s = 0.0;
    for (int64_t i = 0; i < B; ++i) {
      const double c = my_pilot_costs_[k * B + i];
      if (!std::isnan(c)) s += std::exp(-beta * (c - bound_));
    }
    mine.push_back(static_cast<double>(my_pilot_blocks_[k]));
    mine.push_back(s);
  }
  const std::vector<double> all = comm.allgather(mine);
  std::vector<double> by_block(static_cast<size_t>(pilot_blocks_), 0.0);
  for (size_t k = 0; k + 1 < all.size(); k += 2) by_block[static_cast<size_t>(all[k])] = all[k + 1];
  double total = 0.0;
  for (double s : by_block) total += s;
  return total / static_cast<double>(pilot_blocks_ * B);
}

RejectionResult GbiRejectionSampler::sample(double beta, int64_t n, int64_t max_draws, uint64_t stream_index) {
  const auto t0 = Clock::now();
  const Comm comm(options_.comm);
  comm.run_agreed([&] {
    require(std::isfinite(beta) && beta > 0, ErrorKind::invalid_argument, "rejection sampler: beta must be positive");
    require(n > 0, ErrorKind::invalid_argument, "rejection sampler: the number of samples must be positive");
    require(max_draws >= 1, ErrorKind::invalid_argument, "rejection sampler: the draw cap must be >= 1");
  });
  const int64_t d = prior_.dim(), B = options_.block_draws;
  const int64_t max_blocks = ceil_div(max_draws, B);
  const RandomStream base(options_.seed, StreamPurpose::sampling, kDrawTag + stream_index);
  const int64_t summary = 4 + d;  // [block, accepted, lowest cost, NaN count, θ at the lowest cost]

  RejectionResult res;
  std::vector<float> kept;  // rank 0: the accepted θ of the current epoch, in block order
  int64_t kept_n = 0, epoch_start = 0, next = 0, per_rank = 1, last_block = -1;
  Matrix theta(B, d);
  std::vector<double> c(static_cast<size_t>(B));
  while (kept_n < n && next < max_blocks) {
    const int64_t round = std::min(per_rank * comm.size(), max_blocks - next);
    const double bound = bound_;
    std::vector<double> sums;
    std::vector<float> accepted;
    comm.run_agreed([&] {
      for (int64_t b = next + comm.rank(); b < next + round; b += comm.size()) {
        const int64_t rows = std::min(B, max_draws - b * B);  // the last block stops at the cap
        draw_block(prior_, base, b, theta, rows);
        cost_(theta.view().rows_range(0, rows), c.data());
        RandomStream u = base.substream(static_cast<uint64_t>(b)).substream(1);
        double count = 0, nan = 0, lowest = kInf;
        int64_t at = 0;
        for (int64_t i = 0; i < rows; ++i) {
          const double log_u = std::log(u.uniform_open());  // drawn for every row: row i's uniform is fixed
          if (std::isnan(c[i])) {
            ++nan;
            continue;
          }
          if (c[i] < lowest) {
            lowest = c[i];
            at = i;
          }
          if (log_u < -beta * (c[i] - bound)) {
            accepted.insert(accepted.end(), theta.row(i), theta.row(i) + d);
            ++count;
          }
        }
        sums.insert(sums.end(), {static_cast<double>(b), count, lowest, nan});
        sums.insert(sums.end(), theta.row(at), theta.row(at) + d);
      }
    });
    const std::vector<double> all = comm.allgather(sums);
    const std::vector<float> all_theta = comm.gather_to_root(accepted);
    // Blocks in order, each with its rows' offset in all_theta (gathered in the same rank-major order).
    std::vector<std::pair<size_t, size_t>> blocks(static_cast<size_t>(round));  // (summary offset, θ offset)
    size_t offset = 0;
    for (size_t k = 0; k < all.size(); k += summary) {
      blocks[static_cast<size_t>(static_cast<int64_t>(all[k]) - next)] = {k, offset};
      offset += static_cast<size_t>(all[k + 1]) * d;
    }
    res.draws += std::min((next + round) * B, max_draws) - next * B;
    bool restarted = false;
    for (int64_t j = 0; j < round; ++j) {
      const double* s = all.data() + blocks[j].first;
      const int64_t b = next + j;
      res.nonfinite += static_cast<int64_t>(s[3]);
      if (s[2] < min_found_) min_found_ = s[2];
      if (s[2] < bound_) {
        // The bound was wrong: lower it below this block's lowest cost (refined on rank 0 from there),
        // drop the accepted set and start again after this block.
        refine_and_set_bound(comm, min_found_, {std::vector<float>(s + 4, s + 4 + d)});
        ++res.bound_restarts;
        kept.clear();
        kept_n = 0;
        epoch_start = next = b + 1;
        restarted = true;
        break;
      }
      const int64_t count = static_cast<int64_t>(s[1]);
      if (comm.rank() == 0)
        kept.insert(kept.end(), all_theta.begin() + blocks[j].second, all_theta.begin() + blocks[j].second + count * d);
      kept_n += count;
      if (kept_n >= n) {
        last_block = b;
        break;
      }
    }
    if (restarted) {
      per_rank = 1;
      continue;
    }
    if (kept_n >= n) break;
    next += round;
    // Size the next round from the acceptance so far (only the speed depends on it, not the result).
    if (kept_n > 0) {
      const double rate = static_cast<double>(kept_n) / static_cast<double>((next - epoch_start) * B);
      const double blocks_needed = 1.1 * static_cast<double>(n - kept_n) / rate / static_cast<double>(B);
      per_rank = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(blocks_needed / comm.size())), 1,
                                     options_.max_blocks_per_round);
    } else {
      per_rank = std::min(2 * per_rank, options_.max_blocks_per_round);
    }
  }
  res.complete = kept_n >= n;
  res.accepted = kept_n;
  res.epoch_draws = std::min((res.complete ? last_block + 1 : next) * B, max_draws) - epoch_start * B;
  res.cost_bound = bound_;
  if (comm.rank() == 0) {
    const int64_t rows = std::min(kept_n, n);
    res.samples = kept_n == 0 ? torch::empty({0, d})
                              : torch::from_blob(kept.data(), {kept_n, d}, torch::kFloat).slice(0, 0, rows).clone();
  }
  res.seconds = comm.max(std::chrono::duration<double>(Clock::now() - t0).count());
  return res;
}

namespace {
RejectionOptions with_fixed_bound(RejectionOptions o, double s_max) {
  require(std::isfinite(s_max), ErrorKind::invalid_argument, "bounded-ratio rejection: the bound must be finite");
  o.fixed_bound = -s_max - 1e-6 * (1.0 + std::fabs(s_max));
  return o;
}
CostFunction negated(CostFunction log_ratio) {
  return [f = std::move(log_ratio)](ConstMatrixView theta, double* out) {
    f(theta, out);
    for (int64_t i = 0; i < theta.rows; ++i) out[i] = -out[i];
  };
}
}  // namespace

BoundedRatioSampler::BoundedRatioSampler(const sim::Prior& prior, CostFunction log_ratio, double s_max,
                                         RejectionOptions options)
    : sampler_(prior, negated(std::move(log_ratio)), with_fixed_bound(options, s_max)) {}

}  // namespace simbi::mcmc
