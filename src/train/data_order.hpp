// Data order shared by the trainer and its data sources (private to the train module): seeded
// permutations that are the same on every rank and platform, and a rank's part of a global batch.
#pragma once
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "simbi/core/random.hpp"
#include "simbi/dist/world.hpp"

namespace simbi::train::detail {

// Fisher-Yates with a simbi stream.
inline std::vector<int64_t> permutation(int64_t n, uint64_t seed, StreamPurpose purpose, uint64_t index) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) p[static_cast<size_t>(i)] = i;
  RandomStream rng(seed, purpose, index);
  for (int64_t i = n - 1; i > 0; --i) std::swap(p[static_cast<size_t>(i)], p[rng.below(static_cast<uint64_t>(i + 1))]);
  return p;
}

// idx[begin, end) as a Long tensor (a copy).
inline torch::Tensor index_tensor(const std::vector<int64_t>& idx, size_t begin, size_t end) {
  return torch::from_blob(const_cast<int64_t*>(idx.data()) + begin, {static_cast<int64_t>(end - begin)}, torch::kLong)
      .clone();
}

// Rank `rank`'s part [lo, hi) of n rows split as evenly as possible over `size` ranks.
inline std::pair<int64_t, int64_t> slice_of(int64_t n, int64_t rank, int64_t size) {
  return {n * rank / size, n * (rank + 1) / size};
}
inline std::pair<int64_t, int64_t> my_slice(int64_t n) { return slice_of(n, dist::rank(), dist::size()); }

// The number of validation rows (or blocks) of n: the fraction rounded, at least 1, at most n - 1.
inline int64_t validation_count(int64_t n, double fraction) {
  return std::clamp<int64_t>(std::llround(fraction * static_cast<double>(n)), 1, n - 1);
}

}  // namespace simbi::train::detail
