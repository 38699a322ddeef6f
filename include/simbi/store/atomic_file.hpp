// Whole-file writes that a crash never leaves half done (temp file, fsync, rename, fsync of the
// directory), and whole-file reads. Used for model files and training checkpoints.
// Contract: serial file I/O, called by one process per path.
#pragma once
#include <string>

namespace simbi::store {

// Writes bytes to `path` atomically: `path`.tmp is written and synced, then renamed over `path`.
// Error(io) naming the path when any step fails (the old file, if any, is then untouched).
void write_file_atomically(const std::string& path, const std::string& bytes);
// The whole file; Error(io) naming the path when it cannot be read.
std::string read_whole_file(const std::string& path);

}  // namespace simbi::store
