// What kind of file a path holds, from its first bytes (signatures, not names): so that a command given
// the wrong file (a samples CSV, a metrics JSON, an empty .pt left by an interrupted write) says what
// the file is instead of failing inside the wrong parser. Contract: serial, reads at most 4 KiB.
#pragma once
#include <string>

namespace simbi::store {

enum class FileKind {
  missing,        // no such file (or not a regular file)
  empty,          // 0 bytes
  hdf5,           // HDF5 signature (simulation stores, observation files)
  torch_archive,  // zip signature: LibTorch archives (models, checkpoints)
  json,           // text starting with '{' or '['
  text,           // other text (CSV: samples, observations, metrics tables)
  binary,         // none of the above
};

FileKind detect_file_kind(const std::string& path);
// "an HDF5 file", "a LibTorch archive (zip)", "a JSON file", "text (CSV?)", "an empty file (0 bytes)", ...
std::string describe_file_kind(FileKind kind);

}  // namespace simbi::store
