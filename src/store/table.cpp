#include "simbi/store/table.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <sstream>

#include "simbi/core/error.hpp"
#include "simbi/core/log.hpp"
#include "simbi/core/text.hpp"
#include "simbi/store/atomic_file.hpp"

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
  const std::string text = read_whole_file(path);
  // A UTF-8 byte order mark (spreadsheet exports) would make the first number unparsable and turn a
  // headerless first row into a "header".
  const size_t begin = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  int64_t lines_total = 0;
  for (size_t i = begin; i < text.size(); ++i) lines_total += text[i] == '\n' ? 1 : 0;
  const size_t last_newline = text.rfind('\n');
  const bool complete = trim(text.substr(last_newline == std::string::npos ? begin : last_newline + 1)).empty();
  const std::string incomplete = ": last line is incomplete (file truncated?)";
  require(complete, ErrorKind::format, path + ": line " + std::to_string(lines_total + 1) + incomplete);

  Table t;
  std::vector<float> values;
  bool has_header = false;
  int64_t line_no = 0, cols = -1, rows = 0;
  size_t pos = begin;
  while (pos < text.size()) {
    const size_t eol = text.find('\n', pos);
    const std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;  // the last line ends with a newline (checked above)
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
        has_header = true;
        continue;
      }
      for (int64_t j = 1; j <= cols; ++j) t.header.push_back("column_" + std::to_string(j));
    }
    const bool last = line_no == lines_total;
    require(static_cast<int64_t>(fields.size()) == cols, ErrorKind::format,
            path + ": line " + std::to_string(line_no) + " has " + std::to_string(fields.size()) +
                " fields, expected " + std::to_string(cols) + (has_header ? " (as in the header)" : " (as in line 1)") +
                (last && static_cast<int64_t>(fields.size()) < cols ? incomplete : ""));
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
  log::info(path + ": " + (has_header ? "header row (" + join(t.header, ",") + ")" : std::string("no header row")) +
            ", " + std::to_string(rows) + (rows == 1 ? " row of " : " rows of ") + std::to_string(cols) +
            (cols == 1 ? " number" : " numbers"));
  t.values = Matrix(rows, cols);
  std::copy(values.begin(), values.end(), t.values.data());
  return t;
}

void write_csv(const std::string& path, const Table& table) {
  require(static_cast<int64_t>(table.header.size()) == table.values.cols(), ErrorKind::internal,
          "write_csv: header and values disagree on the column count");
  AtomicOutputFile out(path);
  out.write(join(table.header, ",") + "\n");
  // Every float round-trips (max_digits10 significant digits, as an ostream with that precision).
  const int digits = std::numeric_limits<float>::max_digits10;
  std::string row;
  char number[64];
  for (int64_t i = 0; i < table.values.rows(); ++i) {
    row.clear();
    for (int64_t j = 0; j < table.values.cols(); ++j) {
      std::snprintf(number, sizeof number, "%.*g", digits, static_cast<double>(table.values(i, j)));
      if (j) row += ',';
      row += number;
    }
    row += '\n';
    out.write(row);
  }
  out.commit();
}

}  // namespace simbi::store
