// Output files that a crash, a kill or a full disk never leaves half done under their final name
// (written to `path`.tmp, synced, renamed over `path`, the directory synced), whole-file reads, and the
// check every command makes before it starts work that its outputs can be created at all. Used for model
// files, training checkpoints, samples and every other file simbi writes (docs/architecture.md).
// Contract: serial file I/O, called by one process per path (collective callers check and write on one
// rank and agree on the outcome, dist::run_agreed).
#pragma once
#include <cstddef>
#include <string>

namespace simbi::store {

// A file written piece by piece and published whole: the bytes go to `path`.tmp, and commit() syncs it
// and renames it over `path`. Destroyed without commit() (an error on the way, an exception), the temp
// file is removed and `path` is untouched — a reader never sees a truncated file under the final name.
// Every failure is Error(io) naming the file and the reason (e.g. "No space left on device").
class AtomicOutputFile {
 public:
  explicit AtomicOutputFile(const std::string& path);
  ~AtomicOutputFile();
  AtomicOutputFile(const AtomicOutputFile&) = delete;
  AtomicOutputFile& operator=(const AtomicOutputFile&) = delete;

  void write(const char* data, size_t size);  // buffered; flushed in large blocks
  void write(const std::string& text) { write(text.data(), text.size()); }
  void commit();  // flush, fsync, close, rename over path, fsync the directory
  const std::string& path() const { return path_; }

 private:
  void flush();
  void discard() noexcept;  // close and remove the temp file
  std::string path_, tmp_, buffer_;
  int fd_ = -1;
};

// Writes bytes to `path` atomically (AtomicOutputFile). Error(io) naming the path when any step fails
// (the old file, if any, is then untouched).
void write_file_atomically(const std::string& path, const std::string& bytes);
// The whole file; Error(io) naming the path when it cannot be read.
std::string read_whole_file(const std::string& path);

// Error(io) "<option> <path>: <why>" unless a file can be written at `path`: its directory exists, is a
// directory, and a file can be created and removed in it (tried for real), and `path` itself is not a
// directory. Commands call it on every output before they start work, so a typo in --out fails in
// seconds instead of after hours of training or sampling.
void require_writable_output(const std::string& path, const std::string& option);

}  // namespace simbi::store
