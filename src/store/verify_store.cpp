#include "simbi/store/verify_store.hpp"

#include <algorithm>
#include <cmath>

#include "simbi/core/error.hpp"
#include "simbi/store/sim_store.hpp"

namespace simbi::store {

namespace {

bool finite_row(const Matrix& m, int64_t i) {
  for (int64_t j = 0; j < m.cols(); ++j)
    if (!std::isfinite(m(i, j))) return false;
  return true;
}

}  // namespace

std::vector<std::string> verify_store(const std::string& path) {
  const SimStore store = SimStore::open_read(path);
  const SimStoreMeta& m = store.meta();
  const bool simulated = m.simulator.rfind("imported:", 0) != 0;
  const int64_t chunk = std::max<int64_t>(m.chunk_rows, 1);
  // At most ~64 MiB of x per read (lorenz96 rows are 1.6 MB).
  const int64_t slice =
      std::max<int64_t>(1, std::min<int64_t>(chunk, (int64_t{16} << 20) / std::max<int64_t>(m.x_dim, 1)));
  StatusCounts counts;
  Matrix theta, x;
  std::vector<uint8_t> status;
  for (int64_t c0 = 0; c0 < m.budget; c0 += chunk) {
    const int64_t c1 = std::min(m.budget, c0 + chunk);
    const std::string where = path + ": chunk " + std::to_string(c0 / chunk) + " (rows " + std::to_string(c0) + ".." +
                              std::to_string(c1 - 1) + "): row ";
    int64_t first_pending = -1;
    for (int64_t s0 = c0; s0 < c1; s0 += slice) {
      const int64_t rows = std::min(slice, c1 - s0);
      store.read_rows(s0, rows, theta, x, status);
      for (int64_t i = 0; i < rows; ++i) {
        const int64_t r = s0 + i;
        const uint8_t st = status[static_cast<size_t>(i)];
        require(st == kNotSimulated || st == kOk || st == kFailed, ErrorKind::format,
                where + std::to_string(r) + " has status " + std::to_string(st) +
                    " (expected 0 not simulated, 1 ok or 2 failed): /status is damaged");
        if (st == kNotSimulated) {
          if (first_pending < 0) first_pending = r;
          ++counts.not_simulated;
          continue;
        }
        require(!simulated || first_pending < 0, ErrorKind::format,
                where + std::to_string(r) + " is marked done after row " + std::to_string(first_pending) +
                    " is marked not simulated (a chunk's rows are written in order): /status is damaged");
        require(finite_row(theta, i), ErrorKind::format,
                where + std::to_string(r) + " is marked " + (st == kOk ? "ok" : "failed") +
                    " but its theta is not finite: the row's data is damaged");
        if (st == kOk) {
          require(finite_row(x, i), ErrorKind::format,
                  where + std::to_string(r) + " is marked ok but its x is not finite: the row's data is damaged");
          ++counts.ok;
        } else {
          require(!simulated || !finite_row(x, i), ErrorKind::format,
                  where + std::to_string(r) +
                      " is marked failed but its x is finite (simulate marks exactly the non-finite rows failed): "
                      "/status or /x is damaged");
          ++counts.failed;
        }
      }
    }
  }
  const int64_t chunks = (m.budget + chunk - 1) / chunk;
  std::vector<std::string> checks = {"metadata and dataset shapes (" + std::to_string(m.budget) + " rows in " +
                                         std::to_string(chunks) + " chunk(s) of " + std::to_string(chunk) + ")",
                                     "every status value is 0, 1 or 2 (ok " + std::to_string(counts.ok) + ", failed " +
                                         std::to_string(counts.failed) + ", not simulated " +
                                         std::to_string(counts.not_simulated) + ")",
                                     "rows marked ok have finite theta and x; rows marked failed have finite theta"};
  if (simulated) {
    checks.push_back("rows marked failed have a non-finite x");
    checks.push_back("no row marked done after a row not simulated in the same chunk");
  }
  return checks;
}

}  // namespace simbi::store
