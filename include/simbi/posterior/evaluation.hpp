// `simbi evaluate` as a library call: C2ST and MMD of posterior samples against reference samples, as
// sbibm reports them (the first max_samples rows of each file). C2ST folds are dealt round-robin to the
// ranks; MMD runs on the rank with the fewest folds. Contract: COLLECTIVE over simbi's world; bad input
// (unknown metric, too few rows, non-finite samples, mismatched columns) is a simbi::Error agreed across
// the ranks before any work; the result is complete on every rank; rank 0 writes the JSON.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace simbi::posterior {

struct EvaluationRequest {
  std::string samples, reference;  // CSV with a header, or file.h5:/dataset
  std::string out;                 // metrics JSON ("" = none)
  std::string metrics = "c2st,mmd";
  uint64_t seed = 1;
  int64_t max_samples = 10000;  // 0: all rows
  int folds = 5;
  bool double_precision = false;
  int threads = 0;  // per rank; 0: the node's cores shared by its ranks
};

struct Evaluation {
  nlohmann::json record;  // every figure, as written to `out`
  std::string line;       // the one-line summary `simbi evaluate` prints
  bool has_c2st = false;
  double c2st = 0.0;  // mean accuracy over the folds (when has_c2st)
};

Evaluation evaluate_samples(const EvaluationRequest& request);

}  // namespace simbi::posterior
