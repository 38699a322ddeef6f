// A LibTorch archive as bytes in memory (so that files are written with write_file_atomically and read
// once, e.g. by rank 0 and broadcast). Contract: plain functions, no shared state.
#pragma once
#include <torch/torch.h>

#include <string>

namespace simbi::store {

inline std::string archive_bytes(torch::serialize::OutputArchive& archive) {
  std::string bytes;
  archive.save_to([&bytes](const void* data, size_t n) {
    bytes.append(static_cast<const char*>(data), n);
    return n;
  });
  return bytes;
}

}  // namespace simbi::store
