// User simulators: the C-ABI plugin loader, the external-command protocol, the simulator config file
// and make_user_task(). Needs the example plugin (SIMBI_BINARY_DIR/examples), the test plugins
// (SIMBI_TEST_PLUGIN_DIR, from tests/plugins/*.c), python3 and a POSIX shell with awk.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "simbi/core/error.hpp"
#include "simbi/core/matrix.hpp"
#include "simbi/core/random.hpp"
#include "simbi/sim/command_simulator.hpp"
#include "simbi/sim/plugin_abi.h"
#include "simbi/sim/plugin_simulator.hpp"
#include "simbi/sim/user_simulator_config.hpp"

using simbi::Error;
using simbi::ErrorKind;
using simbi::Matrix;
using simbi::RandomStream;
using simbi::RowStreams;
using simbi::StreamPurpose;
namespace sim = simbi::sim;

namespace {

const std::string kExamplePlugin = SIMBI_BINARY_DIR "/examples/libexample_simulator.so";
const std::string kPluginDir = SIMBI_TEST_PLUGIN_DIR;
const std::string kSource = SIMBI_SOURCE_DIR;
const std::string kPluginToml = kSource + "/examples/plugin/example_simulator.toml";
const std::string kExternalToml = kSource + "/examples/external/example_simulator.toml";
const std::string kExternalScript = kSource + "/examples/external/example_simulator.py";

RowStreams streams_at(int64_t first_row, uint64_t seed = 7) {
  return RowStreams{RandomStream(seed, StreamPurpose::simulation, 0), first_row};
}

// Runs f, expects a simbi::Error of `kind` whose message contains every one of `parts`.
template <typename F>
void expect_error(F&& f, ErrorKind kind, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "expected a simbi::Error containing '" << parts.front() << "'";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(e.kind(), kind) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "message is not one line: " << msg;
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

// Bitwise row equality that treats NaN == NaN.
bool same_values(const float* a, const float* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(a[i]) != std::isnan(b[i])) return false;
    if (!std::isnan(a[i]) && a[i] != b[i]) return false;
  }
  return true;
}

bool row_is_nan(const Matrix& m, int64_t i) {
  for (int64_t j = 0; j < m.cols(); ++j)
    if (!std::isnan(m(i, j))) return false;
  return true;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "simbi_user_sim_XXXXXX").string();
    const char* p = mkdtemp(tmpl.data());
    if (!p) throw std::runtime_error("mkdtemp failed");
    path_ = p;
  }
  ~TempDir() { (void)!std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string write(const std::string& name, const std::string& text) const {
    const std::string file = path_ + "/" + name;
    std::ofstream(file) << text;
    return file;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

sim::UserSimulatorConfig parse(const std::string& text) {
  std::istringstream in(text);
  return sim::parse_user_simulator_config(in, "cfg.toml");
}

const char* kGoodConfig = R"(
name = "damped"
theta_dim = 2
x_dim = 4
[prior]
type = "uniform"
low = [0.5, 0.0]
high = [3.0, 1.0]
)";

Matrix simulate_all(sim::Simulator& s, const Matrix& theta, int64_t first_row = 0, uint64_t seed = 7) {
  Matrix x(theta.rows(), s.x_dim());
  s.simulate(theta, x, streams_at(first_row, seed));
  return x;
}

sim::CommandOptions command(const std::string& cmd, int64_t theta_dim = 2, int64_t x_dim = 4) {
  sim::CommandOptions o;
  o.command = cmd;
  o.theta_dim = theta_dim;
  o.x_dim = x_dim;
  return o;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Plugin
// ---------------------------------------------------------------------------------------------------

TEST(UserSimulatorPlugin, ExamplePluginRowsDoNotDependOnBatching) {
  auto s = sim::load_plugin_simulator(kExamplePlugin, {2, 4, "", ""});
  ASSERT_EQ(s->theta_dim(), 2);
  ASSERT_EQ(s->x_dim(), 4);
  const int64_t n = 200;
  Matrix theta(n, 2);
  RandomStream rng(1, StreamPurpose::test, 0);
  for (int64_t i = 0; i < n; ++i) {
    theta(i, 0) = static_cast<float>(rng.uniform(0.5, 3.0));
    theta(i, 1) = static_cast<float>(rng.uniform(0.0, 1.0));
  }
  const Matrix whole = simulate_all(*s, theta);
  // The same rows in three uneven batches, each with its global first row.
  Matrix split(n, 4);
  const std::vector<std::pair<int64_t, int64_t>> batches = {{0, 1}, {1, 77}, {78, 122}};
  for (const auto& [begin, count] : batches) {
    s->simulate(simbi::ConstMatrixView{theta.row(begin), count, 2}, split.view().rows_range(begin, count),
                streams_at(begin));
  }
  int64_t failed = 0;
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_TRUE(same_values(whole.row(i), split.row(i), 4)) << "row " << i;
    const bool should_fail = theta(i, 1) >= 0.95f;
    EXPECT_EQ(row_is_nan(whole, i), should_fail) << "row " << i << " zeta " << theta(i, 1);
    failed += should_fail;
  }
  EXPECT_GT(failed, 0);  // the batch exercised the failure region
  EXPECT_LT(failed, n);
  // Another seed gives other noise.
  const Matrix other = simulate_all(*s, theta, 0, 8);
  EXPECT_FALSE(same_values(whole.row(0), other.row(0), 4));
}

TEST(UserSimulatorPlugin, ExamplePluginMatchesTheModel) {
  // Fixed θ, many rows: the mean is the noiseless oscillator, the spread the noise_sd (0.05).
  auto s = sim::load_plugin_simulator(kExamplePlugin, {2, 4, kPluginToml, kPluginToml});
  const int64_t n = 4000;
  const double omega = 2.0, zeta = 0.3;
  Matrix theta(n, 2);
  for (int64_t i = 0; i < n; ++i) theta(i, 0) = static_cast<float>(omega), theta(i, 1) = static_cast<float>(zeta);
  const Matrix x = simulate_all(*s, theta);
  const double times[4] = {0.5, 1.0, 1.5, 2.0};
  for (int j = 0; j < 4; ++j) {
    const double wd = omega * std::sqrt(1 - zeta * zeta), a = zeta * omega, t = times[j];
    const double expected = std::exp(-a * t) * (std::cos(wd * t) + a / wd * std::sin(wd * t));
    double sum = 0, sum2 = 0;
    for (int64_t i = 0; i < n; ++i) sum += x(i, j), sum2 += x(i, j) * x(i, j);
    const double mean = sum / n, sd = std::sqrt(sum2 / n - mean * mean);
    EXPECT_NEAR(mean, expected, 0.005) << "t = " << t;  // 6 standard errors
    EXPECT_NEAR(sd, 0.05, 0.004) << "t = " << t;
  }
}

TEST(UserSimulatorPlugin, MissingLibraryIsAnIoError) {
  expect_error([] { sim::load_plugin_simulator("/nonexistent/libnothing.so"); }, ErrorKind::io,
               {"/nonexistent/libnothing.so", "no such file"});
  // A bare name that is neither here nor on the loader's path: dlopen's own message.
  expect_error([] { sim::load_plugin_simulator("libsimbi_surely_missing_plugin.so"); }, ErrorKind::io,
               {"libsimbi_surely_missing_plugin.so", "cannot load the shared library"});
}

TEST(UserSimulatorPlugin, NotASharedLibraryGivesTheLoaderMessage) {
  expect_error([] { sim::load_plugin_simulator(kPluginToml); }, ErrorKind::io,
               {kPluginToml, "cannot load the shared library"});
}

TEST(UserSimulatorPlugin, MissingRequiredSymbolIsNamed) {
  const std::string lib = kPluginDir + "/libmissing_symbol.so";
  expect_error([&] { sim::load_plugin_simulator(lib); }, ErrorKind::format,
               {lib, "missing required symbol", "simbi_plugin_simulate"});
}

TEST(UserSimulatorPlugin, WrongAbiVersionIsRefused) {
  const std::string lib = kPluginDir + "/libwrong_abi.so";
  expect_error([&] { sim::load_plugin_simulator(lib); }, ErrorKind::format, {lib, "found 99", "expected 1"});
}

TEST(UserSimulatorPlugin, DimsDisagreeingWithTheConfig) {
  expect_error(
      [] {
        sim::load_plugin_simulator(kExamplePlugin, {2, 5, "", "my.toml"});
      },
      ErrorKind::format, {kExamplePlugin, "x_dim = 4", "my.toml declares x_dim = 5"});
  expect_error(
      [] {
        sim::load_plugin_simulator(kExamplePlugin, {3, 4, "", "my.toml"});
      },
      ErrorKind::format, {"theta_dim = 2", "my.toml declares theta_dim = 3"});
}

TEST(UserSimulatorPlugin, FailedBatchReportsLastErrorAndBadRowsBecomeNaN) {
  const std::string lib = kPluginDir + "/libscripted.so";
  auto s = sim::load_plugin_simulator(lib, {2, 3, "", ""});
  Matrix theta(4, 2);
  const float t0[4] = {1.f, 1000.f, 2000.f, 3.f};
  for (int i = 0; i < 4; ++i) theta(i, 0) = t0[i], theta(i, 1) = 0.5f * i;
  const Matrix x = simulate_all(*s, theta);
  EXPECT_EQ(x(0, 0), 1.f);
  EXPECT_EQ(x(0, 1), 0.f);
  EXPECT_TRUE(row_is_nan(x, 1));  // untouched row: pre-filled NaN
  EXPECT_TRUE(row_is_nan(x, 2));  // one inf: the whole row is failed
  EXPECT_EQ(x(3, 0), 3.f);
  EXPECT_EQ(x(3, 1), 1.5f);
  // The seed column is the row's identity seed, as documented.
  const uint64_t seed3 = streams_at(0).row(3).identity_seed();
  EXPECT_EQ(x(3, 2), static_cast<float>(static_cast<double>(seed3 >> 11) * (1.0 / 9007199254740992.0)));

  theta(2, 0) = -1.f;
  expect_error([&] { simulate_all(*s, theta); }, ErrorKind::runtime,
               {lib, "returned 7", "batch of 4 rows", "negative theta_0 in row 2"});
}

TEST(UserSimulatorPlugin, InitRunsOncePerProcessAndFinalizeAtTheEnd) {
  const std::string lib = kPluginDir + "/libscripted.so";
  // Our own handle keeps the library (and its counters) loaded for the whole test.
  void* h = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << dlerror();
  auto init_calls = reinterpret_cast<int (*)()>(dlsym(h, "scripted_init_calls"));
  auto finalize_calls = reinterpret_cast<int (*)()>(dlsym(h, "scripted_finalize_calls"));
  auto init_path = reinterpret_cast<const char* (*)()>(dlsym(h, "scripted_init_path"));
  ASSERT_TRUE(init_calls && finalize_calls && init_path);
  const int inits = init_calls(), finals = finalize_calls();
  auto a = sim::load_plugin_simulator(lib, {2, 3, "/some/config.toml", ""});
  auto b = sim::load_plugin_simulator(lib, {2, 3, "/some/config.toml", ""});
  EXPECT_EQ(init_calls(), inits + 1);
  EXPECT_STREQ(init_path(), "/some/config.toml");
  // A second load with another init config while the first is alive is refused.
  expect_error(
      [&] {
        sim::load_plugin_simulator(lib, {2, 3, "/other.toml", ""});
      },
      ErrorKind::invalid_argument, {lib, "/other.toml"});
  a.reset();
  EXPECT_EQ(finalize_calls(), finals);  // b still uses it
  b.reset();
  EXPECT_EQ(finalize_calls(), finals + 1);
  // Loaded again after the last user went away: initialised again (with the new config).
  auto c = sim::load_plugin_simulator(lib, {2, 3, "", ""});
  EXPECT_EQ(init_calls(), inits + 2);
  EXPECT_STREQ(init_path(), "(null)");
  c.reset();
  EXPECT_EQ(finalize_calls(), finals + 2);
  dlclose(h);
}

// ---------------------------------------------------------------------------------------------------
// External command
// ---------------------------------------------------------------------------------------------------

TEST(UserSimulatorCommand, ExampleScriptIsDeterministicAndRecordsFailures) {
  sim::Task task = sim::make_user_task({kExternalToml, "", "", -1});
  EXPECT_EQ(task.name, "linear_noise");
  EXPECT_EQ(task.theta_dim(), 2);
  EXPECT_EQ(task.x_dim(), 4);
  ASSERT_EQ(task.theta_labels, (std::vector<std::string>{"a", "b"}));
  const int64_t n = 300;
  Matrix theta(n, 2);
  task.prior->sample(theta, RowStreams{RandomStream(3, StreamPurpose::prior_draw, 0), 0});
  theta(0, 0) = 2.0f, theta(0, 1) = 1.0f;  // a + b > 2.5: saturated, NaN
  theta(1, 0) = 0.5f, theta(1, 1) = 0.25f;
  const Matrix x = simulate_all(*task.simulator, theta);
  const Matrix again = simulate_all(*task.simulator, theta);
  Matrix split(n, 4);
  task.simulator->simulate(simbi::ConstMatrixView{theta.row(0), 100, 2}, split.view().rows_range(0, 100),
                           streams_at(0));
  task.simulator->simulate(simbi::ConstMatrixView{theta.row(100), n - 100, 2}, split.view().rows_range(100, n - 100),
                           streams_at(100));
  double sum2 = 0;
  int64_t ok = 0;
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_TRUE(same_values(x.row(i), again.row(i), 4)) << "row " << i;
    EXPECT_TRUE(same_values(x.row(i), split.row(i), 4)) << "row " << i;
    const bool saturated = static_cast<double>(theta(i, 0)) + theta(i, 1) > 2.5;
    ASSERT_EQ(row_is_nan(x, i), saturated) << "row " << i;
    if (saturated) continue;
    for (int j = 0; j < 4; ++j) {
      const double r = x(i, j) - (theta(i, 0) + theta(i, 1) * j);
      EXPECT_LT(std::fabs(r), 0.6) << "row " << i;  // 6 noise sd
      sum2 += r * r;
      ++ok;
    }
  }
  EXPECT_TRUE(row_is_nan(x, 0));
  EXPECT_FALSE(row_is_nan(x, 1));
  EXPECT_NEAR(std::sqrt(sum2 / ok), 0.1, 0.01);
  // Other seeds, other noise.
  const Matrix other = simulate_all(*task.simulator, theta, 0, 99);
  EXPECT_FALSE(same_values(x.row(1), other.row(1), 4));
}

TEST(UserSimulatorCommand, WritesSeedsAndThetaAndSetsEnvironment) {
  TempDir dir;
  const std::string copy = dir.path() + "/input.txt";
  sim::CommandSimulator s(command("tee '" + copy +
                                  "' | awk '{print ENVIRON[\"SIMBI_THETA_DIM\"], "
                                  "ENVIRON[\"SIMBI_X_DIM\"], ENVIRON[\"SIMBI_BATCH_ROWS\"], "
                                  "ENVIRON[\"SIMBI_PROTOCOL_VERSION\"]}'"));
  Matrix theta(3, 2);
  const float values[6] = {0.1f, -2.5e-7f, 123456.789f, 1.f / 3.f, -0.f, 3.4e38f};
  std::copy(values, values + 6, theta.data());
  const Matrix x = simulate_all(s, theta, 40);
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(x(i, 0), 2.f);
    EXPECT_EQ(x(i, 1), 4.f);
    EXPECT_EQ(x(i, 2), 3.f);
    EXPECT_EQ(x(i, 3), 1.f);
  }
  std::ifstream in(copy);
  std::string line;
  for (int64_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(std::getline(in, line));
    std::istringstream fields(line);
    unsigned long long seed = 0;
    std::string t0, t1, extra;
    fields >> seed >> t0 >> t1;
    EXPECT_FALSE(fields >> extra) << line;
    EXPECT_EQ(seed, streams_at(40).row(i).identity_seed());
    EXPECT_EQ(std::strtof(t0.c_str(), nullptr), theta(i, 0)) << line;  // θ round-trips exactly
    EXPECT_EQ(std::strtof(t1.c_str(), nullptr), theta(i, 1)) << line;
  }
  EXPECT_FALSE(std::getline(in, line));
}

TEST(UserSimulatorCommand, NonFiniteValuesMarkTheRowFailed) {
  sim::CommandSimulator s(command("cat >/dev/null; printf '1 2 3 4\\n1 inf 3 4\\nnan 2 3 4\\n-5e-1 +2 1e400 0x1'"));
  Matrix theta(4, 2);
  // 0x1 is not a number: the parser must say so (after the three good lines).
  expect_error([&] { simulate_all(s, theta); }, ErrorKind::format, {"stdout line 4, value 4", "'0x1'"});
  sim::CommandSimulator t(command("cat >/dev/null; printf '1 2 3 4\\n1 inf 3 4\\nNaN 2 3 4\\n-5e-1 +2 1e-50 7'"));
  const Matrix x = simulate_all(t, theta);
  EXPECT_EQ(x(0, 3), 4.f);
  EXPECT_TRUE(row_is_nan(x, 1));
  EXPECT_TRUE(row_is_nan(x, 2));
  EXPECT_EQ(x(3, 0), -0.5f);
  EXPECT_EQ(x(3, 1), 2.f);
  EXPECT_EQ(x(3, 2), 0.f);  // underflow is a number, not a failure
}

TEST(UserSimulatorCommand, NonZeroExitGivesStatusAndLastStderrLine) {
  sim::CommandSimulator s(command("cat >/dev/null; echo 'starting' >&2; echo 'boom: bad parameter' >&2; exit 3"));
  Matrix theta(2, 2);
  expect_error([&] { simulate_all(s, theta); }, ErrorKind::runtime,
               {"external simulator 'cat >/dev/null;", "exited with status 3", "boom: bad parameter"});
}

TEST(UserSimulatorCommand, CommandNotFound) {
  sim::CommandSimulator s(command("simbi_no_such_command_xyz --flag"));
  Matrix theta(2, 2);
  expect_error([&] { simulate_all(s, theta); }, ErrorKind::runtime,
               {"simbi_no_such_command_xyz", "status 127 (command not found)", "not found"});
}

TEST(UserSimulatorCommand, KilledBySignal) {
  sim::CommandSimulator s(command("kill -SEGV $$"));
  Matrix theta(2, 2);
  expect_error([&] { simulate_all(s, theta); }, ErrorKind::runtime, {"killed by signal SIGSEGV"});
}

TEST(UserSimulatorCommand, WrongNumberOfValuesOnALine) {
  sim::CommandSimulator s(command("awk 'NR == 2 {print 1, 2, 3; next} {print 1, 2, 3, 4}'"));
  Matrix theta(3, 2);
  expect_error([&] { simulate_all(s, theta); }, ErrorKind::format, {"stdout line 2 has 3 values, expected x_dim = 4"});
}

TEST(UserSimulatorCommand, TooFewAndTooManyLines) {
  Matrix theta(5, 2);
  sim::CommandSimulator few(command("awk 'NR <= 3 {print 1, 2, 3, 4}'"));
  expect_error([&] { simulate_all(few, theta); }, ErrorKind::format, {"printed 3 lines on stdout, expected 5"});
  sim::CommandSimulator many(command("echo debug; awk '{print 1, 2, 3, 4}'"));
  expect_error([&] { simulate_all(many, theta); }, ErrorKind::format,
               {"printed 6 lines on stdout, expected 5", "diagnostics must go to stderr"});
}

TEST(UserSimulatorCommand, CommandThatStopsReadingEarlyDoesNotKillSimbi) {
  // head exits after one line while simbi still has ~1 MB to write: EPIPE, not SIGPIPE.
  sim::CommandSimulator s(command("head -n 1 >/dev/null; echo 1 2 3 4"));
  Matrix theta(40000, 2, 0.125f);
  expect_error([&] { simulate_all(s, theta); }, ErrorKind::format, {"printed 1 lines on stdout, expected 40000"});
}

TEST(UserSimulatorCommand, BigBatchDoesNotDeadlock) {
  // awk streams its output while simbi is still writing: without a poll loop both pipes fill up.
  sim::CommandSimulator s(command("awk '{print $2, $3, $2 + $3, \"nan\"}'"));
  const int64_t n = 20000;
  Matrix theta(n, 2);
  for (int64_t i = 0; i < n; ++i) theta(i, 0) = static_cast<float>(i), theta(i, 1) = 0.5f;
  const auto start = std::chrono::steady_clock::now();
  const Matrix x = simulate_all(s, theta);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 10.0);
  sim::CommandSimulator t(command("awk '{print $2, $3, $2 + $3, $2 * 2}'"));
  const Matrix y = simulate_all(t, theta);
  for (int64_t i = 0; i < n; i += 997) EXPECT_TRUE(row_is_nan(x, i)) << i;
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(y(i, 0), static_cast<float>(i));
    ASSERT_EQ(y(i, 1), 0.5f);
    ASSERT_NEAR(y(i, 2), i + 0.5, 1e-5 * (i + 1));
  }
}

TEST(UserSimulatorCommand, TimeoutKillsTheProcessGroup) {
  sim::CommandOptions o = command("sleep 30; echo 1 2 3 4");
  o.timeout_s = 0.3;
  sim::CommandSimulator s(o);
  Matrix theta(1, 2);
  const auto start = std::chrono::steady_clock::now();
  expect_error([&] { simulate_all(s, theta); }, ErrorKind::runtime, {"did not finish", "0.3 s", "killed"});
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
}

TEST(UserSimulatorCommand, TimeoutWithFailRowRecordsTheRowsAsFailed) {
  sim::CommandOptions o = command("sleep 30; echo 1 2 3 4");
  o.timeout_s = 0.3;
  o.on_timeout = sim::OnTimeout::fail_row;
  sim::CommandSimulator s(o);
  Matrix theta(3, 2);
  const auto start = std::chrono::steady_clock::now();
  const Matrix x = simulate_all(s, theta);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
  for (int64_t i = 0; i < 3; ++i) EXPECT_TRUE(row_is_nan(x, i)) << i;
}

TEST(UserSimulatorCommand, InterruptCheckAbandonsACallAndKillsItsGroup) {
  TempDir dir;
  const std::string pid_file = dir.path() + "/grandchild.pid";
  sim::CommandSimulator s(command("sleep 30 & echo $! > '" + pid_file + "'; wait"));
  const auto start = std::chrono::steady_clock::now();
  s.set_interrupt_check([&] { return std::chrono::steady_clock::now() - start > std::chrono::milliseconds(300); });
  Matrix theta(1, 2);
  EXPECT_THROW(simulate_all(s, theta), sim::Interrupted);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
  long pid = 0;
  std::ifstream(pid_file) >> pid;
  ASSERT_GT(pid, 0);
  // Gone, or a zombie waiting for init to reap it (kill(pid, 0) would still succeed on a zombie).
  std::string stat;
  std::getline(std::ifstream("/proc/" + std::to_string(pid) + "/stat"), stat);
  const size_t paren = stat.rfind(')');
  const char state = paren != std::string::npos && paren + 2 < stat.size() ? stat[paren + 2] : 'X';
  EXPECT_TRUE(state == 'X' || state == 'Z') << "the backgrounded grandchild survived the call: " << stat;
}

// ---------------------------------------------------------------------------------------------------
// Config file and make_user_task
// ---------------------------------------------------------------------------------------------------

TEST(UserSimulatorConfig, ParsesTheExampleConfigs) {
  const auto p = sim::load_user_simulator_config(kPluginToml);
  EXPECT_EQ(p.name, "damped_oscillator");
  EXPECT_EQ(p.theta_dim, 2);
  EXPECT_EQ(p.x_dim, 4);
  EXPECT_EQ(p.theta_labels, (std::vector<std::string>{"omega", "zeta"}));
  EXPECT_EQ(p.prior["type"], "uniform");
  EXPECT_EQ(p.prior["low"], (std::vector<double>{0.5, 0.0}));
  EXPECT_EQ(p.prior["high"], (std::vector<double>{3.0, 1.0}));
  EXPECT_TRUE(p.library.empty());
  EXPECT_NE(p.description.find("damped oscillator"), std::string::npos);

  const auto e = sim::load_user_simulator_config(kExternalToml);
  EXPECT_EQ(e.name, "linear_noise");
  EXPECT_EQ(e.command, "python3 example_simulator.py");
  EXPECT_EQ(e.timeout_s, 600.0);
  EXPECT_EQ(e.prior["type"], "gaussian");
  EXPECT_EQ(e.prior["std"], (std::vector<double>{1.0, 1.0}));
}

TEST(UserSimulatorConfig, OptionalFieldsAndMatrices) {
  const auto c = parse(R"(
theta_dim = 2
x_dim = 1
library = "libfoo.so"   # a comment
on_timeout = "fail_row"
[prior]
type = "gaussian"
mean = [1, -1]
cov = [[2.0, 0.5],
       [0.5, 1.0]]
[simulator]
anything = "goes here"
[simulator.nested]
deep = 3
)");
  EXPECT_EQ(c.name, "user_simulator");  // default when parsed from a stream
  EXPECT_TRUE(c.theta_labels.empty());
  EXPECT_EQ(c.library, "libfoo.so");
  EXPECT_EQ(c.on_timeout, sim::OnTimeout::fail_row);
  EXPECT_EQ(parse(kGoodConfig).on_timeout, sim::OnTimeout::stop);  // the default
  EXPECT_EQ(c.prior["cov"], (std::vector<double>{2.0, 0.5, 0.5, 1.0}));
  const auto prior = sim::prior_from_json(c.prior, "test");
  EXPECT_NEAR(prior->stddev()[0], std::sqrt(2.0), 1e-12);
}

TEST(UserSimulatorConfig, EachBadFieldIsNamed) {
  const auto bad = [](const std::string& text, const std::vector<std::string>& parts) {
    expect_error([&] { parse(text); }, ErrorKind::format, parts);
  };
  const std::string prior = "[prior]\ntype = \"uniform\"\nlow = [0, 0]\nhigh = [1, 1]\n";
  bad("theta_dim = 2\n" + prior, {"cfg.toml", "'x_dim' is missing"});
  bad("x_dim = 2\n" + prior, {"cfg.toml", "'theta_dim' is missing"});
  bad("theta_dim = 3\nx_dim = 2\n" + prior, {"cfg.toml", "'prior' has dimension 2 but theta_dim = 3"});
  bad("theta_dim = 2.5\nx_dim = 2\n" + prior, {"'theta_dim' must be a positive integer, got '2.5'"});
  bad("theta_dim = 0\nx_dim = 2\n" + prior, {"'theta_dim' must be a positive integer, got '0'"});
  bad("theta_dim = 2\nx_dim = two\n" + prior, {"'x_dim' must be a positive integer, got 'two'"});
  bad("theta_dim = 2\nx_dim = 2\n", {"cfg.toml", "[prior] table is missing"});
  bad("theta_dim = 2\nx_dim = 2\n[prior]\nlow = [0, 0]\n", {"'prior.type' is missing"});
  bad("theta_dim = 2\nx_dim = 2\n[prior]\ntype = \"beta\"\n", {"'prior.type' is 'beta'", "uniform, gaussian"});
  bad("theta_dim = 2\nx_dim = 2\n[prior]\ntype = \"uniform\"\nlow = [0, zero]\nhigh = [1, 1]\n",
      {"'prior.low' must contain only numbers, got 'zero'"});
  bad("theta_dim = 2\nx_dim = 2\n[prior]\ntype = \"uniform\"\nlow = [0, 0]\nhigh = [1, 1]\nmean = [0, 0]\n",
      {"'prior.mean' is not a field of a uniform prior", "low, high"});
  bad("theta_dim = 2\nx_dim = 2\n[prior]\ntype = \"uniform\"\nlow = [0, 0]\n", {"cfg.toml", "'high'"});
  bad("theta_dim = 2\nx_dim = 2\n[prior]\ntype = \"uniform\"\nlow = [0, 0]\nhigh = [1, -1]\n",
      {"cfg.toml", "low < high in dimension 2"});
  bad("theta_dim = 2\nx_dim = 2\ntheta_labels = [\"a\"]\n" + prior,
      {"'theta_labels' has 1 labels, expected theta_dim = 2"});
  bad("theta_dim = 2\nx_dim = 2\nxdim = 2\n" + prior, {"'xdim' is not a known field"});
  bad("theta_dim = 2\nx_dim = 2\n[priors]\ntype = \"uniform\"\n" + prior, {"'priors.type' is not in a known table"});
  bad("theta_dim = 2\nx_dim = 2\n" + prior + "[prior]\ntype = \"gaussian\"\n",
      {"'prior.type' is given more than once"});
  bad("name = \"two_moons\"\ntheta_dim = 2\nx_dim = 2\n" + prior, {"'name'", "built-in task"});
  bad("name = \"my task\"\ntheta_dim = 2\nx_dim = 2\n" + prior, {"'name' must be a non-empty name"});
  bad("theta_dim = 2\nx_dim = 2\ntimeout_s = -1\n" + prior, {"'timeout_s' must be a number of seconds >= 0"});
  bad("theta_dim = 2\nx_dim = 2\non_timeout = \"skip\"\n" + prior,
      {"'on_timeout' must be \"stop\" or \"fail_row\", got 'skip'"});
}

TEST(UserSimulatorConfig, MissingConfigFileIsAnIoError) {
  expect_error([] { sim::load_user_simulator_config("/nonexistent/sim.toml"); }, ErrorKind::io,
               {"/nonexistent/sim.toml", "cannot open"});
}

TEST(UserSimulatorTask, PluginTaskFromOptions) {
  sim::Task task = sim::make_user_task({kPluginToml, kExamplePlugin, "", -1});
  EXPECT_EQ(task.name, "damped_oscillator");
  EXPECT_EQ(task.theta_labels, (std::vector<std::string>{"omega", "zeta"}));
  EXPECT_EQ(task.theta_dim(), 2);
  EXPECT_EQ(task.x_dim(), 4);
  EXPECT_NE(task.description.find("U[0.5,3]x[0,1]"), std::string::npos) << task.description;
  Matrix theta(50, 2), x(50, 4);
  task.prior->sample(theta, streams_at(0));
  task.simulator->simulate(theta, x, streams_at(0));
  for (int64_t i = 0; i < 50; ++i) EXPECT_EQ(row_is_nan(x, i), theta(i, 1) >= 0.95f);
}

TEST(UserSimulatorTask, ConfigNamesItsLibraryOrCommand) {
  TempDir dir;
  const std::string body = "theta_dim = 2\nx_dim = 4\n[prior]\ntype = \"uniform\"\nlow = [0.5, 0]\nhigh = [3, 1]\n";
  // library: relative to the config's folder.
  ASSERT_EQ(symlink(kExamplePlugin.c_str(), (dir.path() + "/libex.so").c_str()), 0);
  const std::string lib_cfg = dir.write("lib.toml", "library = \"libex.so\"\n" + body);
  {
    sim::Task a = sim::make_user_task({lib_cfg, "", "", -1});
    EXPECT_EQ(a.name, "lib");  // the file's stem
    EXPECT_EQ(a.x_dim(), 4);
  }  // unloaded, so the next load may initialise the plugin with another config
  // command: run in the config's folder, with SIMBI_CONFIG set.
  dir.write("echo.sh", "cat >/dev/null; test -f \"$SIMBI_CONFIG\" && echo 1 2 3 4\n");
  const std::string cmd_cfg = dir.write("cmd.toml", "command = \"sh echo.sh\"\n" + body);
  sim::Task b = sim::make_user_task({cmd_cfg, "", "", -1});
  Matrix theta(1, 2), x(1, 4);
  b.simulator->simulate(theta, x, streams_at(0));
  EXPECT_EQ(x(0, 3), 4.f);
  // Both in the file: ambiguous; an option chooses.
  const std::string both = dir.write("both.toml", "library = \"libex.so\"\ncommand = \"sh echo.sh\"\n" + body);
  expect_error(
      [&] {
        sim::make_user_task({both, "", "", -1});
      },
      ErrorKind::format, {"both.toml", "'library' and 'command'"});
  sim::Task c = sim::make_user_task({both, kExamplePlugin, "", -1});
  EXPECT_EQ(c.x_dim(), 4);
}

TEST(UserSimulatorTask, InconsistentOptions) {
  expect_error(
      [] {
        sim::make_user_task({kPluginToml, kExamplePlugin, "true", -1});
      },
      ErrorKind::invalid_argument, {"--simulator-lib", "--simulator-cmd", "not both"});
  expect_error(
      [] {
        sim::make_user_task({kPluginToml, "", "", -1});
      },
      ErrorKind::invalid_argument, {kPluginToml, "no simulator given"});
  expect_error(
      [] {
        sim::make_user_task({"", kExamplePlugin, "", -1});
      },
      ErrorKind::invalid_argument, {"--simulator-config"});
  TempDir dir;
  const std::string cfg =
      dir.write("wrong.toml", "theta_dim = 2\nx_dim = 5\n[prior]\ntype = \"uniform\"\nlow = [0, 0]\nhigh = [1, 1]\n");
  expect_error(
      [&] {
        sim::make_user_task({cfg, kExamplePlugin, "", -1});
      },
      ErrorKind::format, {kExamplePlugin, "x_dim = 4", "wrong.toml' declares x_dim = 5"});
}
