// Model files (model.pt): a LibTorch archive of a network's parameters and buffers plus one JSON
// metadata record (format "simbi-model"), read and written as a typed ModelMeta. Loading needs nothing
// but this file (docs/file_formats.md). Contract: serial file I/O; write is atomic (temp + rename).
//
// Format versions: 1 kept the prior as JSON text inside the JSON record; 2 keeps it as a JSON object;
// 3 adds the content checksum (store/torch_archive.hpp), checked on every read. All are read (a missing
// checksum only for versions 1 and 2); version 3 is written.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace torch::nn {
class Module;
}
namespace simbi::sim {
class Prior;
}

namespace simbi::store {

inline constexpr const char* kModelFormat = "simbi-model";
inline constexpr int kModelVersion = 3;
inline constexpr int kModelChecksumVersion = 3;  // the first version with a checksum

// What a model file says about its network and how it was made.
struct ModelMeta {
  std::string method;  // "cpvae", "ace", ... (the estimator's method)
  std::string task;    // the training store's task ("" if unknown)
  int64_t theta_dim = 0, x_dim = 0;
  std::vector<std::string> theta_labels;  // empty: default labels theta_1..
  nlohmann::json prior;                   // the training data's prior (Prior::to_json), null if none
  nlohmann::json estimator;               // make_estimator(estimator) rebuilds the architecture
  // The record of training (shown by `simbi inspect`, not needed to load the model):
  nlohmann::json training = nlohmann::json::object();  // trainer options
  nlohmann::json history = nlohmann::json::object();   // per-epoch losses, best epoch, stop reason
  nlohmann::json data = nlohmann::json::object();      // store path, rows, seed, loading mode
  int ranks = 1, threads_per_rank = 1;
  std::string device = "cpu", backend;
  double train_seconds = 0.0;
  int64_t epochs = 0;
  std::string simbi_version, created;
  int format_version = kModelVersion;  // as read; save_model_file writes kModelVersion

  // Every field as the file's JSON record (format and format_version as read included).
  nlohmann::json to_json() const;
  // Checks format, version, method, dimensions and the estimator record; Error(format) naming `path`
  // and the field otherwise.
  static ModelMeta from_json(const nlohmann::json& record, const std::string& path);
  // The training data's prior, or nullptr when the model has none recorded (imported data).
  std::unique_ptr<sim::Prior> make_prior(const std::string& path) const;
  // theta_labels when they match theta_dim, else theta_1..theta_d.
  std::vector<std::string> labels() const;
};

// Writes parameters/buffers and the metadata to path atomically.
void save_model_file(const std::string& path, const torch::nn::Module& module, const ModelMeta& meta);
// Every read checks the checksum: Error(format) "<path>: checksum mismatch (file corrupted): ..." when
// the content differs from what was written, or when a version-3 file has no checksum.
// Reads and validates the metadata; Error(io) when missing, Error(format) when not a simbi model.
ModelMeta read_model_meta(const std::string& path);
// Loads parameters/buffers into a module built from the metadata (names and shapes must match);
// Error(numeric) naming the file and the parameter when a weight is NaN or infinite.
void load_model_weights(const std::string& path, torch::nn::Module& module);
// Whether the file looks like a simbi model (for `inspect`).
bool is_model_file(const std::string& path);

}  // namespace simbi::store
