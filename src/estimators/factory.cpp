// make_estimator: the one place that maps a method name to its class.
#include "simbi/core/error.hpp"
#include "simbi/estimators/ace.hpp"
#include "simbi/estimators/ene.hpp"
#include "simbi/estimators/fmpe.hpp"
#include "simbi/estimators/nle.hpp"
#include "simbi/estimators/npe.hpp"
#include "simbi/estimators/npse.hpp"
#include "simbi/estimators/vae.hpp"

namespace simbi::estimators {

void read_config_dims(const nlohmann::json& config, int64_t& theta_dim, int64_t& x_dim) {
  require(config.contains("theta_dim") && config.contains("x_dim"), ErrorKind::format,
          "estimator config: 'theta_dim' and 'x_dim' are required");
  theta_dim = config["theta_dim"].get<int64_t>();
  x_dim = config["x_dim"].get<int64_t>();
  require(theta_dim > 0 && x_dim > 0, ErrorKind::format, "estimator config: dimensions must be positive");
}

std::vector<std::string> known_methods() { return {"cpvae", "upvae", "ace", "ene", "npe", "fmpe", "npse", "nle"}; }

std::shared_ptr<Estimator> make_estimator(const nlohmann::json& config) {
  require(config.contains("method") && config["method"].is_string(), ErrorKind::format,
          "estimator config: 'method' is missing");
  const std::string method = config["method"].get<std::string>();
  if (method == "cpvae") return std::make_shared<CpVae>(VaeConfig::from_json(config));
  if (method == "upvae") return std::make_shared<UpVae>(VaeConfig::from_json(config));
  if (method == "ace") return std::make_shared<Ace>(AceConfig::from_json(config));
  if (method == "ene") return std::make_shared<Ene>(EneConfig::from_json(config));
  if (method == "npe") return std::make_shared<Npe>(NpeConfig::from_json(config));
  if (method == "fmpe") return std::make_shared<Fmpe>(FmpeConfig::from_json(config));
  if (method == "nle") return std::make_shared<Nle>(NleConfig::from_json(config));
  if (method == "npse") return std::make_shared<Npse>(NpseConfig::from_json(config));
  std::string known;
  for (const auto& m : known_methods()) known += (known.empty() ? "" : ", ") + m;
  throw Error(ErrorKind::invalid_argument, "unknown method '" + method + "' (known methods: " + known + ")");
}

}  // namespace simbi::estimators
