#include "simbi/store/file_kind.hpp"

#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace simbi::store {

FileKind detect_file_kind(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return FileKind::missing;
  std::ifstream in(path, std::ios::binary);
  char head[4096];
  in.read(head, sizeof head);
  const size_t n = static_cast<size_t>(in.gcount());
  if (n == 0) return FileKind::empty;
  static const char kHdf5[8] = {'\x89', 'H', 'D', 'F', '\r', '\n', '\x1a', '\n'};
  if (n >= 8 && std::memcmp(head, kHdf5, 8) == 0) return FileKind::hdf5;
  if (n >= 4 && std::memcmp(head, "PK\x03\x04", 4) == 0) return FileKind::torch_archive;
  size_t i = 0;
  while (i < n && std::isspace(static_cast<unsigned char>(head[i]))) ++i;
  for (size_t j = 0; j < n; ++j) {
    const unsigned char c = static_cast<unsigned char>(head[j]);
    if (c == 0 || (c < 0x20 && !std::isspace(c))) return FileKind::binary;
  }
  if (i < n && (head[i] == '{' || head[i] == '[')) return FileKind::json;
  return FileKind::text;
}

std::string describe_file_kind(FileKind kind) {
  switch (kind) {
    case FileKind::missing:
      return "no such file";
    case FileKind::empty:
      return "an empty file (0 bytes; an interrupted write?)";
    case FileKind::hdf5:
      return "an HDF5 file";
    case FileKind::torch_archive:
      return "a LibTorch archive (zip)";
    case FileKind::json:
      return "a JSON file";
    case FileKind::text:
      return "a text file (CSV?)";
    case FileKind::binary:
      return "a binary file of unknown format";
  }
  return "?";
}

}  // namespace simbi::store
