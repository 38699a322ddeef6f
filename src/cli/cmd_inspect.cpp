// `simbi inspect FILE`: describe a file simbi wrote (simulation stores, models, training checkpoints);
// with --verify, check it end to end instead (store/verify_store.hpp, posterior/model.hpp,
// train/checkpoint.hpp). Other files (a samples CSV, a metrics JSON, an empty file) are named for what
// they are (store/file_kind.hpp).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "inspect_describe.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/posterior/model.hpp"
#include "simbi/store/file_kind.hpp"
#include "simbi/store/verify_store.hpp"
#include "simbi/train/checkpoint.hpp"

namespace simbi::cli {

namespace {

enum class Inspected { store, model, checkpoint };

// What inspect reads the file as, from its first bytes (and .ckpt for checkpoints); Error naming what
// the file is otherwise.
Inspected inspected_kind(const std::string& path) {
  const store::FileKind kind = store::detect_file_kind(path);
  require(kind != store::FileKind::missing, ErrorKind::io, path + ": no such file");
  if (kind == store::FileKind::hdf5) return Inspected::store;
  if (kind == store::FileKind::torch_archive)
    return ends_with(path, ".ckpt") ? Inspected::checkpoint : Inspected::model;
  throw Error(ErrorKind::format, path + ": " + store::describe_file_kind(kind) +
                                     ", not a file inspect reads (a simbi simulation store (HDF5), model or "
                                     "training checkpoint (LibTorch archives))");
}

void verify(const std::string& path, Inspected kind, bool as_json) {
  const char* names[] = {"simbi simulation store", "simbi model", "simbi training checkpoint"};
  const std::vector<std::string> checks = kind == Inspected::store   ? store::verify_store(path)
                                          : kind == Inspected::model ? posterior::verify_model(path)
                                                                     : train::verify_checkpoint(path);
  const char* name = names[static_cast<int>(kind)];
  if (as_json) {
    std::printf("%s\n",
                nlohmann::json{{"file", path}, {"kind", name}, {"checks", checks}, {"ok", true}}.dump(2).c_str());
    return;
  }
  std::printf("%s: %s\n", path.c_str(), name);
  for (const std::string& c : checks) std::printf("  checked  %s\n", c.c_str());
  std::printf("ok\n");
}

}  // namespace

void add_inspect_command(CLI::App& app, std::vector<Command>& commands) {
  auto file = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  auto check = std::make_shared<bool>(false);
  CLI::App* sub =
      app.add_subcommand("inspect", "Describe a file simbi wrote (simulation store, model or training checkpoint)");
  sub->add_option("file", *file, "The file")->required();
  sub->add_flag("--json", *as_json, "Print JSON instead of text");
  sub->add_flag("--verify", *check,
                "Check the file end to end instead (store: every row's status against its data; model and "
                "checkpoint: checksum, finite weights, loads); exits non-zero with one error line on a failure");
  commands.push_back({sub, [file, as_json, check] {
                        dist::run_agreed([&] {
                          if (!dist::is_root()) return;
                          const Inspected kind = inspected_kind(*file);
                          if (*check)
                            verify(*file, kind, *as_json);
                          else if (kind == Inspected::store)
                            describe_store(*file, *as_json);
                          else if (kind == Inspected::model)
                            describe_model(*file, *as_json);
                          else
                            describe_checkpoint(*file, *as_json);
                        });
                        return 0;
                      }});
}

}  // namespace simbi::cli
