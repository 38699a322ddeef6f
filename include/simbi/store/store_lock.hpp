// The advisory lock of a store being written: `<store>.lock` next to the store, made with
// O_CREAT|O_EXCL (and flock where the file system supports it) and holding the writer's host, pid and
// Slurm job id. HDF5's own file locking is off under MPI-IO, so every command that writes a store
// (simulate, import) takes this lock first and a second writer is refused with one line naming the
// holder; readers are not blocked (they use completed rows only; docs/architecture.md).
// Contract: serial; taken by one process (rank 0 of the writing job), inside dist::run_agreed so that
// a refusal ends every rank. Released by release() or the destructor (normal end, error, stop signal);
// a process killed outright leaves the file behind, which the next writer on the same host detects as
// stale (pid gone, or its flock released) and takes over with a warning; elsewhere, --break-lock.
#pragma once
#include <sys/types.h>

#include <optional>
#include <string>

namespace simbi::store {

struct LockHolder {
  std::string host;
  long pid = 0;
  std::string slurm_job;  // "" when not under Slurm
  std::string since;      // ISO-8601 UTC
  // "host h, pid 123, Slurm job 45, since 2026-12-07T00:00:00Z"
  std::string describe() const;
};

// `<store>.lock`.
std::string lock_path(const std::string& store_path);
// The holder named by the store's lock file; nullopt when there is none (or it names no one).
std::optional<LockHolder> read_lock_holder(const std::string& store_path);

class StoreLock {
 public:
  StoreLock() = default;
  ~StoreLock();
  StoreLock(StoreLock&& other) noexcept;
  StoreLock& operator=(StoreLock&& other) noexcept;
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;

  // Takes the lock of store_path. Error(io) naming the holder (host, pid, Slurm job) and the lock file
  // when another live process holds it; a lock whose holder is gone (same host) is taken over with a
  // warning, and with break_lock any lock is.
  static StoreLock acquire(const std::string& store_path, bool break_lock);
  // Removes the lock file if it is still this lock's (not replaced by a --break-lock), then forgets it.
  void release() noexcept;
  bool held() const { return fd_ >= 0; }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace simbi::store
