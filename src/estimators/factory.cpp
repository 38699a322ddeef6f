// make_estimator: the one place that maps a method name to its class.
#include "simbi/core/error.hpp"
#include "simbi/estimators/ace.hpp"
#include "simbi/estimators/ene.hpp"
#include "simbi/estimators/vae.hpp"

namespace simbi::estimators {

std::vector<std::string> known_methods() { return {"cpvae", "upvae", "ace", "ene"}; }

std::shared_ptr<Estimator> make_estimator(const nlohmann::json& config) {
  require(config.contains("method") && config["method"].is_string(), ErrorKind::format,
          "estimator config: 'method' is missing");
  const std::string method = config["method"].get<std::string>();
  if (method == "cpvae") return std::make_shared<CpVae>(VaeConfig::from_json(config));
  if (method == "upvae") return std::make_shared<UpVae>(VaeConfig::from_json(config));
  if (method == "ace") return std::make_shared<Ace>(AceConfig::from_json(config));
  if (method == "ene") return std::make_shared<Ene>(EneConfig::from_json(config));
  std::string known;
  for (const auto& m : known_methods()) known += (known.empty() ? "" : ", ") + m;
  throw Error(ErrorKind::invalid_argument, "unknown method '" + method + "' (known methods: " + known + ")");
}

}  // namespace simbi::estimators
