#include "simbi/posterior/model.hpp"

#include "simbi/core/error.hpp"

namespace simbi::posterior {

LoadedModel load_model(const std::string& path) {
  LoadedModel m;
  m.path = path;
  m.meta = store::read_model_meta(path);
  m.estimator = estimators::make_estimator(m.meta.estimator);
  require(m.estimator->method() == m.meta.method, ErrorKind::format,
          path + ": the metadata says method '" + m.meta.method + "' but its estimator record builds '" +
              m.estimator->method() + "'");
  store::load_model_weights(path, *m.estimator);
  m.estimator->eval();
  return m;
}

std::vector<std::string> verify_model(const std::string& path) {
  const LoadedModel m = load_model(path);
  int64_t tensors = 0, values = 0;
  for (const auto& t : m.estimator->parameters()) ++tensors, values += t.numel();
  for (const auto& t : m.estimator->buffers()) ++tensors, values += t.numel();
  const int v = m.meta.format_version;
  return {v >= store::kModelChecksumVersion
              ? "checksum (XXH3-64 of the content) matches"
              : "no checksum: format version " + std::to_string(v) + " was written before checksums existed",
          "metadata: " + m.meta.method + " model, theta_dim " + std::to_string(m.meta.theta_dim) + ", x_dim " +
              std::to_string(m.meta.x_dim) + " (format version " + std::to_string(v) + ")",
          "the weights fit the architecture of its estimator record and load",
          "all " + std::to_string(values) + " values of " + std::to_string(tensors) +
              " parameter/buffer tensors are finite"};
}

}  // namespace simbi::posterior
