#include "simbi/store/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "simbi/core/error.hpp"

namespace simbi::store {

namespace {
std::string errno_text() { return std::strerror(errno); }

void fsync_directory_of(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;  // best effort: the rename itself is atomic already
  ::fsync(fd);
  ::close(fd);
}
}  // namespace

void write_file_atomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  require(fd >= 0, ErrorKind::io, tmp + ": cannot create (" + errno_text() + ")");
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = errno_text();
      ::close(fd);
      ::unlink(tmp.c_str());
      throw Error(ErrorKind::io, tmp + ": cannot write (" + why + ")");
    }
    done += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const std::string why = errno_text();
  ::close(fd);
  if (!synced) {
    ::unlink(tmp.c_str());
    throw Error(ErrorKind::io, tmp + ": cannot sync to disk (" + why + ")");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  require(!ec, ErrorKind::io, path + ": cannot move the finished file into place: " + ec.message());
  fsync_directory_of(path);  // makes the rename itself durable
}

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  require(in.good(), ErrorKind::io, path + ": cannot open for reading");
  std::ostringstream out;
  out << in.rdbuf();
  require(!in.bad(), ErrorKind::io, path + ": read error");
  return out.str();
}

}  // namespace simbi::store
