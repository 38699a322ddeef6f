#include "simbi/sim/command_simulator.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "simbi/core/error.hpp"
#include "simbi/core/log.hpp"
#include "simbi/core/process.hpp"

namespace simbi::sim {

namespace {

constexpr size_t kStderrKeep = 64 * 1024;  // bytes of the command's stderr kept for error messages

std::string one_line(std::string s, size_t max_len = 300) {
  for (char& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  if (s.size() > max_len) s = s.substr(0, max_len) + "...";
  return s;
}

std::string last_nonempty_line(const std::string& text) {
  size_t end = text.size();
  while (end > 0) {
    while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r' || text[end - 1] == ' ')) --end;
    if (end == 0) break;
    const size_t begin = text.rfind('\n', end - 1);
    const size_t b = begin == std::string::npos ? 0 : begin + 1;
    std::string line = text.substr(b, end - b);
    if (line.find_first_not_of(" \t\r") != std::string::npos) return one_line(line);
    end = b;
  }
  return "";
}

std::string stderr_hint(const std::string& err) {
  const std::string last = last_nonempty_line(err);
  return last.empty() ? std::string("no output on stderr") : "last stderr line: \"" + last + "\"";
}

// Parses one number of the command's output (as from_chars, plus a leading '+'; out-of-range values
// become ±inf or 0 as strtod gives them). Returns false when [b, e) is not a number.
bool parse_number(const char* b, const char* e, double& value) {
  const char* p = (b < e && *b == '+') ? b + 1 : b;
  const auto r = std::from_chars(p, e, value);
  if (r.ptr != e || p == e) return false;
  if (r.ec == std::errc::result_out_of_range) {
    const std::string copy(b, e);
    value = std::strtod(copy.c_str(), nullptr);
    return true;
  }
  return r.ec == std::errc();
}

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", s);
  return buf;
}

std::string quote_cmd(const std::string& command) { return "external simulator '" + one_line(command, 120) + "'"; }

// stdin: "seed θ_1 … θ_d" per row; θ with max_digits10 (9) significant digits so it round-trips.
std::string protocol_input(ConstMatrixView theta, const RowStreams& streams) {
  std::string input;
  input.reserve(static_cast<size_t>(theta.rows) * static_cast<size_t>(21 + 17 * theta.cols));
  char num[64];
  for (int64_t i = 0; i < theta.rows; ++i) {
    int len = std::snprintf(num, sizeof num, "%llu", static_cast<unsigned long long>(streams.row(i).identity_seed()));
    input.append(num, static_cast<size_t>(len));
    for (int64_t j = 0; j < theta.cols; ++j) {
      len = std::snprintf(num, sizeof num, " %.9g", static_cast<double>(theta(i, j)));
      input.append(num, static_cast<size_t>(len));
    }
    input.push_back('\n');
  }
  return input;
}

// Throws for a process that failed (non-zero exit, killed by a signal).
void check_exit(const ProcessResult& res, const std::string& what, int64_t n) {
  const int ws = res.wait_status;
  if (WIFSIGNALED(ws))
    throw Error(ErrorKind::runtime, what + ": killed by signal " + signal_abbrev(WTERMSIG(ws)) + " on a batch of " +
                                        std::to_string(n) + " rows; " + stderr_hint(res.err));
  if (WIFEXITED(ws) && WEXITSTATUS(ws) != 0) {
    const int status = WEXITSTATUS(ws);
    std::string note;
    if (status == 127) note = " (command not found)";
    if (status == 126) note = " (command not executable)";
    throw Error(ErrorKind::runtime, what + ": exited with status " + std::to_string(status) + note + " on a batch of " +
                                        std::to_string(n) + " rows; " + stderr_hint(res.err));
  }
}

// stdout: exactly n lines of x_dim numbers into x (a line with a non-finite value becomes all NaN).
void parse_output(const ProcessResult& res, const std::string& what, MatrixView x) {
  const int64_t n = x.rows, dx = x.cols;
  const std::string& out = res.out;
  int64_t lines = std::count(out.begin(), out.end(), '\n');  // a final line may lack its '\n'
  if (!out.empty() && out.back() != '\n') ++lines;
  if (lines != n)
    throw Error(ErrorKind::format, what + ": printed " + std::to_string(lines) + " lines on stdout, expected " +
                                       std::to_string(n) + " (one line of " + std::to_string(dx) +
                                       " values per input row" + (lines > n ? "; diagnostics must go to stderr" : "") +
                                       "); " + stderr_hint(res.err));
  const char* p = out.data();
  const char* const end = out.data() + out.size();
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; };
  for (int64_t i = 0; i < n; ++i) {
    const char* line_end = std::find(p, end, '\n');
    float* row = x.row(i);
    int64_t count = 0;
    bool failed = false;
    const char* q = p;
    while (true) {
      while (q < line_end && is_space(*q)) ++q;
      if (q == line_end) break;
      const char* tok_end = q;
      while (tok_end < line_end && !is_space(*tok_end)) ++tok_end;
      if (count < dx) {
        double v;
        if (!parse_number(q, tok_end, v))
          throw Error(ErrorKind::format, what + ": stdout line " + std::to_string(i + 1) + ", value " +
                                             std::to_string(count + 1) + ": cannot parse '" +
                                             one_line(std::string(q, tok_end), 40) + "' as a number");
        const float f = static_cast<float>(v);
        if (!std::isfinite(f)) failed = true;
        row[count] = f;
      }
      ++count;
      q = tok_end;
    }
    if (count != dx)
      throw Error(ErrorKind::format, what + ": stdout line " + std::to_string(i + 1) + " has " + std::to_string(count) +
                                         " values, expected x_dim = " + std::to_string(dx));
    if (failed) std::fill(row, row + dx, std::numeric_limits<float>::quiet_NaN());
    p = line_end < end ? line_end + 1 : end;
  }
}

}  // namespace

CommandSimulator::CommandSimulator(CommandOptions options) : options_(std::move(options)) {
  require(!options_.command.empty(), ErrorKind::invalid_argument, "external simulator: empty command");
  require(options_.theta_dim >= 1 && options_.x_dim >= 1, ErrorKind::invalid_argument,
          quote_cmd(options_.command) + ": theta_dim and x_dim must be >= 1");
  require(options_.timeout_s >= 0.0, ErrorKind::invalid_argument,
          quote_cmd(options_.command) + ": timeout must be >= 0 seconds");
}

void CommandSimulator::simulate(ConstMatrixView theta, MatrixView x, const RowStreams& streams) {
  require(theta.cols == options_.theta_dim && x.cols == options_.x_dim && x.rows == theta.rows, ErrorKind::internal,
          "CommandSimulator::simulate: batch shapes do not match the simulator's dimensions");
  const int64_t n = theta.rows;
  if (n == 0) return;
  ProcessOptions po;
  po.what = quote_cmd(options_.command);
  po.argv = {"/bin/sh", "-c", options_.command};
  po.env_add = {"SIMBI_PROTOCOL_VERSION=1", "SIMBI_THETA_DIM=" + std::to_string(options_.theta_dim),
                "SIMBI_X_DIM=" + std::to_string(options_.x_dim), "SIMBI_BATCH_ROWS=" + std::to_string(n)};
  if (!options_.config_path.empty()) po.env_add.push_back("SIMBI_CONFIG=" + options_.config_path);
  po.working_dir = options_.working_dir;
  po.stdin_data = protocol_input(theta, streams);
  po.timeout_s = options_.timeout_s;
  po.should_stop = interrupt_check();
  po.stderr_keep = kStderrKeep;
  const ProcessResult res = run_process(po);

  if (res.stopped) throw Interrupted(po.what + ": stopped part-way through a batch of " + std::to_string(n) + " rows");
  if (res.timed_out) {
    const std::string rows =
        "rows " + std::to_string(streams.first_row) + ".." + std::to_string(streams.first_row + n - 1);
    const std::string why = po.what + ": did not finish a batch of " + std::to_string(n) + " rows (" + rows +
                            ") within timeout_s = " + seconds(options_.timeout_s) + " s and was killed";
    if (options_.on_timeout == OnTimeout::stop)
      throw Error(ErrorKind::runtime, why + " (on_timeout = \"stop\"); " + stderr_hint(res.err));
    log::any_rank("warning: " + why + "; its rows are recorded as failed (on_timeout = \"fail_row\")");
    for (int64_t i = 0; i < n; ++i) std::fill(x.row(i), x.row(i) + x.cols, std::numeric_limits<float>::quiet_NaN());
    return;
  }
  check_exit(res, po.what, n);
  parse_output(res, po.what, x);
}

std::unique_ptr<Simulator> make_command_simulator(CommandOptions options) {
  return std::make_unique<CommandSimulator>(std::move(options));
}

}  // namespace simbi::sim
