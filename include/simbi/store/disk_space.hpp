// Free space of the file system a store is written to: the check made before writing (a budget that
// cannot fit is refused up front) and the reason given when a write fails (a full disk is named as
// such, whatever the HDF5 or MPI-IO layers above the failing system call report). docs/architecture.md.
// Contract: serial, no MPI; `path` is a file that may not exist yet (its directory is what counts).
#pragma once
#include <cstdint>
#include <string>

namespace simbi::store {

// Bytes an unprivileged writer may still use on the file system holding path's directory; -1 when
// statvfs fails.
int64_t free_bytes_for(const std::string& path);

// "17000000 bytes (16.2 MiB)".
std::string bytes_text(int64_t bytes);

// Why a write of about `bytes_needed` bytes to `path` failed, given the errno saved right after the
// failing call: "no space left on device (N bytes free in DIR)" when errno is ENOSPC/EDQUOT or fewer
// than bytes_needed + 64 KiB are free (HDF5 and MPI-IO do not always keep errno); otherwise "".
std::string disk_full_reason(const std::string& path, int saved_errno, int64_t bytes_needed);

// Error(io) before anything is written unless `bytes_needed` (what: how they are counted) fit in the
// free space plus `reclaimable` bytes (an old file the new one replaces): names both amounts.
void require_free_space(const std::string& path, int64_t bytes_needed, const std::string& what,
                        int64_t reclaimable = 0);

}  // namespace simbi::store
