#include "simbi/train/estimator_options.hpp"

#include "simbi/core/error.hpp"
#include "simbi/core/text.hpp"
#include "simbi/sim/distance.hpp"
#include "simbi/sim/task.hpp"

namespace simbi::train {

namespace {

// ACE's distance: --distance (with --distance-params JSON), else the store's task's own, else mse.
nlohmann::json ace_config(const EstimatorOptions& a, const store::SimStoreMeta& m) {
  std::unique_ptr<sim::Distance> d;
  if (!a.distance.empty()) {
    nlohmann::json params = nlohmann::json::object();
    if (!a.distance_params.empty()) {
      try {
        params = nlohmann::json::parse(a.distance_params);
      } catch (const nlohmann::json::exception&) {
        throw Error(ErrorKind::invalid_argument, "--distance-params: not a JSON object: " + a.distance_params);
      }
    }
    d = sim::make_distance(a.distance, m.x_dim, params);
  } else if (sim::is_builtin_task(m.task)) {
    d = sim::make_distance(sim::make_task(m.task));
  } else {
    d = sim::make_distance("mse", m.x_dim);
  }
  const nlohmann::json spec = d->to_json();
  // A set distance means set-valued x: the cost network sees it through a permutation-invariant embedding.
  const int64_t trials = spec.value("name", "") == "mmd2" ? spec.value("set_size", int64_t{0}) : 0;
  estimators::AceConfig c = a.ace;
  c.theta_dim = m.theta_dim;
  c.x_dim = m.x_dim;
  c.set_trials = trials;
  c.distance = spec;
  nlohmann::json j = c.to_json();
  j["activation"] = a.activation;
  j["output"] = a.ace_output;
  j["head"] = a.ace_head;
  return j;
}

// E&E: the options as given (EneConfig's defaults otherwise); checked by EneConfig::from_json.
nlohmann::json ene_config(const EstimatorOptions& a, const store::SimStoreMeta& m) {
  estimators::EneConfig c = a.ene;
  c.theta_dim = m.theta_dim;
  c.x_dim = m.x_dim;
  // A store of time series records its row shape [channels, time]: the conv encoder reads its channels
  // from there, and a --series-channels that disagrees is refused.
  if (c.encoder == "conv" && m.x_shape.size() == 2) {
    require(c.series_channels == 0 || c.series_channels == m.x_shape[0], ErrorKind::invalid_argument,
            "--series-channels " + std::to_string(c.series_channels) + " does not match the store's rows of " +
                std::to_string(m.x_shape[0]) + " channels x " + std::to_string(m.x_shape[1]) + " steps (" + m.task +
                "; x_shape attribute)");
    c.series_channels = m.x_shape[0];
  }
  if (!a.encoder_hidden.empty()) c.encoder_hidden = parse_widths(a.encoder_hidden, "--encoder-hidden");
  if (!a.conv_channels.empty()) c.conv_channels = parse_widths(a.conv_channels, "--conv-channels");
  return c.to_json();
}

// --support-transform: whether the estimator learns through the store's prior's bijection. "auto" is
// "prior" for NPE (where the store records a prior) and "none" for FMPE / NPSE, whose defaults were
// chosen without it.
bool learns_through_prior(const EstimatorOptions& a, const store::SimStoreMeta& m, bool auto_means_prior) {
  const std::string& t = a.support_transform;
  require(t == "auto" || t == "prior" || t == "none", ErrorKind::invalid_argument,
          "--support-transform must be auto, prior or none, got '" + t + "'");
  require(t != "prior" || !m.prior_json.empty(), ErrorKind::invalid_argument,
          "--support-transform prior: the store records no prior (imported data without a task)");
  if (m.prior_json.empty()) return false;
  return t == "prior" || (t == "auto" && auto_means_prior);
}

// NPE: the flow as given (checked by FlowConfig::from_json when the estimator is built).
nlohmann::json npe_config(const EstimatorOptions& a, const store::SimStoreMeta& m) {
  nlohmann::json c = {{"method", "npe"},
                      {"theta_dim", m.theta_dim},
                      {"x_dim", m.x_dim},
                      {"flow", a.flow.to_json()},
                      {"embedding_dim", a.embedding_dim}};
  if (!a.embedding_hidden.empty()) c["embedding_hidden"] = parse_widths(a.embedding_hidden, "--embedding-hidden");
  if (learns_through_prior(a, m, /*auto_means_prior=*/true)) c["support_prior"] = nlohmann::json::parse(m.prior_json);
  return c;
}

// NLE: a flow over x conditioned on θ (checked by FlowConfig::from_json when the estimator is built).
nlohmann::json nle_config(const EstimatorOptions& a, const store::SimStoreMeta& m) {
  return {{"method", "nle"}, {"theta_dim", m.theta_dim}, {"x_dim", m.x_dim}, {"flow", a.flow.to_json()}};
}

// FMPE / NPSE: only the options given; the rest keep the method's defaults (checked when it is built).
nlohmann::json vector_field_config(const EstimatorOptions& a, const store::SimStoreMeta& m) {
  nlohmann::json c = a.vector_field;
  c["method"] = a.method;
  c["theta_dim"] = m.theta_dim;
  c["x_dim"] = m.x_dim;
  if (learns_through_prior(a, m, /*auto_means_prior=*/false)) c["support_prior"] = nlohmann::json::parse(m.prior_json);
  return c;
}

}  // namespace

nlohmann::json estimator_config(const EstimatorOptions& a, const store::SimStoreMeta& m) {
  if (a.method == "ace") return ace_config(a, m);
  if (a.method == "ene") return ene_config(a, m);
  if (a.method == "npe") return npe_config(a, m);
  if (a.method == "nle") return nle_config(a, m);
  if (a.method == "fmpe" || a.method == "npse") return vector_field_config(a, m);
  const int64_t theta_dim = m.theta_dim, x_dim = m.x_dim;
  nlohmann::json c = {{"method", a.method}, {"theta_dim", theta_dim}, {"x_dim", x_dim}, {"latent_dim", a.latent_dim}};
  if (!a.encoder_hidden.empty()) c["encoder_hidden"] = parse_widths(a.encoder_hidden, "--encoder-hidden");
  if (!a.prior_hidden.empty()) c["prior_hidden"] = parse_widths(a.prior_hidden, "--prior-hidden");
  if (!a.decoder_hidden.empty()) c["decoder_hidden"] = parse_widths(a.decoder_hidden, "--decoder-hidden");
  if (a.decoder != "gaussian") {
    require(a.decoder_hidden.empty(), ErrorKind::invalid_argument,
            "--decoder-hidden sets the Gaussian decoder's widths; the nsf decoder takes the --flow-* options");
    c["decoder"] = a.decoder;  // checked by VaeConfig::from_json
    c["decoder_flow"] = a.flow.to_json();
  }
  if (!a.data_decoder_hidden.empty())
    c["data_decoder_hidden"] = parse_widths(a.data_decoder_hidden, "--data-decoder-hidden");
  return c;
}

}  // namespace simbi::train
