#include "simbi/posterior/gbi_reference.hpp"

#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "simbi/core/log.hpp"
#include "simbi/core/random.hpp"
#include "simbi/core/text.hpp"
#include "simbi/core/timing.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/estimators/ace.hpp"
#include "simbi/mcmc/potential.hpp"
#include "simbi/mcmc/rejection.hpp"
#include "simbi/mcmc/sampler.hpp"
#include "simbi/posterior/model.hpp"
#include "simbi/sim/exact_cost.hpp"
#include "simbi/sim/task.hpp"
#include "simbi/store/atomic_file.hpp"
#include "simbi/store/table.hpp"

namespace simbi::posterior {

namespace {

std::string fmt(const char* format, double v) { return format_number(v, format); }

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

void write_reference(const GbiReferenceRequest& a, const sim::Task& task, int64_t k, double beta,
                     const torch::Tensor& samples, const std::string& line,
                     const std::function<void(const std::string&)>& on_written) {
  char suffix[64];
  std::snprintf(suffix, sizeof suffix, "_obs%lld_beta%g", static_cast<long long>(k + 1), beta);
  const std::filesystem::path p(a.out);
  const std::string path = (p.parent_path() / (p.stem().string() + suffix + p.extension().string())).string();
  const torch::Tensor t = samples.contiguous();
  store::write_samples_csv(path, task.theta_labels, ConstMatrixView{t.data_ptr<float>(), t.size(0), t.size(1)});
  char head[160];
  std::snprintf(head, sizeof head, "exact GBI posterior of %s, observation %lld, beta %g: ", task.name.c_str(),
                static_cast<long long>(k + 1), beta);
  if (on_written) on_written(head + line + " -> " + path);
}

}  // namespace

// --method: rejection from the prior (exact; mcmc/rejection.hpp), the MCMC engine on the exact potential
// (long chains; mixes poorly between separated modes), or auto: rejection whenever the pilot's acceptance
// estimate says --max-draws suffices with a factor 2 to spare, else MCMC.
void sample_exact_gbi(const GbiReferenceRequest& a, const std::function<void(const std::string&)>& on_written) {
  sim::Task task;
  std::unique_ptr<sim::ExactCost> exact;
  Matrix obs;
  dist::run_agreed([&] {
    if (dist::is_root()) store::require_writable_output(a.out, "--out");
    task = sim::make_task(a.task);
    exact = sim::make_exact_cost(a.task);
    require(!a.betas.empty(), ErrorKind::invalid_argument, "--beta is required, e.g. --beta 10,100");
    for (double b : a.betas)
      require(std::isfinite(b) && b > 0, ErrorKind::invalid_argument, "--beta must be positive, got " + fmt("%g", b));
    require(a.method == "rejection" || a.method == "mcmc" || a.method == "auto", ErrorKind::invalid_argument,
            "--method must be rejection, mcmc or auto, got '" + a.method + "'");
    require(a.num_samples > 0, ErrorKind::invalid_argument, "--num-samples must be positive");
    require(a.max_draws >= 1 && a.max_draws <= 1e18, ErrorKind::invalid_argument,
            "--max-draws must be between 1 and 1e18, got " + fmt("%g", a.max_draws));
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
                fmt("%.8g", rejection->min_cost_found()) + " (" + std::to_string(rejection->pilot_draws()) +
                " pilot draws, " + std::to_string(rejection->search_evaluations()) +
                " refinement evaluations), bound " + fmt("%.8g", rejection->cost_bound()) + ", " +
                fmt("%.2f", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()) + " s");
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
        note = "; auto: estimated acceptance rate " + fmt("%.3g", rate) + ", ~" + fmt("%.3g", needed) +
               " prior draws needed, " + (use_rejection ? "within" : "more than") + " half of --max-draws " +
               fmt("%g", a.max_draws);
      }
      if (use_rejection) {
        const mcmc::RejectionResult r = rejection->sample(beta, a.num_samples, max_draws, stream_index);
        if (r.complete) {
          dist::run_agreed([&] {  // a full disk on rank 0 ends every rank with its one error line
            if (dist::is_root())
              write_reference(a, task, k, beta, r.samples,
                              std::to_string(a.num_samples) + " draws by rejection in " + fmt("%.2f", r.seconds) +
                                  " s (acceptance rate " + fmt("%.3g", r.acceptance_rate()) + ", " +
                                  std::to_string(r.draws) + " prior draws, cost bound " + fmt("%.8g", r.cost_bound) +
                                  ", " + std::to_string(r.bound_restarts) + " bound restart(s))" + note,
                              on_written);
          });
          continue;
        }
        const std::string why = "rejection accepted only " + std::to_string(r.accepted) + " of " +
                                std::to_string(a.num_samples) + " draws in " + std::to_string(r.draws) +
                                " prior draws (acceptance rate " + fmt("%.3g", r.acceptance_rate()) + ")";
        // Every rank holds the same result: an agreed error, printed once.
        dist::run_agreed([&] {
          require(a.method == "auto", ErrorKind::numeric,
                  "--max-draws " + fmt("%g", a.max_draws) + ": " + why + "; raise --max-draws or use --method mcmc");
        });
        log::warn("observation " + std::to_string(k + 1) + ", beta " + fmt("%g", beta) + ": " + why +
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
      dist::run_agreed([&] {
        if (dist::is_root())
          write_reference(a, task, k, beta, r.samples,
                          std::to_string(a.num_samples) + " draws by mcmc in " + fmt("%.2f", r.wall_seconds) +
                              " s (max R-hat " + fmt("%.3f", r.diagnostics.max_rhat) + ", min bulk ESS " +
                              fmt("%.0f", r.diagnostics.min_ess_bulk) + ")" + note,
                          on_written);
      });
    }
  }
}

std::vector<CostCheck> check_learned_cost(const CostCheckRequest& a) {
  LoadedModel loaded;
  estimators::Ace* ace = nullptr;
  sim::Task task;
  std::unique_ptr<sim::ExactCost> exact;
  Matrix obs;
  dist::run_agreed([&] {
    if (dist::is_root() && !a.out.empty()) store::require_writable_output(a.out, "--out");
    require(a.num_theta >= 3, ErrorKind::invalid_argument, "--num-theta must be at least 3");
    loaded = load_model(a.model);
    ace = dynamic_cast<estimators::Ace*>(loaded.estimator.get());
    require(ace != nullptr, ErrorKind::invalid_argument,
            a.model + " is a " + loaded.meta.method + " model; cost-check compares an ACE model's learned cost");
    const std::string name = loaded.meta.task;
    task = sim::make_task(name);
    exact = sim::make_exact_cost(name);
    obs = read_observations(a.observation, task.x_dim(), "the model (" + name + ")");
  });
  // Held-out θ: fresh prior draws (stream purpose `test`, never a training row's).
  Matrix theta(a.num_theta, task.theta_dim());
  task.prior->sample(theta.view(), RowStreams{RandomStream(a.seed, StreamPurpose::test, 0), 0});
  const torch::Tensor theta_t = torch::from_blob(theta.data(), {theta.rows(), theta.cols()}, torch::kFloat);
  nlohmann::json rows = nlohmann::json::array();
  std::vector<CostCheck> checks;
  for (int64_t k = 0; k < obs.rows(); ++k) {
    torch::NoGradGuard no_grad;
    const torch::Tensor x_o = torch::from_blob(obs.row(k), {obs.cols()}, torch::kFloat);
    const torch::Tensor learned = ace->cost(theta_t, x_o).to(torch::kDouble);
    const torch::Tensor truth = exact_costs(*exact, theta_t, obs.row(k));
    const double r = torch::corrcoef(torch::stack({learned, truth}))[0][1].item<double>();
    const double rmse = (learned - truth).pow(2).mean().sqrt().item<double>();
    rows.push_back(
        {{"observation", k + 1}, {"pearson_r", r}, {"rmse", rmse}, {"mean_exact_cost", truth.mean().item<double>()}});
    checks.push_back({k + 1, r, rmse, truth.mean().item<double>()});
  }
  dist::run_agreed([&] {
    if (dist::is_root() && !a.out.empty()) store::write_file_atomically(a.out, rows.dump(2) + "\n");
  });
  return checks;
}

}  // namespace simbi::posterior
