#include "simbi/core/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "simbi/core/error.hpp"

extern char** environ;

namespace simbi {

namespace {

using Clock = std::chrono::steady_clock;

// The process groups alive now, for signal_live_process_groups(); 0 marks a free slot. A lock-free
// atomic per slot keeps the signal handler's reads safe.
constexpr int kSlots = 64;
std::atomic<pid_t> g_live[kSlots];

int register_group(pid_t pgid) {
  for (int i = 0; i < kSlots; ++i) {
    pid_t free = 0;
    if (g_live[i].compare_exchange_strong(free, pgid)) return i;
  }
  return -1;  // more than kSlots children at once: still killed by their owner, just not by the handler
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Blocks SIGPIPE in this thread while a child runs, so that writing to a child that has exited gives
// EPIPE instead of killing simbi; a SIGPIPE raised meanwhile is consumed before the mask is restored.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_set_);
    sigaddset(&pipe_set_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_set_, &old_mask_);
  }
  ~SigpipeGuard() {
    if (!was_pending_) {
      const timespec zero{0, 0};
      while (sigtimedwait(&pipe_set_, nullptr, &zero) == SIGPIPE) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t pipe_set_, old_mask_;
  bool was_pending_ = false;
};

// simbi's environment with env_add's variables added or replaced.
std::vector<std::string> merged_environment(const std::vector<std::string>& env_add) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const std::string kv(*e);
    bool overridden = false;
    for (const auto& x : env_add)
      if (kv.compare(0, x.find('=') + 1, x, 0, x.find('=') + 1) == 0) overridden = true;
    if (!overridden) env.push_back(kv);
  }
  env.insert(env.end(), env_add.begin(), env_add.end());
  return env;
}

// When the call must end early: the time limit or the stop check.
struct Limits {
  bool has_deadline = false;
  Clock::time_point deadline;
  const std::function<bool()>* should_stop = nullptr;

  // Sets timed_out / stopped and returns true when the child must be killed now.
  bool expired(ProcessResult& r) const {
    if (has_deadline && Clock::now() >= deadline) r.timed_out = true;
    if (!r.timed_out && *should_stop && (*should_stop)()) r.stopped = true;
    return r.timed_out || r.stopped;
  }
  // Milliseconds to wait before the next check: at most 50 (the stop check's period).
  int wait_ms() const {
    long long ms = 50;
    if (has_deadline)
      ms = std::min<long long>(
          ms, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count() + 1);
    return static_cast<int>(std::max<long long>(ms, 0));
  }
};

// One running child: its group, its pipes, and the guarantee that the group is gone when it is destroyed.
class Child {
 public:
  Child(const ProcessOptions& o, const Limits& limits);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  // Feeds stdin and drains stdout/stderr until both are closed or a limit expires.
  void pump(const ProcessOptions& o, ProcessResult& r);
  // Waits for the leader, then reaps it (killing the group on a limit or afterwards: no stragglers).
  void wait(ProcessResult& r);

 private:
  bool leader_exited() const;
  void terminate_group();
  void reap(int* status);

  Limits limits_;
  double grace_s_ = 0.5;
  pid_t pid_ = -1;
  int slot_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
};

Child::Child(const ProcessOptions& o, const Limits& limits) : limits_(limits), grace_s_(o.kill_grace_s) {
  const bool capture = o.log_file.empty();
  const bool feed = !o.stdin_data.empty();
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  auto close_pipes = [&] {
    for (int* p : {in, out, err}) {
      close_fd(p[0]);
      close_fd(p[1]);
    }
  };
  if ((feed && pipe2(in, O_CLOEXEC) != 0) || (capture && (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0))) {
    const int e = errno;
    close_pipes();
    throw Error(ErrorKind::runtime, o.what + ": cannot create pipes: " + std::strerror(e));
  }
  std::vector<std::string> env_storage = merged_environment(o.env_add);
  std::vector<char*> envp, argv;
  for (auto& s : env_storage) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = o.argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  if (feed)
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
  else
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (capture) {
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, o.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  }
  if (!o.working_dir.empty()) posix_spawn_file_actions_addchdir_np(&actions, o.working_dir.c_str());
  // The child gets default signal handling (not simbi's stop handlers) and its own process group.
  sigset_t empty_mask, default_sigs;
  sigemptyset(&empty_mask);
  sigemptyset(&default_sigs);
  for (int s : {SIGPIPE, SIGTERM, SIGUSR1, SIGINT}) sigaddset(&default_sigs, s);
  posix_spawnattr_setsigmask(&attr, &empty_mask);
  posix_spawnattr_setsigdefault(&attr, &default_sigs);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  const int rc = posix_spawnp(&pid_, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close_fd(in[0]);
  close_fd(out[1]);
  close_fd(err[1]);
  if (rc != 0) {
    pid_ = -1;
    close_pipes();
    std::string why = std::strerror(rc);
    if (!o.working_dir.empty()) why += " (working directory '" + o.working_dir + "')";
    throw Error(ErrorKind::runtime, o.what + ": cannot start " + o.argv.front() + ": " + why);
  }
  slot_ = register_group(pid_);
  in_ = in[1];
  out_ = out[0];
  err_ = err[0];
  for (int fd : {in_, out_, err_})
    if (fd >= 0) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

Child::~Child() {
  if (pid_ > 0) terminate_group();
  close_fd(in_);
  close_fd(out_);
  close_fd(err_);
}

bool Child::leader_exited() const {
  siginfo_t info{};
  // WNOWAIT: the exited leader stays a zombie, so its pid (the group id) cannot be reused before reap().
  while (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0)
    if (errno != EINTR) return true;  // nothing left to wait for
  return info.si_pid == pid_;
}

void Child::reap(int* status) {
  ::kill(-pid_, SIGKILL);  // whatever the leader left behind in its group
  // Out of the table while the leader is still a zombie, so the handler never signals a reused id.
  if (slot_ >= 0) g_live[slot_].store(0);
  slot_ = -1;
  int ignored = 0;
  while (::waitpid(pid_, status ? status : &ignored, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

void Child::terminate_group() {
  ::kill(-pid_, SIGTERM);
  const auto until = Clock::now() + std::chrono::duration<double>(grace_s_);
  while (!leader_exited() && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  reap(nullptr);
}

void Child::pump(const ProcessOptions& o, ProcessResult& r) {
  const std::string& input = o.stdin_data;
  size_t written = 0;
  char buf[65536];
  while (in_ >= 0 || out_ >= 0 || err_ >= 0) {
    if (limits_.expired(r)) return;
    pollfd fds[3];
    int nfds = 0, i_in = -1, i_out = -1, i_err = -1;
    if (in_ >= 0) fds[i_in = nfds++] = {in_, POLLOUT, 0};
    if (out_ >= 0) fds[i_out = nfds++] = {out_, POLLIN, 0};
    if (err_ >= 0) fds[i_err = nfds++] = {err_, POLLIN, 0};
    const int ready = ::poll(fds, static_cast<nfds_t>(nfds), limits_.wait_ms());
    if (ready < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorKind::runtime, o.what + ": poll failed: " + std::strerror(errno));
    }
    if (i_in >= 0 && fds[i_in].revents) {
      if (fds[i_in].revents & (POLLERR | POLLHUP)) close_fd(in_);  // the child closed stdin (or exited) early
      while (in_ >= 0 && written < input.size()) {
        const ssize_t w = ::write(in_, input.data() + written, std::min<size_t>(input.size() - written, 1 << 16));
        if (w > 0) {
          written += static_cast<size_t>(w);
        } else if (w < 0 && errno == EINTR) {
          continue;
        } else {
          if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) close_fd(in_);  // EPIPE and the like
          break;
        }
      }
      if (written == input.size()) close_fd(in_);
    }
    for (int k : {i_out, i_err}) {
      if (k < 0 || !fds[k].revents) continue;
      int& fd = (k == i_out) ? out_ : err_;
      std::string& sink = (k == i_out) ? r.out : r.err;
      for (;;) {
        const ssize_t got = ::read(fd, buf, sizeof buf);
        if (got > 0) {
          sink.append(buf, static_cast<size_t>(got));
          if (k == i_err && sink.size() > 2 * o.stderr_keep) sink.erase(0, sink.size() - o.stderr_keep);
        } else if (got < 0 && errno == EINTR) {
          continue;
        } else {
          if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) close_fd(fd);
          break;
        }
      }
    }
  }
  close_fd(in_);
}

void Child::wait(ProcessResult& r) {
  int pause_ms = 1;
  while (!r.timed_out && !r.stopped && !leader_exited()) {
    if (limits_.expired(r)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(pause_ms, limits_.wait_ms())));
    pause_ms = std::min(pause_ms * 2, 20);
  }
  if (r.timed_out || r.stopped) {
    terminate_group();
    return;
  }
  reap(&r.wait_status);
}

}  // namespace

bool ProcessResult::exited_ok() const {
  return !timed_out && !stopped && WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
}

std::string ProcessResult::describe() const {
  if (timed_out) return "timed out";
  if (stopped) return "stopped";
  if (WIFSIGNALED(wait_status)) return "killed by signal " + signal_abbrev(WTERMSIG(wait_status));
  return "exit status " + std::to_string(WEXITSTATUS(wait_status));
}

std::string signal_abbrev(int signal) {
  const char* abbrev = sigabbrev_np(signal);
  return abbrev ? std::string("SIG") + abbrev : std::to_string(signal);
}

ProcessResult run_process(const ProcessOptions& options) {
  require(!options.argv.empty() && !options.argv.front().empty(), ErrorKind::internal, "run_process: empty argv");
  Limits limits;
  limits.has_deadline = options.timeout_s > 0.0;
  limits.deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(std::max(options.timeout_s, 0.0)));
  limits.should_stop = &options.should_stop;
  const SigpipeGuard guard;
  ProcessResult result;
  Child child(options, limits);  // its destructor kills the group if anything below throws
  child.pump(options, result);
  child.wait(result);
  if (result.err.size() > options.stderr_keep) result.err.erase(0, result.err.size() - options.stderr_keep);
  return result;
}

void signal_live_process_groups(int signal) noexcept {
  for (int i = 0; i < kSlots; ++i) {
    const pid_t pgid = g_live[i].load();
    if (pgid > 0) ::kill(-pgid, signal);
  }
}

}  // namespace simbi
