// `simbi inspect --verify` for simulation stores: reads every row and checks the invariants that
// SimStore and simulate/import keep (docs/file_formats.md):
//   - every /status value is 0 (not simulated), 1 (ok) or 2 (failed);
//   - rows marked ok have finite θ and x (training uses them as they are); failed rows have finite θ;
//   - stores written by `simbi simulate` (not imported): a failed row's x is not finite (that is what
//     makes a row failed), and within each chunk no row is marked done after a row still marked not
//     simulated (a chunk's rows are simulated and written in order, data before status).
// Returns one line per check made; Error(format) with one line naming the file, the chunk and the row
// at the first violation. Contract: serial (one process), read-only, memory bounded by a slice of rows.
#pragma once
#include <string>
#include <vector>

namespace simbi::store {

std::vector<std::string> verify_store(const std::string& path);

}  // namespace simbi::store
