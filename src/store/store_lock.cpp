#include "simbi/store/store_lock.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <thread>

#include "simbi/core/error.hpp"
#include "simbi/core/log.hpp"
#include "simbi/store/disk_space.hpp"
#include "simbi/store/sim_store.hpp"

namespace simbi::store {

namespace {

std::string this_host() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

std::string errno_reason(const std::string& path, int e) {
  return e == ENOSPC || e == EDQUOT ? disk_full_reason(path, e, 0) : std::strerror(e);
}

std::optional<LockHolder> parse_holder(const std::string& text) {
  LockHolder h;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "host")
      h.host = value;
    else if (key == "pid")
      h.pid = std::strtol(value.c_str(), nullptr, 10);
    else if (key == "slurm_job")
      h.slurm_job = value;
    else if (key == "since")
      h.since = value;
  }
  if (h.host.empty() || h.pid <= 0) return std::nullopt;
  return h;
}

std::string read_fd(int fd) {
  std::string text;
  char buf[512];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > 4096) break;  // a lock file is a few lines; anything longer is not one of ours
  }
  return text;
}

bool write_all(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = ENOSPC;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

// Whether fd and path are the same file (the lock file was not removed or replaced meanwhile).
bool same_file(int fd, const std::string& path) {
  struct stat a {
  }, b{};
  return ::fstat(fd, &a) == 0 && ::stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// flock where the file system supports it: 1 taken, 0 held by someone else, -1 not supported.
int try_flock(int fd) {
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return 1;
  return errno == EWOULDBLOCK ? 0 : -1;
}

}  // namespace

std::string LockHolder::describe() const {
  std::string d = "host " + host + ", pid " + std::to_string(pid);
  if (!slurm_job.empty()) d += ", Slurm job " + slurm_job;
  if (!since.empty()) d += ", since " + since;
  return d;
}

std::string lock_path(const std::string& store_path) { return store_path + ".lock"; }

std::optional<LockHolder> read_lock_holder(const std::string& store_path) {
  const int fd = ::open(lock_path(store_path).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  const std::string text = read_fd(fd);
  ::close(fd);
  return parse_holder(text);
}

StoreLock::~StoreLock() { release(); }

StoreLock::StoreLock(StoreLock&& o) noexcept : path_(std::move(o.path_)), fd_(o.fd_) { o.fd_ = -1; }

StoreLock& StoreLock::operator=(StoreLock&& o) noexcept {
  if (this != &o) {
    release();
    path_ = std::move(o.path_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

void StoreLock::release() noexcept {
  if (fd_ < 0) return;
  if (same_file(fd_, path_)) ::unlink(path_.c_str());
  ::close(fd_);
  fd_ = -1;
}

StoreLock StoreLock::acquire(const std::string& store_path, bool break_lock) {
  const std::string path = lock_path(store_path);
  const std::string host = this_host();
  // A few rounds: a lock released or taken over by someone else between our steps sends us round again.
  for (int round = 0; round < 20; ++round) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) {
      // The flock (where supported) lives as long as this process holds the file open: a holder that
      // dies without releasing is seen as gone even if its pid is reused.
      try_flock(fd);
      const char* job = std::getenv("SLURM_JOB_ID");
      const std::string text = "host=" + host + "\npid=" + std::to_string(::getpid()) +
                               "\nslurm_job=" + (job ? job : "") + "\nsince=" + utc_now_iso8601() + "\n";
      if (!write_all(fd, text) || ::fsync(fd) != 0) {
        const int e = errno;
        ::close(fd);
        ::unlink(path.c_str());
        throw Error(ErrorKind::io,
                    store_path + ": cannot write the file " + path + " (the store's lock): " + errno_reason(path, e));
      }
      StoreLock lock;
      lock.path_ = path;
      lock.fd_ = fd;
      return lock;
    }
    if (errno != EEXIST)
      throw Error(ErrorKind::io, store_path + ": cannot create the file " + path +
                                     " (the store's lock): " + errno_reason(path, errno));

    const int old = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (old < 0) {
      if (errno == ENOENT) continue;  // released meanwhile
      throw Error(ErrorKind::io,
                  store_path + ": cannot read the file " + path + " (the store's lock): " + std::strerror(errno));
    }
    const std::optional<LockHolder> holder = parse_holder(read_fd(old));
    const std::string who = holder ? holder->describe() : "unknown holder: the lock file names no host and pid";
    // Only the process holding the old file's flock may remove it, so two writers finding the same stale
    // lock do not both take it over (where flock is not supported, this is best effort).
    const int flocked = try_flock(old);
    const bool here = holder && holder->host == host;
    const bool pid_gone = here && ::kill(static_cast<pid_t>(holder->pid), 0) != 0 && errno == ESRCH;
    if (here && pid_gone && flocked == 0 && !break_lock) {
      // Another writer holds the dead holder's file: it is taking the stale lock over right now.
      ::close(old);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    const bool gone = here && (pid_gone || flocked == 1);
    if (!gone && !break_lock) {
      ::close(old);
      throw Error(ErrorKind::io, store_path + ": locked by another writer (" + who + "; lock file " + path +
                                     "); if that job is gone, pass --break-lock");
    }
    if (!same_file(old, path)) {  // replaced meanwhile: look at the new one
      ::close(old);
      continue;
    }
    ::unlink(path.c_str());
    ::close(old);
    log::warn(break_lock ? "--break-lock: removed the lock of " + store_path + " (" + who + ")"
                         : "taking over the stale lock of " + store_path + " (" + who + ": that process is gone)");
  }
  throw Error(ErrorKind::io, path + ": the store's lock is changing hands too often to take; try again");
}

}  // namespace simbi::store
