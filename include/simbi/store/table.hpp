// Tables of numbers (observations, posterior samples, imported θ/x) as CSV with a header row, the
// benchmark's layout (one row per observation or sample). Contract: serial file I/O, no MPI.
#pragma once
#include <string>
#include <vector>

#include "simbi/core/matrix.hpp"

namespace simbi::store {

struct Table {
  std::vector<std::string> header;  // one name per column
  Matrix values;                    // rows x columns
};

// Reads a CSV file (the one CSV reader: observations, samples, θ, imported data). A leading UTF-8 byte
// order mark is skipped. The first row is the header unless every field of it is a number (then the
// columns are named column_1..); which was decided is logged (info). "nan", "inf", "-inf" are accepted as
// values. Errors (Error(format)) name the file, the line and the column: ragged rows, non-numeric fields,
// an empty file, and a last line without its newline ("last line is incomplete (file truncated?)": a
// file cut short by a full disk or a kill is refused, never read as fewer or shorter rows).
Table read_csv(const std::string& path);
// Writes a CSV with the header and full float precision (max_digits10), atomically (AtomicOutputFile:
// a failure leaves no file under `path`, and an old one untouched).
void write_csv(const std::string& path, const Table& table);

// A matrix from "file.csv" / "file.txt" (read_csv; the header goes to *header when given) or
// "file.h5[:/dataset]" (default_dataset when none is named; a 1-D dataset is one column). Error(format)
// naming the file and dataset otherwise.
Matrix read_matrix(const std::string& spec, const std::string& default_dataset, std::vector<std::string>* header);
// Posterior samples (rows of θ, float32 row-major) as a CSV with the parameters' labels as header
// (write_csv: atomically).
void write_samples_csv(const std::string& path, const std::vector<std::string>& labels, ConstMatrixView theta);

}  // namespace simbi::store
