#include "simbi/core/text.hpp"

#include <cstdio>
#include <sstream>

#include "simbi/core/error.hpp"

namespace simbi {

std::string format_number(double value, const char* format) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string s;
  for (size_t i = 0; i < items.size(); ++i) s += (i ? separator : "") + items[i];
  return s;
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto b = item.find_first_not_of(" []\"");
    const auto e = item.find_last_not_of(" []\"");
    if (b != std::string::npos) items.push_back(item.substr(b, e - b + 1));
  }
  return items;
}

std::vector<int64_t> parse_widths(const std::string& text, const std::string& option) {
  std::vector<int64_t> widths;
  for (const std::string& item : split_list(text)) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    require(used == item.size() && v > 0, ErrorKind::invalid_argument,
            option + ": '" + text + "' must be a list of positive layer widths, e.g. 64,64");
    widths.push_back(v);
  }
  require(!widths.empty(), ErrorKind::invalid_argument, option + ": at least one hidden layer width is needed");
  return widths;
}

}  // namespace simbi
