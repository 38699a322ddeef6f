// Logging: human-readable lines on stderr, by default from rank 0 only. Contract: set_rank() is called
// once by the dist module after MPI starts; the functions may be called from any thread (one line is
// written with one call, so lines from different threads do not interleave within a line).
#pragma once
#include <string>

namespace simbi::log {

void set_rank(int rank, int size);
int rank();
void set_quiet(bool quiet);  // suppress info() (warnings and errors still print)

void info(const std::string& line);     // rank 0 only: "[simbi] line"
void warn(const std::string& line);     // rank 0 only: "[simbi] warning: line"
void any_rank(const std::string& line); // every rank: "[simbi rank r] line"
void error_line(const std::string& message);  // "error: message" on stderr, from the calling rank

// Formatting helpers for progress lines.
std::string human_count(double value);      // 12345 -> "12.3k"
std::string human_duration(double seconds); // 3725 -> "1h02m05s"

}  // namespace simbi::log
