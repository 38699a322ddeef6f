// Ground truth for ACE (METHODS.md §2, issue 5): for tasks with an exact cost C(θ, x_o) (sim/exact_cost.hpp)
//  - `simbi gbi-reference` draws the exact GBI posterior p(θ)·exp(−β·C(θ, x_o)) with the MCMC engine on the
//    exact potential (long chains, R̂ and ESS reported) — what ACE's posteriors are compared with;
//  - `simbi cost-check` compares a trained ACE model's learned cost with the exact one at prior draws
//    (Pearson r and RMSE per observation).
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "commands.hpp"
#include "simbi/core/random.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/estimators/ace.hpp"
#include "simbi/mcmc/potential.hpp"
#include "simbi/mcmc/sampler.hpp"
#include "simbi/sim/exact_cost.hpp"
#include "simbi/sim/task.hpp"
#include "simbi/store/atomic_file.hpp"
#include "simbi/store/model_file.hpp"

namespace simbi::cli {

namespace {

// The observations of `path` for a task simulating x_dim numbers (agreed errors).
Matrix read_observations(const std::string& path, int64_t x_dim, const std::string& what) {
  Matrix obs = read_matrix_spec(path, "/x", nullptr);
  require(obs.rows() > 0, ErrorKind::format, path + ": no observation rows");
  require(obs.cols() == x_dim, ErrorKind::format,
          path + ": an observation has " + std::to_string(obs.cols()) + " values, " + what + " expects " +
              std::to_string(x_dim));
  return obs;
}

// C(θ_i, x_o) for θ [n, dθ] (float tensor) → double tensor [n].
torch::Tensor exact_costs(const sim::ExactCost& exact, const torch::Tensor& theta, const float* x_o) {
  const torch::Tensor t = theta.to(torch::kFloat).contiguous();
  std::vector<double> out(static_cast<size_t>(t.size(0)));
  exact.cost(ConstMatrixView{t.data_ptr<float>(), t.size(0), t.size(1)}, x_o, out.data());
  return torch::tensor(out, torch::kDouble);
}

struct ReferenceArgs {
  std::string task, observation, out;
  std::vector<double> betas;
  int64_t num_samples = 10000, chains = 100, warmup = 1000, thin = 20;
  uint64_t seed = 1;
};

int run_gbi_reference(const ReferenceArgs& a) {
  sim::Task task;
  std::unique_ptr<sim::ExactCost> exact;
  Matrix obs;
  dist::run_agreed([&] {
    task = sim::make_task(a.task);
    exact = sim::make_exact_cost(a.task);
    require(!a.betas.empty(), ErrorKind::invalid_argument, "--beta is required, e.g. --beta 10,100");
    for (double b : a.betas)
      require(std::isfinite(b) && b > 0, ErrorKind::invalid_argument, "--beta must be positive");
    obs = read_observations(a.observation, task.x_dim(), "task " + task.name);
  });
  for (int64_t k = 0; k < obs.rows(); ++k) {
    for (size_t b = 0; b < a.betas.size(); ++b) {
      const double beta = a.betas[b];
      const float* x_o = obs.row(k);
      auto potential = mcmc::make_potential(
          [&exact, x_o, beta](const at::Tensor& theta) { return -beta * exact_costs(*exact, theta, x_o); },
          c10::ScalarType::Double, task.theta_dim());
      mcmc::McmcOptions o;
      o.chains = a.chains;
      o.warmup = a.warmup;
      o.thin = a.thin;
      o.seed = a.seed;
      o.stream_index = static_cast<uint64_t>(k) * 1000 + b;
      const mcmc::McmcResult r = mcmc::run_mcmc(*task.prior, potential.get(), a.num_samples, o);
      if (!dist::is_root()) continue;
      char suffix[64];
      std::snprintf(suffix, sizeof suffix, "_obs%lld_beta%g", static_cast<long long>(k + 1), beta);
      const std::filesystem::path p(a.out);
      const std::string path = (p.parent_path() / (p.stem().string() + suffix + p.extension().string())).string();
      const torch::Tensor samples = r.samples.contiguous();
      write_samples_csv(path, task.theta_labels,
                        ConstMatrixView{samples.data_ptr<float>(), samples.size(0), samples.size(1)});
      std::printf("exact GBI posterior of %s, observation %lld, beta %g: %lld draws, max R-hat %.3f, min bulk ESS "
                  "%.0f, %.2f s -> %s\n",
                  task.name.c_str(), static_cast<long long>(k + 1), beta, static_cast<long long>(a.num_samples),
                  r.diagnostics.max_rhat, r.diagnostics.min_ess_bulk, r.wall_seconds, path.c_str());
      std::fflush(stdout);
    }
  }
  return 0;
}

struct CostCheckArgs {
  std::string model, observation, out;
  int64_t num_theta = 1000;
  uint64_t seed = 1;
};

int run_cost_check(const CostCheckArgs& a) {
  nlohmann::json meta;
  std::shared_ptr<estimators::Estimator> model;
  sim::Task task;
  std::unique_ptr<sim::ExactCost> exact;
  Matrix obs;
  dist::run_agreed([&] {
    require(a.num_theta >= 3, ErrorKind::invalid_argument, "--num-theta must be at least 3");
    meta = store::read_model_metadata(a.model);
    model = estimators::make_estimator(meta.at("estimator"));
    require(model->method() == "ace", ErrorKind::invalid_argument,
            a.model + " is a " + model->method() + " model; cost-check compares an ACE model's learned cost");
    store::load_model_weights(a.model, *model);
    const std::string name = meta.value("task", std::string());
    task = sim::make_task(name);
    exact = sim::make_exact_cost(name);
    obs = read_observations(a.observation, task.x_dim(), "the model (" + name + ")");
  });
  auto& ace = dynamic_cast<estimators::Ace&>(*model);
  ace.eval();
  // Held-out θ: fresh prior draws (stream purpose `test`, never a training row's).
  Matrix theta(a.num_theta, task.theta_dim());
  task.prior->sample(theta.view(), RowStreams{RandomStream(a.seed, StreamPurpose::test, 0), 0});
  const torch::Tensor theta_t = torch::from_blob(theta.data(), {theta.rows(), theta.cols()}, torch::kFloat);
  nlohmann::json rows = nlohmann::json::array();
  for (int64_t k = 0; k < obs.rows(); ++k) {
    torch::NoGradGuard no_grad;
    const torch::Tensor x_o = torch::from_blob(obs.row(k), {obs.cols()}, torch::kFloat);
    const torch::Tensor learned = ace.cost(theta_t, x_o).to(torch::kDouble);
    const torch::Tensor truth = exact_costs(*exact, theta_t, obs.row(k));
    const double r = torch::corrcoef(torch::stack({learned, truth}))[0][1].item<double>();
    const double rmse = (learned - truth).pow(2).mean().sqrt().item<double>();
    rows.push_back({{"observation", k + 1}, {"pearson_r", r}, {"rmse", rmse}, {"mean_exact_cost", truth.mean().item<double>()}});
    if (dist::is_root())
      std::printf("observation %lld: learned vs exact cost at %lld prior draws: Pearson r %.4f, RMSE %.4g (mean exact "
                  "cost %.4g)\n",
                  static_cast<long long>(k + 1), static_cast<long long>(a.num_theta), r, rmse,
                  truth.mean().item<double>());
  }
  if (dist::is_root() && !a.out.empty()) store::write_file_atomically(a.out, rows.dump(2) + "\n");
  std::fflush(stdout);
  return 0;
}

}  // namespace

void add_gbi_reference_commands(CLI::App& app, std::vector<Command>& commands) {
  auto r = std::make_shared<ReferenceArgs>();
  CLI::App* sub = app.add_subcommand(
      "gbi-reference", "Exact GBI posterior p(θ)·exp(−β·C(θ, x_o)) by MCMC on the exact cost (tasks with one)");
  sub->add_option("--task", r->task, "gbi_uniform_1d | two_moons | gbi_linear_gaussian")->required();
  sub->add_option("--observation", r->observation, "Observations (CSV or FILE.h5[:/dataset])")->required();
  sub->add_option("--beta", r->betas, "Inverse temperature(s), e.g. 10,100")->delimiter(',')->required();
  sub->add_option("--num-samples", r->num_samples, "Draws per observation and β")->capture_default_str();
  sub->add_option("--chains", r->chains, "MCMC chains (split over the ranks)")->capture_default_str();
  sub->add_option("--warmup", r->warmup, "Warm-up sweeps per chain")->capture_default_str();
  sub->add_option("--thin", r->thin, "Keep every k-th sweep")->capture_default_str();
  sub->add_option("--seed", r->seed, "Seed")->capture_default_str();
  sub->add_option("--out", r->out, "Output CSV; written as <stem>_obs<k>_beta<β>.csv")->required();
  commands.push_back({sub, [r] { return run_gbi_reference(*r); }});

  auto c = std::make_shared<CostCheckArgs>();
  CLI::App* check = app.add_subcommand(
      "cost-check", "An ACE model's learned cost vs the exact cost at prior draws (Pearson r, RMSE)");
  check->add_option("--model", c->model, "ACE model file")->required();
  check->add_option("--observation", c->observation, "Observations (CSV or FILE.h5[:/dataset])")->required();
  check->add_option("--num-theta", c->num_theta, "Prior draws to compare at")->capture_default_str();
  check->add_option("--seed", c->seed, "Seed of the prior draws")->capture_default_str();
  check->add_option("--out", c->out, "Also write the figures as JSON");
  commands.push_back({check, [c] { return run_cost_check(*c); }});
}

}  // namespace simbi::cli
