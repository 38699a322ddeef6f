// The estimator a user asks `simbi train` for, as its options arrive (command line or config), and the
// one function that turns them and the training store into the estimator's config (make_estimator's
// input). Every method's hyperparameters live in its own config struct; this only adds what comes from
// the store (dimensions, the task's distance, a time series' row shape). Contract: pure functions.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "simbi/estimators/ace.hpp"
#include "simbi/estimators/ene.hpp"
#include "simbi/nn/flows.hpp"
#include "simbi/store/sim_store.hpp"

namespace simbi::train {

struct EstimatorOptions {
  std::string method;  // make_estimator's known_methods(): cpvae | upvae | ace | ene | npe | fmpe | npse | nle
  // VAEs
  int64_t latent_dim = 0;                                                         // 0 = dim θ
  std::string encoder_hidden, prior_hidden, decoder_hidden, data_decoder_hidden;  // "64,64" width lists
  std::string decoder = "gaussian";  // p(θ | x, z): gaussian | nsf (the flow options below)
  // ACE: the network and targets (AceConfig's defaults; dims and distance come from the store). The
  // enumerations as names, checked with the rest by AceConfig::from_json.
  estimators::AceConfig ace;
  std::string activation = nn::activation_name(estimators::AceConfig{}.activation);
  std::string ace_output = estimators::cost_output_name(estimators::AceConfig{}.output);
  std::string ace_head = estimators::cost_head_name(estimators::AceConfig{}.head);
  std::string distance, distance_params;  // --distance NAME, its parameters as JSON
  std::string ace_targets;                // observations added to ACE's targets (CSV or FILE.h5)
  // E&E (dims set from the store); --encoder-hidden is shared with the VAEs.
  estimators::EneConfig ene;
  std::string conv_channels;  // E&E conv encoder, "32,64"
  // NPE: the conditional flow q(θ | x) (FlowConfig's defaults: sbi's NSF) and an optional MLP embedding of
  // x. NLE: the same flow options, for its flow q(x | θ); VAEs with decoder nsf: for p(θ | x, z).
  nn::FlowConfig flow;
  std::string embedding_hidden;  // "64,64" (empty: none)
  int64_t embedding_dim = 0;     // 0: no embedding
  // auto: learn the flow through the prior's bijection to R^d when the store records a prior (draws
  // always in the support); prior: the same, an error without one; none: the plain flow on θ.
  std::string support_transform = "auto";
  // FMPE / NPSE: the options given for the vector field network, the time distribution, the path width
  // and the ODE solver, as config keys (width, blocks, time_features, sigma_min, time_prior_exponent,
  // solver, steps, rtol, atol); the rest keep the method's defaults (FmpeConfig / NpseConfig).
  nlohmann::json vector_field = nlohmann::json::object();
};

// The config of the estimator `o` asks for, on data described by `m`. Error(invalid_argument) naming the
// option at fault (a bad width list, --distance-params that is not JSON, --series-channels against the
// store's row shape).
nlohmann::json estimator_config(const EstimatorOptions& o, const store::SimStoreMeta& m);

}  // namespace simbi::train
