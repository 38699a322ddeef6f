#include "simbi/sim/plugin_simulator.hpp"

#include <dlfcn.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <vector>

#include "simbi/core/error.hpp"
#include "simbi/sim/plugin_abi.h"

namespace simbi::sim {

namespace {

struct PluginFunctions {
  simbi_plugin_abi_version_fn abi_version = nullptr;
  simbi_plugin_dims_fn dims = nullptr;
  simbi_plugin_simulate_fn simulate = nullptr;
  simbi_plugin_init_fn init = nullptr;              // optional
  simbi_plugin_finalize_fn finalize = nullptr;      // optional
  simbi_plugin_last_error_fn last_error = nullptr;  // optional
};

// One entry per loaded library (dlopen returns the same handle for the same file): how many
// simulators use it, what init() was given, its dims, and the lock serialising simulate() calls.
struct LibraryState {
  int users = 0;
  std::string init_config;
  PluginFunctions fns;
  int32_t theta_dim = 0;
  int32_t x_dim = 0;
  std::shared_ptr<std::mutex> call_mutex = std::make_shared<std::mutex>();
};

// Guards the registry and every init/dims/finalize call and dlopen/dlclose pair. Never destroyed, so
// simulators destroyed during static destruction still find it.
std::mutex& registry_mutex() {
  static auto* m = new std::mutex;
  return *m;
}
std::map<void*, LibraryState>& registry() {
  static auto* r = new std::map<void*, LibraryState>;
  return *r;
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  constexpr size_t kMax = 300;
  if (s.size() > kMax) s = s.substr(0, kMax) + "...";
  return s;
}

std::string last_error_of(simbi_plugin_last_error_fn last_error) {
  if (!last_error) return "(the plugin does not export simbi_plugin_last_error)";
  const char* msg = last_error();
  if (!msg || !*msg) return "(simbi_plugin_last_error returned no message)";
  return one_line(msg);
}

template <typename Fn>
Fn lookup(void* handle, const char* name) {
  dlerror();
  void* sym = dlsym(handle, name);
  return reinterpret_cast<Fn>(sym);
}

class PluginSimulator final : public Simulator {
 public:
  PluginSimulator(std::string path, void* handle, const LibraryState& state)
      : path_(std::move(path)),
        handle_(handle),
        simulate_(state.fns.simulate),
        last_error_(state.fns.last_error),
        call_mutex_(state.call_mutex),
        theta_dim_(state.theta_dim),
        x_dim_(state.x_dim) {}

  ~PluginSimulator() override {
    std::lock_guard<std::mutex> lock(registry_mutex());
    auto it = registry().find(handle_);
    if (it != registry().end() && --it->second.users == 0) {
      if (it->second.fns.finalize) it->second.fns.finalize();
      registry().erase(it);
    }
    dlclose(handle_);  // one dlclose per successful dlopen in load_plugin_simulator
  }

  int64_t theta_dim() const override { return theta_dim_; }
  int64_t x_dim() const override { return x_dim_; }

  void simulate(ConstMatrixView theta, MatrixView x, const RowStreams& streams) override {
    require(theta.cols == theta_dim_ && x.cols == x_dim_ && x.rows == theta.rows, ErrorKind::internal,
            "PluginSimulator::simulate: batch shapes do not match the simulator's dimensions");
    const int64_t n = theta.rows;
    if (n == 0) return;
    std::fill(x.data, x.data + n * x_dim_, std::numeric_limits<float>::quiet_NaN());
    seeds_.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) seeds_[static_cast<size_t>(i)] = streams.row(i).identity_seed();
    int rc;
    std::string err;
    {
      std::lock_guard<std::mutex> lock(*call_mutex_);
      rc = simulate_(theta.data, n, x.data, seeds_.data());
      if (rc != 0) err = last_error_of(last_error_);
    }
    if (rc != 0)
      throw Error(ErrorKind::runtime, "simulator plugin '" + path_ + "': simbi_plugin_simulate returned " +
                                          std::to_string(rc) + " for a batch of " + std::to_string(n) +
                                          " rows: " + err);
    // A row with any non-finite value is a failed simulation: make the whole row NaN.
    for (int64_t i = 0; i < n; ++i) {
      float* row = x.row(i);
      bool ok = true;
      for (int64_t j = 0; j < x_dim_; ++j) ok = ok && std::isfinite(row[j]);
      if (!ok) std::fill(row, row + x_dim_, std::numeric_limits<float>::quiet_NaN());
    }
  }

 private:
  std::string path_;
  void* handle_;
  simbi_plugin_simulate_fn simulate_;
  simbi_plugin_last_error_fn last_error_;
  std::shared_ptr<std::mutex> call_mutex_;
  int64_t theta_dim_;
  int64_t x_dim_;
  std::vector<uint64_t> seeds_;
};

}  // namespace

std::unique_ptr<Simulator> load_plugin_simulator(const std::string& path, const PluginOptions& options) {
  const std::string what = "simulator plugin '" + path + "'";
  require(!path.empty(), ErrorKind::invalid_argument, "simulator plugin: empty library path");
  // A bare file name that exists in the working directory is meant as that file, not as a name for
  // the loader's search path.
  std::string open_path = path;
  struct stat st {};
  if (path.find('/') == std::string::npos) {
    if (::stat(path.c_str(), &st) == 0) open_path = "./" + path;
  } else {
    require(::stat(path.c_str(), &st) == 0, ErrorKind::io, what + ": no such file");
    require(S_ISREG(st.st_mode), ErrorKind::io, what + ": not a regular file");
  }

  std::lock_guard<std::mutex> lock(registry_mutex());
  dlerror();
  void* handle = dlopen(open_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* e = dlerror();
    throw Error(ErrorKind::io, what + ": cannot load the shared library: " + one_line(e ? e : "unknown dlopen error"));
  }
  // From here every error path must dlclose(handle) (the simulator's destructor does it otherwise).
  try {
    LibraryState& state = registry()[handle];
    if (state.users == 0) {
      PluginFunctions f;
      f.abi_version = lookup<simbi_plugin_abi_version_fn>(handle, "simbi_plugin_abi_version");
      f.dims = lookup<simbi_plugin_dims_fn>(handle, "simbi_plugin_dims");
      f.simulate = lookup<simbi_plugin_simulate_fn>(handle, "simbi_plugin_simulate");
      f.init = lookup<simbi_plugin_init_fn>(handle, "simbi_plugin_init");
      f.finalize = lookup<simbi_plugin_finalize_fn>(handle, "simbi_plugin_finalize");
      f.last_error = lookup<simbi_plugin_last_error_fn>(handle, "simbi_plugin_last_error");
      std::string missing;
      if (!f.abi_version) missing += " simbi_plugin_abi_version";
      if (!f.dims) missing += " simbi_plugin_dims";
      if (!f.simulate) missing += " simbi_plugin_simulate";
      require(missing.empty(), ErrorKind::format,
              what + ": missing required symbol(s):" + missing +
                  " (export them with C linkage; see simbi/sim/plugin_abi.h)");
      const uint32_t version = f.abi_version();
      require(version == SIMBI_PLUGIN_ABI_VERSION, ErrorKind::format,
              what + ": wrong plugin ABI version: found " + std::to_string(version) + ", expected " +
                  std::to_string(SIMBI_PLUGIN_ABI_VERSION) + " (rebuild it against this simbi's plugin_abi.h)");
      if (f.init) {
        const int rc = f.init(options.init_config_path.empty() ? nullptr : options.init_config_path.c_str());
        require(rc == 0, ErrorKind::runtime,
                what + ": simbi_plugin_init returned " + std::to_string(rc) + ": " + last_error_of(f.last_error));
      }
      int32_t td = -1, xd = -1;
      const int rc = f.dims(&td, &xd);
      if (rc != 0 || td < 1 || xd < 1) {
        if (f.finalize) f.finalize();
        require(rc == 0, ErrorKind::runtime,
                what + ": simbi_plugin_dims returned " + std::to_string(rc) + ": " + last_error_of(f.last_error));
        throw Error(ErrorKind::format, what + ": simbi_plugin_dims reported theta_dim = " + std::to_string(td) +
                                           ", x_dim = " + std::to_string(xd) + " (both must be >= 1)");
      }
      state.fns = f;
      state.theta_dim = td;
      state.x_dim = xd;
      state.init_config = options.init_config_path;
    } else {
      require(state.init_config == options.init_config_path, ErrorKind::invalid_argument,
              what + ": already loaded in this process with init config '" + state.init_config +
                  "', cannot initialise it again with '" + options.init_config_path + "'");
    }
    const std::string src = options.config_name.empty() ? std::string("the simulator config") : options.config_name;
    if (options.expected_theta_dim >= 0 && options.expected_theta_dim != state.theta_dim)
      throw Error(ErrorKind::format,
                  what + ": simbi_plugin_dims reports theta_dim = " + std::to_string(state.theta_dim) + " but " + src +
                      " declares theta_dim = " + std::to_string(options.expected_theta_dim));
    if (options.expected_x_dim >= 0 && options.expected_x_dim != state.x_dim)
      throw Error(ErrorKind::format, what + ": simbi_plugin_dims reports x_dim = " + std::to_string(state.x_dim) +
                                         " but " + src + " declares x_dim = " + std::to_string(options.expected_x_dim));
    auto simulator = std::make_unique<PluginSimulator>(path, handle, state);
    ++state.users;
    return simulator;
  } catch (...) {
    auto it = registry().find(handle);
    if (it != registry().end() && it->second.users == 0) {
      // Initialised but no user (dims disagree with the config): undo init before unloading.
      if (it->second.fns.finalize) it->second.fns.finalize();
      registry().erase(it);
    }
    dlclose(handle);
    throw;
  }
}

}  // namespace simbi::sim
