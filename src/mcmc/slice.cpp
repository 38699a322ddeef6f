// Vectorized coordinate-wise slice sampling (Neal 2003, §4: stepping-out and shrinkage). Every chain
// of the rank updates one coordinate at a time, in a fresh random order per sweep drawn from its own
// stream; all chains advance together and every potential evaluation is one batched call over the
// chains still working on the current step (stepping out to the left and to the right share the call).
#include <torch/torch.h>

#include <cmath>

#include "samplers.hpp"

namespace simbi::mcmc::detail {

namespace {

class SliceSampler final : public ChainSampler {
 public:
  SliceSampler(ChainSet& chains, UnconstrainedTarget& target, const McmcOptions& o)
      : ch_(chains), target_(target), o_(o) {
    const size_t n = static_cast<size_t>(ch_.count), d = static_cast<size_t>(ch_.dim);
    width_.assign(n * d, o_.slice_width);
    order_.resize(n * d);
    coord_.resize(n);
    x0_.resize(n);
    w_.resize(n);
    logy_.resize(n);
    lo_.resize(n);
    hi_.resize(n);
    x1_.resize(n);
    steps_left_.resize(n);
    steps_right_.resize(n);
    active_.resize(n);
    tune_sweeps_ = std::min(o_.slice_tune_sweeps, o_.warmup);
  }

  void iterate(int64_t t) override {
    const int64_t n = ch_.count, d = ch_.dim;
    if (n == 0) return;
    // A fresh random coordinate order per chain (Fisher-Yates from the chain's stream).
    for (int64_t c = 0; c < n; ++c) {
      int64_t* ord = order_.data() + c * d;
      for (int64_t j = 0; j < d; ++j) ord[j] = j;
      for (int64_t j = d - 1; j > 0; --j) std::swap(ord[j], ord[static_cast<int64_t>(ch_.rng[c].below(j + 1))]);
    }
    for (int64_t k = 0; k < d; ++k) update_coordinate(t, k);
  }

  SamplerStats stats() const override { return stats_; }

 private:
  // Appends chain c's state with coordinate coord_[c] set to x as a row to evaluate.
  void push_row(int64_t c, double x, int64_t tag) {
    const int64_t d = ch_.dim;
    const size_t at = rows_.size();
    rows_.insert(rows_.end(), ch_.u.begin() + c * d, ch_.u.begin() + (c + 1) * d);
    rows_[at + static_cast<size_t>(coord_[c])] = x;
    row_chain_.push_back(c);
    row_tag_.push_back(tag);
  }

  void evaluate() {
    const int64_t m = static_cast<int64_t>(row_chain_.size());
    vals_.resize(static_cast<size_t>(m));
    target_.log_prob(rows_.data(), m, vals_.data());
  }

  void clear_rows() {
    rows_.clear();
    row_chain_.clear();
    row_tag_.clear();
  }

  void update_coordinate(int64_t t, int64_t k) {
    const int64_t n = ch_.count, d = ch_.dim;
    const int64_t m = o_.slice_max_step_out;
    const bool counting = t >= o_.warmup;
    // Slice level, a bracket of width w placed at random around x0, and Neal's split of the m steps.
    for (int64_t c = 0; c < n; ++c) {
      RandomStream& rng = ch_.rng[c];
      const int64_t j = order_[c * d + k];
      coord_[c] = j;
      x0_[c] = ch_.u[c * d + j];
      w_[c] = width_[c * d + j];
      logy_[c] = ch_.logp[c] + std::log(rng.uniform_open());  // log f(x0) − Exp(1)
      lo_[c] = x0_[c] - w_[c] * rng.uniform();
      hi_[c] = lo_[c] + w_[c];
      const int64_t jl = static_cast<int64_t>(std::floor(static_cast<double>(m) * rng.uniform()));
      steps_left_[c] = jl;
      steps_right_[c] = m - 1 - jl;
    }
    // Stepping out: each call evaluates the left ends of the chains still extending to the left and
    // the right ends of those still extending to the right.
    for (;;) {
      clear_rows();
      for (int64_t c = 0; c < n; ++c)
        if (steps_left_[c] > 0) push_row(c, lo_[c], 0);
      for (int64_t c = 0; c < n; ++c)
        if (steps_right_[c] > 0) push_row(c, hi_[c], 1);
      if (row_chain_.empty()) break;
      evaluate();
      for (size_t r = 0; r < row_chain_.size(); ++r) {
        const int64_t c = row_chain_[r];
        const bool left = row_tag_[r] == 0;
        int64_t& steps = left ? steps_left_[c] : steps_right_[c];
        if (vals_[r] > logy_[c]) {  // the end is inside the slice: extend
          if (left)
            lo_[c] -= w_[c];
          else
            hi_[c] += w_[c];
          if (--steps == 0 && counting) ++stats_.step_out_limited;
        } else {
          steps = 0;
        }
      }
    }
    // Shrinkage: propose uniformly in the bracket; accept inside the slice, else shrink towards x0.
    std::fill(active_.begin(), active_.end(), 1);
    int64_t remaining = n;
    for (int64_t it = 0; it < o_.slice_max_shrink && remaining > 0; ++it) {
      clear_rows();
      for (int64_t c = 0; c < n; ++c) {
        if (!active_[c]) continue;
        x1_[c] = lo_[c] + (hi_[c] - lo_[c]) * ch_.rng[c].uniform();
        push_row(c, x1_[c], 0);
      }
      evaluate();
      for (size_t r = 0; r < row_chain_.size(); ++r) {
        const int64_t c = row_chain_[r];
        if (vals_[r] > logy_[c]) {
          ch_.u[c * d + coord_[c]] = x1_[c];
          ch_.logp[c] = vals_[r];
          active_[c] = 0;
          --remaining;
          // Width tuning (as sbi's vectorized slice sampler): running mean of the final brackets.
          if (t < tune_sweeps_) {
            const double observed = hi_[c] - lo_[c];
            double& w = width_[c * d + coord_[c]];
            if (std::isfinite(observed) && observed > 0.0) w += (observed - w) / static_cast<double>(t + 1);
          }
        } else if (x1_[c] < x0_[c]) {
          lo_[c] = x1_[c];
        } else {
          hi_[c] = x1_[c];
        }
      }
    }
    if (counting) {
      stats_.shrink_exhausted += remaining;  // those chains keep x0 for this coordinate
      stats_.updates += n;
    }
  }

  ChainSet& ch_;
  UnconstrainedTarget& target_;
  const McmcOptions& o_;
  int64_t tune_sweeps_ = 0;
  std::vector<double> width_;   // count × dim bracket widths, per chain (keeps chains independent)
  std::vector<int64_t> order_;  // count × dim coordinate order of the current sweep
  std::vector<int64_t> coord_;
  std::vector<double> x0_, w_, logy_, lo_, hi_, x1_;
  std::vector<int64_t> steps_left_, steps_right_;
  std::vector<char> active_;
  std::vector<double> rows_, vals_;
  std::vector<int64_t> row_chain_, row_tag_;
  SamplerStats stats_;
};

}  // namespace

std::unique_ptr<ChainSampler> make_slice_sampler(ChainSet& chains, UnconstrainedTarget& target, const McmcOptions& o) {
  return std::make_unique<SliceSampler>(chains, target, o);
}

}  // namespace simbi::mcmc::detail
