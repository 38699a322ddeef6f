// A Simulator backed by a user's shared library speaking the C ABI of simbi/sim/plugin_abi.h.
// Contract: one PluginSimulator per thread; calls into one loaded library are serialised process-wide.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "simbi/sim/simulator.hpp"

namespace simbi::sim {

struct PluginOptions {
  // Dimensions the user's config declares; the plugin's simbi_plugin_dims() must agree (-1: no check).
  int64_t expected_theta_dim = -1;
  int64_t expected_x_dim = -1;
  // Passed to simbi_plugin_init() (empty: NULL). Normally the simulator config file.
  std::string init_config_path;
  // Names the source of the expectations in errors (e.g. the config file's path).
  std::string config_name;
};

// dlopen()s `path` (a path containing '/' is used as is, a bare name goes through the loader's search
// path), checks the ABI version, calls simbi_plugin_init() once per process and checks the dims.
// Throws simbi::Error naming the file: io (missing / not loadable, with dlerror()), format (missing
// required symbol, wrong ABI version, dims disagreeing with the config), runtime (init/dims failed).
// The library stays loaded while any simulator made from it is alive; loading the same library twice
// shares one handle, one init and one lock.
std::unique_ptr<Simulator> load_plugin_simulator(const std::string& path, const PluginOptions& options = {});

}  // namespace simbi::sim
