#include "simbi/store/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "simbi/core/error.hpp"

namespace simbi::store {

namespace {

constexpr size_t kFlushBytes = size_t{1} << 20;

std::string errno_text(int err) { return std::strerror(err); }

std::string directory_of(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

void fsync_directory_of(const std::string& path) {
  const int fd = ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;  // best effort: the rename itself is atomic already
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

AtomicOutputFile::AtomicOutputFile(const std::string& path) : path_(path), tmp_(path + ".tmp") {
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  require(fd_ >= 0, ErrorKind::io, tmp_ + ": cannot create (" + errno_text(errno) + ")");
}

AtomicOutputFile::~AtomicOutputFile() { discard(); }

void AtomicOutputFile::discard() noexcept {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  ::unlink(tmp_.c_str());
}

void AtomicOutputFile::write(const char* data, size_t size) {
  require(fd_ >= 0, ErrorKind::internal, path_ + ": write after commit or failure");
  buffer_.append(data, size);
  if (buffer_.size() >= kFlushBytes) flush();
}

void AtomicOutputFile::flush() {
  size_t done = 0;
  while (done < buffer_.size()) {
    const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = n < 0 ? errno_text(errno) : "no progress";
      discard();
      throw Error(ErrorKind::io, path_ + ": cannot write (" + why + "); nothing was written under this name");
    }
    done += static_cast<size_t>(n);
  }
  buffer_.clear();
}

void AtomicOutputFile::commit() {
  require(fd_ >= 0, ErrorKind::internal, path_ + ": commit after commit or failure");
  flush();
  if (::fsync(fd_) != 0) {
    const std::string why = errno_text(errno);
    discard();
    throw Error(ErrorKind::io, path_ + ": cannot sync to disk (" + why + "); nothing was written under this name");
  }
  const int closed = ::close(fd_);
  const int close_errno = errno;
  fd_ = -1;
  if (closed != 0) {
    ::unlink(tmp_.c_str());
    throw Error(ErrorKind::io,
                path_ + ": cannot write (" + errno_text(close_errno) + "); nothing was written under this name");
  }
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const std::string why = errno_text(errno);
    ::unlink(tmp_.c_str());
    throw Error(ErrorKind::io, path_ + ": cannot move the finished file into place (" + why + ")");
  }
  fsync_directory_of(path_);  // makes the rename itself durable
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  AtomicOutputFile out(path);
  out.write(bytes);
  out.commit();
}

std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  require(in.good(), ErrorKind::io, path + ": cannot open for reading");
  std::ostringstream out;
  out << in.rdbuf();
  require(!in.bad(), ErrorKind::io, path + ": read error");
  return out.str();
}

void require_writable_output(const std::string& path, const std::string& option) {
  const std::string what = option + " " + path + ": ";
  require(!path.empty(), ErrorKind::invalid_argument, option + ": an output path is required");
  struct stat st {};
  require(!(::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)), ErrorKind::io,
          what + "is a directory (expected a file name)");
  const std::string dir = directory_of(path);
  if (::stat(dir.c_str(), &st) != 0) {
    const int err = errno;
    require(err != ENOENT, ErrorKind::io, what + "directory " + dir + " does not exist");
    require(err != ENOTDIR, ErrorKind::io, what + "a component of " + dir + " is a file, not a directory");
    throw Error(ErrorKind::io, what + "cannot use directory " + dir + " (" + errno_text(err) + ")");
  }
  require(S_ISDIR(st.st_mode), ErrorKind::io, what + dir + " is a file, not a directory");
  // Permissions alone do not say (root, read-only mounts, ACLs): create and remove a file for real.
  const std::string probe = (std::filesystem::path(dir) / ("." + std::filesystem::path(path).filename().string() +
                                                           ".probe." + std::to_string(::getpid())))
                                .string();
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  require(fd >= 0, ErrorKind::io, what + "cannot create the file (in " + dir + ": " + errno_text(errno) + ")");
  ::close(fd);
  ::unlink(probe.c_str());
}

}  // namespace simbi::store
