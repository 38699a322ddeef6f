// Counter-based random streams (Philox4x32-10): a stream is named by (seed, purpose, index), so any
// rank can reproduce any stream without coordination. Contract: a RandomStream is a value owned by one
// thread; copying it copies its position (both copies then produce the same numbers).
#pragma once
#include <array>
#include <cstdint>

namespace simbi {

// What a stream is used for. Streams of different purposes never overlap.
enum class StreamPurpose : uint64_t {
  prior_draw = 1,   // θ of a simulated row
  simulation = 2,   // the simulator's noise for a row
  shuffle = 3,      // data order in training
  init = 4,         // network initialisation
  sampling = 5,     // posterior sampling
  training_noise = 6,  // reparameterisation draws in training losses, keyed by epoch and batch position
  task_definition = 7,  // fixed constants of a task drawn once from the task's own seed (gbi_linear_gaussian)
  observation = 8,      // `simbi observe`: θ, x and the misspecification walk of made-up observations
  proposal = 9,         // prior candidates of a sequential round's truncated proposal, keyed by round
  test = 100,       // tests
};

// SplitMix64 finaliser: a bijective 64-bit mix, used to derive keys and stream ids.
uint64_t mix64(uint64_t x);

class RandomStream {
 public:
  RandomStream(uint64_t seed, StreamPurpose purpose, uint64_t index);

  // An independent child stream (e.g. one per row of a batch); depends only on this stream's
  // identity and i, not on how far this stream has advanced.
  RandomStream substream(uint64_t i) const;
  // A 64-bit seed summarising this stream's identity (for user simulators that seed their own RNG).
  uint64_t identity_seed() const;

  uint32_t next_u32();
  uint64_t next_u64();
  double uniform();       // [0, 1), 53 random bits
  double uniform_open();  // (0, 1), never 0: safe for log()
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  double normal();        // standard normal (Box-Muller, the second value cached)
  double normal(double mean, double std) { return mean + std * normal(); }
  double gamma(double shape);  // Gamma(shape, 1), Marsaglia-Tsang; shape > 0
  double chi_squared(double df) { return 2.0 * gamma(0.5 * df); }
  // Binomial(n, p), exact: inversion by search from the mode (O(sqrt(n p (1-p))) per draw).
  int64_t binomial(int64_t n, double p);
  // Uniform integer in [0, n), unbiased (rejection).
  uint64_t below(uint64_t n);

 private:
  RandomStream(uint64_t key, uint64_t id) : key_(key), id_(id) {}
  void refill();

  uint64_t key_;
  uint64_t id_;
  uint64_t block_ = 0;
  std::array<uint32_t, 4> buf_{};
  int pos_ = 4;
  bool has_cached_normal_ = false;
  double cached_normal_ = 0.0;
};

}  // namespace simbi

namespace simbi {

// The streams of a batch of rows: row i of the batch uses base.substream(first_row + i), so a row's
// random numbers depend on its global index only, not on how rows are grouped into batches or ranks.
struct RowStreams {
  RandomStream base;
  int64_t first_row = 0;
  RandomStream row(int64_t i) const { return base.substream(static_cast<uint64_t>(first_row + i)); }
};

}  // namespace simbi
