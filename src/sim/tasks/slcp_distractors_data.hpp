// The fixed data of slcp_distractors: a mixture of 20 Student-t distributions in 92-D and the output
// permutation, parsed from the embedded data/slcp_distractors_gmm.bin. Private to src/sim (and tests).
// Contract: slcp_distractors_data() parses once (thread-safe static) and is read-only afterwards.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace simbi::sim::tasks {

struct SlcpDistractorsData {
  static constexpr int64_t kComponents = 20;
  static constexpr int64_t kDim = 92;              // distractor dimensions
  static constexpr int64_t kPermutationLen = 100;  // 8 SLCP values + 92 distractors
  static constexpr int64_t kTrilSize = kDim * (kDim + 1) / 2;

  double df = 0.0;                 // degrees of freedom, shared by the components
  std::vector<double> loc;         // [kComponents][kDim]
  std::vector<double> scale_tril;  // [kComponents][kTrilSize]: lower triangles packed row by row, as
                                   // stored by sbibm (some diagonal entries are negative)
  std::vector<int32_t> perm;       // x[j] = y[perm[j]], y = [slcp (8), distractors (92)]

  const double* loc_of(int64_t c) const { return loc.data() + c * kDim; }
  // Row r (columns 0..r) of component c's lower triangle.
  const double* tril_row(int64_t c, int64_t r) const { return scale_tril.data() + c * kTrilSize + r * (r + 1) / 2; }
};

// Parses the binary layout written by scripts/dev/make_slcp_distractors_data.py; throws
// Error(internal) naming the field when the magic, version, counts, size or values are wrong.
SlcpDistractorsData parse_slcp_distractors_data(const unsigned char* bytes, size_t size);

// The embedded data, parsed on first use.
const SlcpDistractorsData& slcp_distractors_data();

}  // namespace simbi::sim::tasks
