#include "simbi/store/torch_archive.hpp"

#include <xxhash.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <vector>

#include "simbi/core/error.hpp"

namespace simbi::store {

namespace {

using State = std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)>;

void put(XXH3_state_t* s, const void* data, size_t n) { XXH3_64bits_update(s, data, n); }
void put_u64(XXH3_state_t* s, uint64_t v) { put(s, &v, sizeof v); }
void put_text(XXH3_state_t* s, const std::string& t) {
  put_u64(s, t.size());
  put(s, t.data(), t.size());
}

// Each record: its key, a type tag and its content; nested archives (submodules) recursively.
void hash_records(XXH3_state_t* s, torch::serialize::InputArchive& archive) {
  std::vector<std::string> keys = archive.keys();
  keys.erase(std::remove(keys.begin(), keys.end(), std::string(kChecksumKey)), keys.end());
  std::sort(keys.begin(), keys.end());
  for (const std::string& key : keys) {
    put_text(s, key);
    c10::IValue v;
    archive.try_read(key, v);
    if (v.isTensor()) {
      const torch::Tensor t = v.toTensor().detach().to(torch::kCPU).contiguous();
      put_u64(s, 't');
      put_u64(s, static_cast<uint64_t>(t.scalar_type()));
      put_u64(s, static_cast<uint64_t>(t.dim()));
      for (int64_t d : t.sizes()) put_u64(s, static_cast<uint64_t>(d));
      put(s, t.data_ptr(), static_cast<size_t>(t.numel()) * t.element_size());
    } else if (v.isString()) {
      put_u64(s, 's');
      put_text(s, v.toStringRef());
    } else if (v.isInt()) {
      put_u64(s, 'i');
      put_u64(s, static_cast<uint64_t>(v.toInt()));
    } else if (v.isDouble()) {
      const double d = v.toDouble();
      put_u64(s, 'd');
      put(s, &d, sizeof d);
    } else if (v.isBool()) {
      put_u64(s, 'b');
      put_u64(s, v.toBool() ? 1 : 0);
    } else {
      torch::serialize::InputArchive nested;
      if (archive.try_read(key, nested)) {
        put_u64(s, 'a');
        hash_records(s, nested);
      } else {
        put_u64(s, '?');
        put_text(s, v.tagKind());
      }
    }
  }
  put_u64(s, keys.size());
}

}  // namespace

uint64_t archive_checksum(torch::serialize::InputArchive& archive) {
  State s(XXH3_createState(), &XXH3_freeState);
  require(s != nullptr && XXH3_64bits_reset(s.get()) == XXH_OK, ErrorKind::internal, "XXH3: cannot create a state");
  hash_records(s.get(), archive);
  return XXH3_64bits_digest(s.get());
}

std::string checksum_hex(uint64_t checksum) {
  char s[17];
  std::snprintf(s, sizeof s, "%016" PRIx64, checksum);
  return s;
}

std::string archive_bytes_with_checksum(torch::serialize::OutputArchive& archive) {
  const std::string plain = archive_bytes(archive);
  torch::serialize::InputArchive reread;
  reread.load_from(plain.data(), plain.size());
  archive.write(kChecksumKey, c10::IValue(checksum_hex(archive_checksum(reread))));
  return archive_bytes(archive);
}

bool verify_archive_checksum(torch::serialize::InputArchive& archive, const std::string& path) {
  c10::IValue stored;
  if (!archive.try_read(kChecksumKey, stored)) return false;
  require(stored.isString(), ErrorKind::format, path + ": the checksum record is not a string (file corrupted)");
  const std::string computed = checksum_hex(archive_checksum(archive));
  require(stored.toStringRef() == computed, ErrorKind::format,
          path + ": checksum mismatch (file corrupted): stored " + stored.toStringRef() + ", computed " + computed);
  return true;
}

}  // namespace simbi::store
