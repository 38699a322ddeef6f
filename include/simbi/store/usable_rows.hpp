// Which stored rows are data: simulated successfully (status kOk) with finite θ and x. Training, `simbi abc`
// and the ABC baseline of `simbi sbc` all drop the other rows by this one rule.
#pragma once
#include <cstdint>
#include <vector>

#include "simbi/core/matrix.hpp"

namespace simbi::store {

// Indices (ascending) of the rows i with status[i] == kOk and every value of theta.row(i), x.row(i) finite.
std::vector<int64_t> usable_rows(const std::vector<uint8_t>& status, const Matrix& theta, const Matrix& x);

}  // namespace simbi::store
