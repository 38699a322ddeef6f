#include "simbi/store/table.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include "simbi/core/error.hpp"

namespace simbi::store {

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\"");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\"");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream is(line);
  while (std::getline(is, field, ',')) out.push_back(trim(field));
  if (!line.empty() && line.back() == ',') out.emplace_back("");
  return out;
}

bool parse_number(const std::string& s, float& out) {
  if (s.empty()) return false;
  const char* begin = s.c_str();
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(begin, &end);
  if (end == begin || *end != '\0') return false;
  out = static_cast<float>(v);  // strtod accepts nan/inf spellings
  return true;
}

}  // namespace

Table read_csv(const std::string& path) {
  std::ifstream in(path);
  require(in.good(), ErrorKind::io, path + ": cannot open for reading");
  Table t;
  std::vector<float> values;
  std::string line;
  int64_t line_no = 0, cols = -1, rows = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (trim(line).empty()) continue;
    const std::vector<std::string> fields = split_fields(line);
    if (cols < 0) {
      cols = static_cast<int64_t>(fields.size());
      std::vector<float> numbers(fields.size());
      bool all_numbers = true;
      for (size_t j = 0; j < fields.size(); ++j) all_numbers = all_numbers && parse_number(fields[j], numbers[j]);
      if (!all_numbers) {
        t.header = fields;
        continue;
      }
      for (int64_t j = 1; j <= cols; ++j) t.header.push_back("column_" + std::to_string(j));
    }
    require(static_cast<int64_t>(fields.size()) == cols, ErrorKind::format,
            path + ": line " + std::to_string(line_no) + " has " + std::to_string(fields.size()) +
                " fields, expected " + std::to_string(cols) + " (as in the header)");
    for (int64_t j = 0; j < cols; ++j) {
      float v;
      require(parse_number(fields[static_cast<size_t>(j)], v), ErrorKind::format,
              path + ": line " + std::to_string(line_no) + ", column '" + t.header[static_cast<size_t>(j)] + "': '" +
                  fields[static_cast<size_t>(j)] + "' is not a number");
      values.push_back(v);
    }
    ++rows;
  }
  require(cols > 0, ErrorKind::format, path + ": empty CSV file (expected a header and rows of numbers)");
  t.values = Matrix(rows, cols);
  std::copy(values.begin(), values.end(), t.values.data());
  return t;
}

void write_csv(const std::string& path, const Table& table) {
  require(static_cast<int64_t>(table.header.size()) == table.values.cols(), ErrorKind::internal,
          "write_csv: header and values disagree on the column count");
  std::ofstream out(path);
  require(out.good(), ErrorKind::io, path + ": cannot open for writing");
  for (size_t j = 0; j < table.header.size(); ++j) out << (j ? "," : "") << table.header[j];
  out << '\n';
  out.precision(std::numeric_limits<float>::max_digits10);
  for (int64_t i = 0; i < table.values.rows(); ++i) {
    for (int64_t j = 0; j < table.values.cols(); ++j) out << (j ? "," : "") << table.values(i, j);
    out << '\n';
  }
  out.flush();
  require(out.good(), ErrorKind::io, path + ": writing failed (disk full?)");
}

}  // namespace simbi::store
