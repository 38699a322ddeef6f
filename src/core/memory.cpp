#include "simbi/core/memory.hpp"

#include <fstream>
#include <sstream>

#include "simbi/core/text.hpp"

namespace simbi {

uint64_t available_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key;
    uint64_t kb = 0;
    if (fields >> key >> kb && key == "MemAvailable:") return kb * 1024;
  }
  return 0;
}

std::string memory_shortfall(double bytes, const std::string& what) {
  const uint64_t available = available_memory_bytes();
  if (available == 0 || bytes <= static_cast<double>(available)) return "";
  return what + " need " + format_number(bytes / 1e9, "%.1f") + " GB, but " +
         format_number(static_cast<double>(available) / 1e9, "%.1f") + " GB of memory is available";
}

}  // namespace simbi
