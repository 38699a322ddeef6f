// Small helpers shared by the cli commands.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "commands.hpp"
#include "simbi/core/error.hpp"
#include "simbi/dist/world.hpp"

namespace simbi::cli {

namespace {

// The canonical decimal form of `value` into *canonical, or "" when it is not a decimal integer in range.
bool canonical_integer(const std::string& value, IntRange range, std::string* canonical) {
  size_t i = 0;
  const bool negative = !value.empty() && value[0] == '-';
  if (!value.empty() && (value[0] == '-' || value[0] == '+')) i = 1;
  if (i == value.size()) return false;
  for (size_t k = i; k < value.size(); ++k)
    if (value[k] < '0' || value[k] > '9') return false;
  while (i + 1 < value.size() && value[i] == '0') ++i;  // no octal: "010" is ten
  const std::string digits = value.substr(i);
  if (digits.size() > 20) return false;
  uint64_t magnitude = 0;
  for (char c : digits) {
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (magnitude > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;
    magnitude = magnitude * 10 + d;
  }
  if (negative && magnitude != 0) {
    // -magnitude >= lo, i.e. magnitude <= -lo (lo < 0), computed without overflowing int64.
    if (range.lo >= 0 || magnitude - 1 > static_cast<uint64_t>(-(range.lo + 1))) return false;
  } else {
    if (range.lo > 0 && magnitude < static_cast<uint64_t>(range.lo)) return false;
    if (magnitude > range.hi) return false;
  }
  *canonical = (negative && magnitude != 0 ? "-" : "") + digits;
  return true;
}

std::string range_text(IntRange range) {
  return "[" + std::to_string(range.lo) + ", " + std::to_string(range.hi) + "]";
}

}  // namespace

std::string check_integer(const std::string& value, IntRange range) {
  std::string canonical;
  if (canonical_integer(value, range, &canonical)) return "";
  return "expected an integer in " + range_text(range) + ", got " + value;
}

CLI::Validator integer_in(IntRange range) {
  return CLI::Validator(
      [range](std::string& value) {
        std::string canonical;
        if (!canonical_integer(value, range, &canonical)) return check_integer(value, range);
        value = canonical;
        return std::string();
      },
      "in " + range_text(range), kIntegerCheck);
}

void require_checked_integers(const CLI::App& app) {
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    for (const CLI::Option* o : sub->get_options()) {
      const std::string full = o->get_type_name();  // "INT:<validator descriptions>"
      const std::string type = full.substr(0, full.find(':'));
      if (type != "INT" && type != "UINT") continue;
      bool checked = false;
      try {
        checked = const_cast<CLI::Option*>(o)->get_validator(kIntegerCheck) != nullptr;
      } catch (const CLI::OptionNotFound&) {
      }
      if (!checked)
        throw std::logic_error("simbi " + sub->get_name() + " " + o->get_name() +
                               ": integer option declared without add_integer_option (commands.hpp)");
    }
}

}  // namespace simbi::cli
