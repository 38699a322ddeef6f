#include "simbi/sim/command_simulator.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "simbi/core/error.hpp"

extern char** environ;

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

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : std::to_string(sig);
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Blocks SIGPIPE in this thread while a batch runs, so that writing to a command that has exited gives
// EPIPE instead of killing simbi; a SIGPIPE raised meanwhile is consumed before the mask is restored.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask_);
  }
  ~SigpipeGuard() {
    if (!was_pending_) {
      sigset_t pipe_set;
      sigemptyset(&pipe_set);
      sigaddset(&pipe_set, SIGPIPE);
      const timespec zero{0, 0};
      while (sigtimedwait(&pipe_set, nullptr, &zero) == SIGPIPE) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t old_mask_;
  bool was_pending_ = false;
};

struct ProcessResult {
  std::string out;
  std::string err;  // the last kStderrKeep bytes
  int wait_status = 0;
  bool timed_out = false;
};

// Runs /bin/sh -c command in its own process group with the given environment additions, feeding
// `input` to its stdin while reading stdout and stderr (one poll loop, so no pipe can fill up and
// deadlock), and waits for it.
ProcessResult run_process(const CommandOptions& opt, const std::vector<std::string>& extra_env,
                          const std::string& input, const std::string& what) {
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  auto close_all = [&] {
    for (int* p : {in, out, err}) {
      close_fd(p[0]);
      close_fd(p[1]);
    }
  };
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    const int e = errno;
    close_all();
    throw Error(ErrorKind::runtime, what + ": cannot create pipes: " + std::strerror(e));
  }

  // Environment: ours, minus the variables we set, plus ours.
  std::vector<std::string> env_storage;
  for (char** e = environ; e && *e; ++e) {
    const std::string kv(*e);
    bool overridden = false;
    for (const auto& x : extra_env)
      if (kv.compare(0, x.find('=') + 1, x, 0, x.find('=') + 1) == 0) overridden = true;
    if (!overridden) env_storage.push_back(kv);
  }
  env_storage.insert(env_storage.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> envp;
  for (auto& s : env_storage) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string sh = "sh", dash_c = "-c", cmd = opt.command;
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  if (!opt.working_dir.empty()) posix_spawn_file_actions_addchdir_np(&actions, opt.working_dir.c_str());
  sigset_t empty_mask, default_sigs;
  sigemptyset(&empty_mask);
  sigemptyset(&default_sigs);
  sigaddset(&default_sigs, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &empty_mask);
  posix_spawnattr_setsigdefault(&attr, &default_sigs);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close_fd(in[0]);
  close_fd(out[1]);
  close_fd(err[1]);
  if (rc != 0) {
    close_all();
    std::string why = std::strerror(rc);
    if (!opt.working_dir.empty()) why += " (working directory '" + opt.working_dir + "')";
    throw Error(ErrorKind::runtime, what + ": cannot start /bin/sh: " + why);
  }
  for (int fd : {in[1], out[0], err[0]}) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

  using Clock = std::chrono::steady_clock;
  const bool has_deadline = opt.timeout_s > 0.0;
  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt.timeout_s));
  ProcessResult res;
  size_t written = 0;
  if (input.empty()) close_fd(in[1]);
  char buf[65536];
  try {
    while (out[0] >= 0 || err[0] >= 0) {
      pollfd fds[3];
      int nfds = 0, i_in = -1, i_out = -1, i_err = -1;
      if (in[1] >= 0) fds[i_in = nfds++] = {in[1], POLLOUT, 0};
      if (out[0] >= 0) fds[i_out = nfds++] = {out[0], POLLIN, 0};
      if (err[0] >= 0) fds[i_err = nfds++] = {err[0], POLLIN, 0};
      int timeout_ms = -1;
      if (has_deadline) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) {
          res.timed_out = true;
          break;
        }
        timeout_ms = static_cast<int>(std::min<long long>(left, 1000));
      }
      const int r = ::poll(fds, static_cast<nfds_t>(nfds), timeout_ms);
      if (r < 0) {
        if (errno == EINTR) continue;
        throw Error(ErrorKind::runtime, what + ": poll failed: " + std::strerror(errno));
      }
      if (i_in >= 0 && fds[i_in].revents) {
        if (fds[i_in].revents & (POLLERR | POLLHUP)) {
          close_fd(in[1]);  // the command closed its stdin (or exited) before reading everything
        } else {
          while (written < input.size()) {
            const ssize_t w = ::write(in[1], input.data() + written, std::min<size_t>(input.size() - written, 1 << 16));
            if (w > 0) {
              written += static_cast<size_t>(w);
            } else if (w < 0 && errno == EINTR) {
              continue;
            } else {
              if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) close_fd(in[1]);  // EPIPE and the like
              break;
            }
          }
          if (written == input.size()) close_fd(in[1]);
        }
      }
      for (int k : {i_out, i_err}) {
        if (k < 0 || !fds[k].revents) continue;
        int& fd = (k == i_out) ? out[0] : err[0];
        std::string& sink = (k == i_out) ? res.out : res.err;
        for (;;) {
          const ssize_t got = ::read(fd, buf, sizeof buf);
          if (got > 0) {
            sink.append(buf, static_cast<size_t>(got));
            if (k == i_err && sink.size() > 2 * kStderrKeep) sink.erase(0, sink.size() - kStderrKeep);
          } else if (got < 0 && errno == EINTR) {
            continue;
          } else {
            if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) close_fd(fd);
            break;
          }
        }
      }
    }
    close_fd(in[1]);
    // Both output pipes are closed; wait for the process (still honouring the deadline).
    for (;;) {
      if (res.timed_out) {
        ::kill(-pid, SIGKILL);
        ::waitpid(pid, &res.wait_status, 0);
        break;
      }
      const pid_t w = ::waitpid(pid, &res.wait_status, has_deadline ? WNOHANG : 0);
      if (w == pid) break;
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) throw Error(ErrorKind::runtime, what + ": waitpid failed: " + std::strerror(errno));
      if (Clock::now() >= deadline) {
        res.timed_out = true;
        continue;
      }
      ::usleep(2000);
    }
  } catch (...) {
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    close_all();
    throw;
  }
  close_all();
  if (res.err.size() > kStderrKeep) res.err.erase(0, res.err.size() - kStderrKeep);
  return res;
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
  const std::string what = quote_cmd(options_.command);

  // stdin: "seed θ_1 … θ_d" per row; θ with max_digits10 (9) significant digits so it round-trips.
  std::string input;
  input.reserve(static_cast<size_t>(n) * static_cast<size_t>(21 + 17 * theta.cols));
  char num[64];
  for (int64_t i = 0; i < n; ++i) {
    int len = std::snprintf(num, sizeof num, "%llu", static_cast<unsigned long long>(streams.row(i).identity_seed()));
    input.append(num, static_cast<size_t>(len));
    for (int64_t j = 0; j < theta.cols; ++j) {
      len = std::snprintf(num, sizeof num, " %.9g", static_cast<double>(theta(i, j)));
      input.append(num, static_cast<size_t>(len));
    }
    input.push_back('\n');
  }
  std::vector<std::string> env = {"SIMBI_PROTOCOL_VERSION=1", "SIMBI_THETA_DIM=" + std::to_string(options_.theta_dim),
                                  "SIMBI_X_DIM=" + std::to_string(options_.x_dim),
                                  "SIMBI_BATCH_ROWS=" + std::to_string(n)};
  if (!options_.config_path.empty()) env.push_back("SIMBI_CONFIG=" + options_.config_path);

  ProcessResult res;
  {
    SigpipeGuard guard;
    res = run_process(options_, env, input, what);
  }

  if (res.timed_out)
    throw Error(ErrorKind::runtime, what + ": did not finish a batch of " + std::to_string(n) + " rows within " +
                                        seconds(options_.timeout_s) + " s and was killed; " + stderr_hint(res.err));
  if (WIFSIGNALED(res.wait_status))
    throw Error(ErrorKind::runtime, what + ": killed by signal " + signal_name(WTERMSIG(res.wait_status)) +
                                        " on a batch of " + std::to_string(n) + " rows; " + stderr_hint(res.err));
  if (WIFEXITED(res.wait_status) && WEXITSTATUS(res.wait_status) != 0) {
    const int status = WEXITSTATUS(res.wait_status);
    std::string note;
    if (status == 127) note = " (command not found)";
    if (status == 126) note = " (command not executable)";
    throw Error(ErrorKind::runtime, what + ": exited with status " + std::to_string(status) + note + " on a batch of " +
                                        std::to_string(n) + " rows; " + stderr_hint(res.err));
  }

  // stdout: exactly n lines of x_dim numbers. Count lines first (a final line may lack its '\n').
  const std::string& out = res.out;
  int64_t lines = std::count(out.begin(), out.end(), '\n');
  if (!out.empty() && out.back() != '\n') ++lines;
  if (lines != n)
    throw Error(ErrorKind::format, what + ": printed " + std::to_string(lines) + " lines on stdout, expected " +
                                       std::to_string(n) + " (one line of " + std::to_string(options_.x_dim) +
                                       " values per input row" + (lines > n ? "; diagnostics must go to stderr" : "") +
                                       "); " + stderr_hint(res.err));
  const int64_t dx = options_.x_dim;
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

std::unique_ptr<Simulator> make_command_simulator(CommandOptions options) {
  return std::make_unique<CommandSimulator>(std::move(options));
}

}  // namespace simbi::sim
