#include "simbi/store/usable_rows.hpp"

#include <cmath>

#include "simbi/store/sim_store.hpp"

namespace simbi::store {

std::vector<int64_t> usable_rows(const std::vector<uint8_t>& status, const Matrix& theta, const Matrix& x) {
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < static_cast<int64_t>(status.size()); ++i) {
    bool ok = status[static_cast<size_t>(i)] == kOk;
    for (int64_t j = 0; ok && j < x.cols(); ++j) ok = std::isfinite(x(i, j));
    for (int64_t j = 0; ok && j < theta.cols(); ++j) ok = std::isfinite(theta(i, j));
    if (ok) rows.push_back(i);
  }
  return rows;
}

}  // namespace simbi::store
