// This machine's free memory, for refusing a request before allocating it. Contract: reads the
// operating system's figure each call; never throws.
#pragma once
#include <cstdint>
#include <string>

namespace simbi {

// The memory the kernel can give this process without swapping (MemAvailable in /proc/meminfo), in
// bytes; 0 when it cannot be read (then callers skip the check).
uint64_t available_memory_bytes();

// "" when `bytes` fit in the available memory (or it is unknown), else one sentence saying how much
// `what` needs and how much is available, e.g. "10^9 samples of 10 values need 40.0 GB, but 23.1 GB is
// available".
std::string memory_shortfall(double bytes, const std::string& what);

}  // namespace simbi
