#include "simbi/core/log.hpp"

#include <cmath>
#include <cstdio>

namespace simbi::log {

namespace {
int g_rank = 0;
int g_size = 1;
bool g_quiet = false;

void write_line(const std::string& s) {
  std::string line = s + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}
}  // namespace

void set_rank(int r, int size) {
  g_rank = r;
  g_size = size;
}
int rank() { return g_rank; }
void set_quiet(bool quiet) { g_quiet = quiet; }

void info(const std::string& line) {
  if (g_rank == 0 && !g_quiet) write_line("[simbi] " + line);
}
void warn(const std::string& line) {
  if (g_rank == 0) write_line("[simbi] warning: " + line);
}
void any_rank(const std::string& line) {
  write_line("[simbi rank " + std::to_string(g_rank) + "] " + line);
}
void error_line(const std::string& message) {
  // One line: exceptions from libraries (LibTorch) append multi-line backtraces.
  const std::string first = message.substr(0, message.find('\n'));
  write_line("error: " + first);
}

std::string human_count(double v) {
  char buf[32];
  const double a = std::fabs(v);
  if (a >= 1e9) std::snprintf(buf, sizeof buf, "%.2fG", v / 1e9);
  else if (a >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
  else if (a >= 1e4) std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

std::string human_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  char buf[32];
  const long t = std::lround(s);
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm%02lds", t / 3600, (t / 60) % 60, t % 60);
  else if (t >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%.1fs", s);
  return buf;
}

}  // namespace simbi::log
