// Model files (model.pt): a LibTorch archive of a network's parameters and buffers plus one JSON
// metadata string (format "simbi-model"; method, task, dims, hyperparameters, training history...).
// Loading needs nothing but this file. Contract: serial file I/O; write is atomic (temp + rename).
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace torch::nn {
class Module;
}

namespace simbi::store {

inline constexpr const char* kModelFormat = "simbi-model";
inline constexpr int kModelVersion = 1;

// Writes parameters/buffers and the metadata (format and version are added) to path atomically.
void save_model_file(const std::string& path, const torch::nn::Module& module, nlohmann::json metadata);
// Reads the metadata; Error(io) when missing, Error(format) when the file is not a simbi model.
nlohmann::json read_model_metadata(const std::string& path);
// Loads parameters/buffers into a module built from the metadata (names and shapes must match).
void load_model_weights(const std::string& path, torch::nn::Module& module);
// Whether the file looks like a simbi model (for `inspect`).
bool is_model_file(const std::string& path);

}  // namespace simbi::store
