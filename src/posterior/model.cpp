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

}  // namespace simbi::posterior
