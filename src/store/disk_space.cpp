#include "simbi/store/disk_space.hpp"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "simbi/core/error.hpp"

namespace simbi::store {

namespace {

std::string directory_of(const std::string& path) {
  const std::filesystem::path dir = std::filesystem::absolute(path).parent_path();
  return dir.empty() ? "." : dir.string();
}

}  // namespace

int64_t free_bytes_for(const std::string& path) {
  struct statvfs fs {};
  if (::statvfs(directory_of(path).c_str(), &fs) != 0) return -1;
  return static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
}

std::string bytes_text(int64_t bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 5) {
    v /= 1024.0;
    ++u;
  }
  std::string text = std::to_string(bytes) + " bytes";
  if (u > 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, " (%.1f %s)", v, units[u]);
    text += buf;
  }
  return text;
}

std::string disk_full_reason(const std::string& path, int saved_errno, int64_t bytes_needed) {
  const int64_t free_bytes = free_bytes_for(path);
  const bool errno_says_full = saved_errno == ENOSPC || saved_errno == EDQUOT;
  const bool little_left = free_bytes >= 0 && free_bytes < bytes_needed + (int64_t{64} << 10);
  if (!errno_says_full && !little_left) return "";
  std::string reason = saved_errno == EDQUOT ? "disk quota exceeded (no space left on device for this user"
                                             : "no space left on device (";
  if (saved_errno == EDQUOT) reason += "; ";
  if (free_bytes >= 0) reason += bytes_text(free_bytes) + " free in " + directory_of(path);
  return reason + ")";
}

void require_free_space(const std::string& path, int64_t bytes_needed, const std::string& what, int64_t reclaimable) {
  const int64_t free_bytes = free_bytes_for(path);
  if (free_bytes < 0) return;  // unknown: the writes themselves will say
  require(bytes_needed <= free_bytes + reclaimable, ErrorKind::io,
          path + ": no space for it on the device: needs at least " + bytes_text(bytes_needed) + " (" + what +
              ") but only " + bytes_text(free_bytes) + " are free in " + directory_of(path) +
              (reclaimable > 0 ? " (plus " + bytes_text(reclaimable) + " of the file it replaces)" : ""));
}

}  // namespace simbi::store
