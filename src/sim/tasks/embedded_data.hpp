// Fixed task data compiled into the binary (embedded_data.cpp, .incbin of data/*.bin), so that no
// task reads files at run time. Private to src/sim. Contract: read-only bytes, safe from any thread.
#pragma once
#include <cstddef>

namespace simbi::sim::tasks {

// A read-only view of embedded bytes; valid for the whole run.
struct ByteSpan {
  const unsigned char* data = nullptr;
  size_t size = 0;
};

// data/slcp_distractors_gmm.bin (written by scripts/dev/make_slcp_distractors_data.py).
ByteSpan slcp_distractors_gmm_bytes();

}  // namespace simbi::sim::tasks
