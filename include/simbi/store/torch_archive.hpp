// LibTorch archives as bytes in memory (so that files are written with write_file_atomically and read
// once, e.g. by rank 0 and broadcast), and their content checksum: XXH3-64 of every record — key, then
// the tensor's dtype, shape and bytes, the string, the number, or the nested archive's records — in key
// order, stored as the hex string record `simbi_checksum` (docs/file_formats.md). Like a LevelDB block
// checksum it turns a flipped bit anywhere in the payload into a clear error instead of wrong numbers.
// Contract: plain functions, no shared state.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace simbi::store {

inline constexpr const char* kChecksumKey = "simbi_checksum";

inline std::string archive_bytes(torch::serialize::OutputArchive& archive) {
  std::string bytes;
  archive.save_to([&bytes](const void* data, size_t n) {
    bytes.append(static_cast<const char*>(data), n);
    return n;
  });
  return bytes;
}

// XXH3-64 of the archive's records, the checksum record left out.
uint64_t archive_checksum(torch::serialize::InputArchive& archive);
std::string checksum_hex(uint64_t checksum);

// The archive's bytes with its checksum record added (the archive is serialised twice: once to compute
// the checksum over exactly what a reader will see).
std::string archive_bytes_with_checksum(torch::serialize::OutputArchive& archive);

// Whether the archive has a checksum record. When it has, checks it: Error(format)
// "<path>: checksum mismatch (file corrupted): stored X, computed Y" when the content differs.
bool verify_archive_checksum(torch::serialize::InputArchive& archive, const std::string& path);

}  // namespace simbi::store
