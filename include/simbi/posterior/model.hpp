// A trained model as the posterior layer sees it: the typed metadata of its file and the estimator
// rebuilt from it with its weights loaded. The one place a model file becomes a network.
// Contract: serial (each rank loads its own copy); errors are simbi::Error naming the file.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "simbi/estimators/estimator.hpp"
#include "simbi/store/model_file.hpp"

namespace simbi::posterior {

struct LoadedModel {
  std::string path;
  store::ModelMeta meta;
  std::shared_ptr<estimators::Estimator> estimator;  // in eval mode, on the CPU
};

// Reads the metadata, builds the estimator it describes and loads the weights. Error(io) when the file
// is missing, Error(format) when it is not a simbi model or the weights do not fit the architecture.
// The checksum (format version 3 on) and finite weights are checked on every load.
LoadedModel load_model(const std::string& path);

// `simbi inspect --verify` for a model file: loads it (checksum, metadata, architecture, finite weights)
// and returns one line per check made; the load's Error otherwise.
std::vector<std::string> verify_model(const std::string& path);

}  // namespace simbi::posterior
