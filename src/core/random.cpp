#include "simbi/core/random.hpp"

#include <cmath>

namespace simbi {

namespace {

inline void mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  const uint64_t p = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}

// Philox4x32 with 10 rounds (Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3").
std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> c, uint32_t k0, uint32_t k1) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(kM0, c[0], hi0, lo0);
    mulhilo(kM1, c[2], hi1, lo1);
    c = {hi1 ^ c[1] ^ k0, lo1, hi0 ^ c[3] ^ k1, lo0};
    k0 += kW0;
    k1 += kW1;
  }
  return c;
}

constexpr double kPi = 3.14159265358979323846;

}  // namespace

uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

RandomStream::RandomStream(uint64_t seed, StreamPurpose purpose, uint64_t index)
    : key_(mix64(seed ^ 0x5EED5EED5EED5EEDull)),
      id_(mix64(mix64(static_cast<uint64_t>(purpose)) ^ mix64(index + 0x632BE59BD9B4E019ull))) {}

RandomStream RandomStream::substream(uint64_t i) const {
  return RandomStream(key_, mix64(id_ ^ mix64(i ^ 0xD1B54A32D192ED03ull)));
}

uint64_t RandomStream::identity_seed() const { return mix64(key_ ^ mix64(id_)); }

void RandomStream::refill() {
  const std::array<uint32_t, 4> ctr = {static_cast<uint32_t>(block_), static_cast<uint32_t>(block_ >> 32),
                                       static_cast<uint32_t>(id_), static_cast<uint32_t>(id_ >> 32)};
  buf_ = philox4x32_10(ctr, static_cast<uint32_t>(key_), static_cast<uint32_t>(key_ >> 32));
  ++block_;
  pos_ = 0;
}

uint32_t RandomStream::next_u32() {
  if (pos_ == 4) refill();
  return buf_[pos_++];
}

uint64_t RandomStream::next_u64() {
  const uint64_t hi = next_u32();
  return (hi << 32) | next_u32();
}

double RandomStream::uniform() {
  const uint32_t a = next_u32() >> 5, b = next_u32() >> 6;  // 27 + 26 = 53 bits
  return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

double RandomStream::uniform_open() {
  double u;
  do {
    u = uniform();
  } while (u == 0.0);
  return u;
}

double RandomStream::normal() {
  if (has_cached_normal_) {
    has_cached_normal_ = false;
    return cached_normal_;
  }
  const double r = std::sqrt(-2.0 * std::log(uniform_open()));
  const double a = 2.0 * kPi * uniform();
  cached_normal_ = r * std::sin(a);
  has_cached_normal_ = true;
  return r * std::cos(a);
}

double RandomStream::gamma(double shape) {
  if (shape < 1.0) {
    // Boost: Gamma(a) = Gamma(a + 1) * U^(1/a).
    const double g = gamma(shape + 1.0);
    return g * std::pow(uniform_open(), 1.0 / shape);
  }
  // Marsaglia & Tsang (2000).
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double z, v;
    do {
      z = normal();
      v = 1.0 + c * z;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = uniform_open();
    if (u < 1.0 - 0.0331 * z * z * z * z) return d * v;
    if (std::log(u) < 0.5 * z * z + d * (1.0 - v + std::log(v))) return d * v;
  }
}

int64_t RandomStream::binomial(int64_t n, double p) {
  if (n <= 0 || !(p > 0.0)) return 0;
  if (p >= 1.0) return n;
  const double q = 1.0 - p;
  const int64_t mode = std::min<int64_t>(n, static_cast<int64_t>(std::floor((n + 1) * p)));
  // pmf at the mode via log-gamma; then walk outwards alternately, subtracting pmf values from u.
  const double log_pm = std::lgamma(n + 1.0) - std::lgamma(mode + 1.0) - std::lgamma(n - mode + 1.0) +
                        mode * std::log(p) + (n - mode) * std::log(q);
  const double pm = std::exp(log_pm);
  double u = uniform() - pm;
  if (u < 0.0) return mode;
  int64_t lo = mode, hi = mode;
  double p_lo = pm, p_hi = pm;
  const double ratio = p / q;
  while (lo > 0 || hi < n) {
    if (lo > 0) {
      p_lo *= static_cast<double>(lo) / (static_cast<double>(n - lo + 1) * ratio);
      --lo;
      u -= p_lo;
      if (u < 0.0) return lo;
    }
    if (hi < n) {
      p_hi *= static_cast<double>(n - hi) * ratio / static_cast<double>(hi + 1);
      ++hi;
      u -= p_hi;
      if (u < 0.0) return hi;
    }
  }
  return mode;  // u left over from rounding in the pmf sum (probability ~1e-15)
}

uint64_t RandomStream::below(uint64_t n) {
  if (n <= 1) return 0;
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t r;
  do {
    r = next_u64();
  } while (r >= limit);
  return r % n;
}

}  // namespace simbi
