// Header-only helpers shared by the unit tests: reading the benchmark's CSV files under SIMBI_TEST_DATA
// and small statistics (normal CDF, Kolmogorov-Smirnov). Namespace simbi::test (alias simbi::test_util).
// Contract: plain functions, no global state.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace simbi::test {

// A CSV file with a header row and numeric cells (any header is accepted, e.g. sbibm's LaTeX names).
struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<double>> rows;

  // All cells, row by row (e.g. a one-column file as a vector).
  std::vector<double> flat() const {
    std::vector<double> out;
    for (const auto& r : rows) out.insert(out.end(), r.begin(), r.end());
    return out;
  }
};

// Reads a numeric CSV with a header row; throws std::runtime_error naming the file on any problem.
inline CsvTable read_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  CsvTable t;
  std::string line;
  if (!std::getline(in, line)) throw std::runtime_error(path + ": empty file");
  {
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) t.header.push_back(cell);
  }
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<double> row;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) {
      char* end = nullptr;
      const double v = std::strtod(cell.c_str(), &end);
      if (end == cell.c_str()) throw std::runtime_error(path + ": not a number: '" + cell + "'");
      row.push_back(v);
    }
    if (row.size() != t.header.size())
      throw std::runtime_error(path + ": row " + std::to_string(t.rows.size() + 1) + " has " +
                               std::to_string(row.size()) + " cells, the header " + std::to_string(t.header.size()));
    t.rows.push_back(std::move(row));
  }
  return t;
}

// A path under the test data folder (tests/data).
inline std::string test_data_path(const std::string& relative) { return std::string(SIMBI_TEST_DATA) + "/" + relative; }
inline std::string data_path(const std::string& relative) { return test_data_path(relative); }

// tests/data/sbibm/<task>/obs<k>/<file>, e.g. sbibm_obs_file("slcp", 1, "observation.csv").
inline std::string sbibm_obs_file(const std::string& task, int k, const std::string& file) {
  return test_data_path("sbibm/" + task + "/obs" + std::to_string(k) + "/" + file);
}

// The single data row of a one-row CSV (an observation or true parameters).
inline std::vector<double> read_csv_row(const std::string& path) {
  CsvTable t = read_csv(path);
  if (t.rows.size() != 1) throw std::runtime_error(path + ": expected exactly one data row");
  return t.rows[0];
}

// One column of a CSV as a vector.
inline std::vector<double> read_csv_column(const std::string& path, size_t column = 0) {
  CsvTable t = read_csv(path);
  std::vector<double> out;
  for (const auto& r : t.rows) out.push_back(r.at(column));
  return out;
}

inline double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

// One-sample Kolmogorov-Smirnov statistic sup |F_n - F| of `sample` against the continuous CDF `cdf`.
inline double ks_statistic(std::vector<double> sample, const std::function<double(double)>& cdf) {
  std::sort(sample.begin(), sample.end());
  const double n = static_cast<double>(sample.size());
  double d = 0.0;
  for (size_t i = 0; i < sample.size(); ++i) {
    const double f = cdf(sample[i]);
    d = std::max({d, (i + 1) / n - f, f - i / n});
  }
  return d;
}

// Asymptotic p-value of a KS statistic d for n samples (Stephens' small-sample correction).
inline double ks_pvalue(double d, size_t n) {
  const double sn = std::sqrt(static_cast<double>(n));
  const double lambda = (sn + 0.12 + 0.11 / sn) * d;
  if (lambda < 0.2) return 1.0;
  double p = 0.0;
  for (int k = 1; k <= 100; ++k) {
    const double term = std::exp(-2.0 * k * k * lambda * lambda);
    p += (k % 2 ? 2.0 : -2.0) * term;
    if (term < 1e-12) break;
  }
  return std::min(std::max(p, 0.0), 1.0);
}

}  // namespace simbi::test

namespace simbi {
namespace test_util = test;  // both names are in use by the test files
}  // namespace simbi
