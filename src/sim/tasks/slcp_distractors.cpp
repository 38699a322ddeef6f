// slcp_distractors (sbibm): the 8 SLCP values plus 92 θ-independent draws from a fixed mixture of 20
// multivariate Student-t (df 2), permuted to x[j] = y[perm[j]] (docs/methods.md §7). The mixture is embedded data.
#include <cmath>
#include <cstring>
#include <string>

#include "builtin_tasks.hpp"
#include "embedded_data.hpp"
#include "simbi/core/error.hpp"
#include "slcp_core.hpp"
#include "slcp_distractors_data.hpp"

namespace simbi::sim::tasks {

namespace {

using Data = SlcpDistractorsData;
static_assert(kSlcpDataDim + Data::kDim == Data::kPermutationLen, "y = [slcp, distractors] must fill x");

constexpr char kMagic[8] = {'S', 'I', 'M', 'B', 'I', 'G', 'M', 'M'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderBytes = 32;
const char* const kWhat = "embedded slcp_distractors data (data/slcp_distractors_gmm.bin)";

void check(bool cond, const std::string& field, const std::string& expected) {
  require(cond, ErrorKind::internal, std::string(kWhat) + ": field '" + field + "': expected " + expected);
}

uint32_t read_u32(const unsigned char* p) {  // little-endian, independent of the host's byte order
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

double read_f64(const unsigned char* p) {
  uint64_t bits = 0;
  for (int i = 7; i >= 0; --i) bits = bits << 8 | p[i];
  double v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

void read_f64_array(const unsigned char*& p, std::vector<double>& out, size_t n, const std::string& field) {
  out.resize(n);
  for (size_t i = 0; i < n; ++i, p += 8) {
    out[i] = read_f64(p);
    check(std::isfinite(out[i]), field, "finite numbers (entry " + std::to_string(i) + " is not)");
  }
}

class SlcpDistractorsSimulator final : public RowwiseSimulator {
 public:
  SlcpDistractorsSimulator() : data_(slcp_distractors_data()) {}
  int64_t theta_dim() const override { return kSlcpThetaDim; }
  int64_t x_dim() const override { return Data::kPermutationLen; }

 protected:
  bool simulate_row(const float* theta, float* x, RandomStream& rng) const override {
    double y[Data::kPermutationLen];
    simulate_slcp_core(theta, y, rng);  // y[0..8)
    // Distractors, pyro's MultivariateStudentT form: n = loc_c + L_c·z·sqrt(df / w), w ~ χ²(df).
    const int64_t c = static_cast<int64_t>(rng.below(Data::kComponents));
    double z[Data::kDim];
    for (int64_t i = 0; i < Data::kDim; ++i) z[i] = rng.normal();
    const double f = std::sqrt(data_.df / rng.chi_squared(data_.df));
    const double* loc = data_.loc_of(c);
    double* n = y + kSlcpDataDim;
    for (int64_t r = 0; r < Data::kDim; ++r) {
      const double* l = data_.tril_row(c, r);
      double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;  // independent chains for the dot product
      int64_t k = 0;
      for (; k + 3 <= r; k += 4) {
        s0 += l[k] * z[k];
        s1 += l[k + 1] * z[k + 1];
        s2 += l[k + 2] * z[k + 2];
        s3 += l[k + 3] * z[k + 3];
      }
      for (; k <= r; ++k) s0 += l[k] * z[k];
      n[r] = loc[r] + f * ((s0 + s1) + (s2 + s3));
    }
    for (int64_t j = 0; j < Data::kPermutationLen; ++j) x[j] = static_cast<float>(y[data_.perm[j]]);
    return true;
  }

 private:
  const Data& data_;
};

}  // namespace

SlcpDistractorsData parse_slcp_distractors_data(const unsigned char* bytes, size_t size) {
  check(bytes != nullptr && size >= kHeaderBytes, "header",
        "at least " + std::to_string(kHeaderBytes) + " bytes, got " + std::to_string(size));
  check(std::memcmp(bytes, kMagic, sizeof kMagic) == 0, "magic", "\"SIMBIGMM\"");
  const uint32_t version = read_u32(bytes + 8), n_comp = read_u32(bytes + 12), dim = read_u32(bytes + 16),
                 perm_len = read_u32(bytes + 20);
  check(version == kVersion, "version", std::to_string(kVersion) + ", got " + std::to_string(version));
  check(n_comp == Data::kComponents, "n_components",
        std::to_string(Data::kComponents) + ", got " + std::to_string(n_comp));
  check(dim == Data::kDim, "dim", std::to_string(Data::kDim) + ", got " + std::to_string(dim));
  check(perm_len == Data::kPermutationLen, "perm_len",
        std::to_string(Data::kPermutationLen) + ", got " + std::to_string(perm_len));
  const size_t n_loc = Data::kComponents * Data::kDim, n_tril = Data::kComponents * Data::kTrilSize;
  const size_t expected_size = kHeaderBytes + 8 * (n_loc + n_tril) + 4 * Data::kPermutationLen;
  check(size == expected_size, "size", std::to_string(expected_size) + " bytes, got " + std::to_string(size));

  Data d;
  d.df = read_f64(bytes + 24);
  check(std::isfinite(d.df) && d.df > 0.0, "df", "a finite number > 0");
  const unsigned char* p = bytes + kHeaderBytes;
  read_f64_array(p, d.loc, n_loc, "loc");
  read_f64_array(p, d.scale_tril, n_tril, "scale_tril");
  for (int64_t c = 0; c < Data::kComponents; ++c)
    for (int64_t r = 0; r < Data::kDim; ++r)
      check(d.tril_row(c, r)[r] != 0.0, "scale_tril", "non-zero diagonal entries (a non-singular scale)");
  d.perm.resize(Data::kPermutationLen);
  std::vector<bool> seen(Data::kPermutationLen, false);
  for (int64_t j = 0; j < Data::kPermutationLen; ++j, p += 4) {
    const int32_t v = static_cast<int32_t>(read_u32(p));
    check(v >= 0 && v < Data::kPermutationLen && !seen[v], "perm", "a permutation of 0..99");
    seen[v] = true;
    d.perm[j] = v;
  }
  return d;
}

const SlcpDistractorsData& slcp_distractors_data() {
  static const SlcpDistractorsData data = [] {
    const ByteSpan bytes = slcp_distractors_gmm_bytes();
    return parse_slcp_distractors_data(bytes.data, bytes.size);
  }();
  return data;
}

Task make_slcp_distractors() {
  Task t;
  t.name = "slcp_distractors";
  t.description = "slcp plus 92 uninformative Student-t mixture dimensions, permuted (sbibm)";
  t.prior = make_slcp_prior();
  t.simulator = std::make_unique<SlcpDistractorsSimulator>();
  t.theta_labels = default_theta_labels(kSlcpThetaDim);
  return t;
}

}  // namespace simbi::sim::tasks
