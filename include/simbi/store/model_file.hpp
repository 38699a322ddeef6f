// Model files (model.pt): a LibTorch archive of a network's parameters and buffers plus one JSON
// metadata record (format "simbi-model"), read and written as a typed ModelMeta. Loading needs nothing
// but this file (docs/file_formats.md). Contract: serial file I/O; write is atomic (temp + rename).
//
// Format versions: 1 kept the prior as JSON text inside the JSON record; 2 keeps it as a JSON object.
// Both are read; version 2 is written.
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
inline constexpr int kModelVersion = 2;

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
// Reads and validates the metadata; Error(io) when missing, Error(format) when not a simbi model.
ModelMeta read_model_meta(const std::string& path);
// Loads parameters/buffers into a module built from the metadata (names and shapes must match).
void load_model_weights(const std::string& path, torch::nn::Module& module);
// Whether the file looks like a simbi model (for `inspect`).
bool is_model_file(const std::string& path);

}  // namespace simbi::store
