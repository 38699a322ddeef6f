// Ground truth for ACE (docs/methods.md §6): for tasks with an exact cost C(θ, x_o) (sim/exact_cost.hpp)
//  - `simbi gbi-reference` draws the exact GBI posterior p(θ)·exp(−β·C(θ, x_o)) — what ACE's posteriors are
//    compared with — by rejection from the prior (exact, mcmc/rejection.hpp) or by the MCMC engine on the
//    exact potential (long chains, R̂ and ESS reported), or picks one (--method auto);
//  - `simbi cost-check` compares a trained ACE model's learned cost with the exact one at prior draws
//    (Pearson r and RMSE per observation).
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "commands.hpp"
#include "simbi/posterior/model.hpp"
#include "simbi/store/table.hpp"
#include "simbi/core/random.hpp"
#include "simbi/core/log.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/estimators/ace.hpp"
#include "simbi/mcmc/potential.hpp"
#include "simbi/mcmc/rejection.hpp"
#include "simbi/mcmc/sampler.hpp"
#include "simbi/sim/exact_cost.hpp"
#include "simbi/sim/task.hpp"
#include "simbi/store/atomic_file.hpp"
#include "simbi/store/model_file.hpp"

namespace simbi::cli {

namespace {

// The observations of `path` for a task simulating x_dim numbers (agreed errors).
Matrix read_observations(const std::string& path, int64_t x_dim, const std::string& what) {
  Matrix obs = store::read_matrix(path, "/x", nullptr);
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
  std::string task, observation, out, method = "auto";
  std::vector<double> betas;
  int64_t num_samples = 10000, chains = 100, warmup = 1000, thin = 20, pilot_draws = 262144;
  double max_draws = 1e9;
  uint64_t seed = 1;
};

std::string format_g(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

void write_reference(const ReferenceArgs& a, const sim::Task& task, int64_t k, double beta,
                     const torch::Tensor& samples, const std::string& line) {
  char suffix[64];
  std::snprintf(suffix, sizeof suffix, "_obs%lld_beta%g", static_cast<long long>(k + 1), beta);
  const std::filesystem::path p(a.out);
  const std::string path = (p.parent_path() / (p.stem().string() + suffix + p.extension().string())).string();
  const torch::Tensor t = samples.contiguous();
  store::write_samples_csv(path, task.theta_labels, ConstMatrixView{t.data_ptr<float>(), t.size(0), t.size(1)});
  std::printf("exact GBI posterior of %s, observation %lld, beta %g: %s -> %s\n", task.name.c_str(),
              static_cast<long long>(k + 1), beta, line.c_str(), path.c_str());
  std::fflush(stdout);
}

// --method: rejection from the prior (exact; mcmc/rejection.hpp), the MCMC engine on the exact potential
// (long chains; mixes poorly between separated modes), or auto: rejection whenever the pilot's acceptance
// estimate says --max-draws suffices with a factor 2 to spare, else MCMC.
int run_gbi_reference(const ReferenceArgs& a) {
  sim::Task task;
  std::unique_ptr<sim::ExactCost> exact;
  Matrix obs;
  dist::run_agreed([&] {
    task = sim::make_task(a.task);
    exact = sim::make_exact_cost(a.task);
    require(!a.betas.empty(), ErrorKind::invalid_argument, "--beta is required, e.g. --beta 10,100");
    for (double b : a.betas)
      require(std::isfinite(b) && b > 0, ErrorKind::invalid_argument,
              "--beta must be positive, got " + format_g("%g", b));
    require(a.method == "rejection" || a.method == "mcmc" || a.method == "auto", ErrorKind::invalid_argument,
            "--method must be rejection, mcmc or auto, got '" + a.method + "'");
    require(a.num_samples > 0, ErrorKind::invalid_argument, "--num-samples must be positive");
    require(a.max_draws >= 1 && a.max_draws <= 1e18, ErrorKind::invalid_argument,
            "--max-draws must be between 1 and 1e18, got " + format_g("%g", a.max_draws));
    require(a.pilot_draws >= 1, ErrorKind::invalid_argument, "--pilot-draws must be positive");
    obs = read_observations(a.observation, task.x_dim(), "task " + task.name);
  });
  const int64_t max_draws = static_cast<int64_t>(a.max_draws);
  for (int64_t k = 0; k < obs.rows(); ++k) {
    const float* x_o = obs.row(k);
    std::unique_ptr<mcmc::GbiRejectionSampler> rejection;
    if (a.method != "mcmc") {
      const auto t0 = std::chrono::steady_clock::now();
      mcmc::RejectionOptions ro;
      ro.seed = a.seed;
      ro.pilot_draws = a.pilot_draws;
      rejection = std::make_unique<mcmc::GbiRejectionSampler>(
          *task.prior, [&exact, x_o](ConstMatrixView theta, double* out) { exact->cost(theta, x_o, out); }, ro);
      log::info("observation " + std::to_string(k + 1) + ": lowest exact cost " +
                format_g("%.8g", rejection->min_cost_found()) + " (" + std::to_string(rejection->pilot_draws()) +
                " pilot draws, " + std::to_string(rejection->search_evaluations()) +
                " refinement evaluations), bound " + format_g("%.8g", rejection->cost_bound()) + ", " +
                format_g("%.2f", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()) + " s");
    }
    for (size_t b = 0; b < a.betas.size(); ++b) {
      const double beta = a.betas[b];
      const uint64_t stream_index = static_cast<uint64_t>(k) * 1000 + b;
      bool use_rejection = a.method == "rejection";
      std::string note;
      if (a.method == "auto") {
        const double rate = rejection->estimated_acceptance(beta);
        const double needed = rate > 0 ? static_cast<double>(a.num_samples) / rate : HUGE_VAL;
        use_rejection = needed <= 0.5 * a.max_draws;
        note = "; auto: estimated acceptance rate " + format_g("%.3g", rate) + ", ~" + format_g("%.3g", needed) +
               " prior draws needed, " + (use_rejection ? "within" : "more than") + " half of --max-draws " +
               format_g("%g", a.max_draws);
      }
      if (use_rejection) {
        const mcmc::RejectionResult r = rejection->sample(beta, a.num_samples, max_draws, stream_index);
        if (r.complete) {
          if (dist::is_root())
            write_reference(a, task, k, beta, r.samples,
                            std::to_string(a.num_samples) + " draws by rejection in " + format_g("%.2f", r.seconds) +
                                " s (acceptance rate " + format_g("%.3g", r.acceptance_rate()) + ", " +
                                std::to_string(r.draws) + " prior draws, cost bound " + format_g("%.8g", r.cost_bound) +
                                ", " + std::to_string(r.bound_restarts) + " bound restart(s))" + note);
          continue;
        }
        const std::string why = "rejection accepted only " + std::to_string(r.accepted) + " of " +
                                std::to_string(a.num_samples) + " draws in " + std::to_string(r.draws) +
                                " prior draws (acceptance rate " + format_g("%.3g", r.acceptance_rate()) + ")";
        // Every rank holds the same result: an agreed error, printed once.
        dist::run_agreed([&] {
          require(
              a.method == "auto", ErrorKind::numeric,
              "--max-draws " + format_g("%g", a.max_draws) + ": " + why + "; raise --max-draws or use --method mcmc");
        });
        log::warn("observation " + std::to_string(k + 1) + ", beta " + format_g("%g", beta) + ": " + why +
                  "; falling back to MCMC");
        note += "; rejection stopped at --max-draws";
      }
      auto potential = mcmc::make_potential(
          [&exact, x_o, beta](const at::Tensor& theta) { return -beta * exact_costs(*exact, theta, x_o); },
          c10::ScalarType::Double, task.theta_dim());
      mcmc::McmcOptions o;
      o.chains = a.chains;
      o.warmup = a.warmup;
      o.thin = a.thin;
      o.seed = a.seed;
      o.stream_index = stream_index;
      const mcmc::McmcResult r = mcmc::run_mcmc(*task.prior, potential.get(), a.num_samples, o);
      if (dist::is_root())
        write_reference(a, task, k, beta, r.samples,
                        std::to_string(a.num_samples) + " draws by mcmc in " + format_g("%.2f", r.wall_seconds) +
                            " s (max R-hat " + format_g("%.3f", r.diagnostics.max_rhat) + ", min bulk ESS " +
                            format_g("%.0f", r.diagnostics.min_ess_bulk) + ")" + note);
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
    const posterior::LoadedModel loaded = posterior::load_model(a.model);
    meta = loaded.meta.to_json();
    model = loaded.estimator;
    require(model->method() == "ace", ErrorKind::invalid_argument,
            a.model + " is a " + model->method() + " model; cost-check compares an ACE model's learned cost");
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
      "gbi-reference",
      "Exact GBI posterior p(θ)·exp(−β·C(θ, x_o)) with the exact cost (tasks with one), by rejection or MCMC");
  sub->add_option("--task", r->task, "gbi_uniform_1d | two_moons | gbi_linear_gaussian")->required();
  sub->add_option("--observation", r->observation, "Observations (CSV or FILE.h5[:/dataset])")->required();
  sub->add_option("--beta", r->betas, "Inverse temperature(s), e.g. 10,100")->delimiter(',')->required();
  sub->add_option("--num-samples", r->num_samples, "Draws per observation and β")->capture_default_str();
  sub->add_option("--method", r->method,
                  "rejection (exact; from the prior) | mcmc | auto (rejection when the pilot's acceptance estimate "
                  "says --max-draws suffices twice over, else mcmc)")
      ->capture_default_str();
  sub->add_option("--max-draws", r->max_draws, "Rejection: most prior draws per observation and β (all ranks)")
      ->capture_default_str();
  sub->add_option("--pilot-draws", r->pilot_draws,
                  "Rejection: prior draws for the cost's lower bound and the acceptance estimate")
      ->capture_default_str();
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
