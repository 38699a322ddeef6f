// `simbi log-prob`: the model's posterior density log q(θ | x_o) at given θ rows (npe, fmpe, npse),
// split over the ranks; rank 0 writes one column, log_prob (−inf for θ outside the prior's support).
#include <cstdio>

#include "commands.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/posterior/sampling.hpp"

namespace simbi::cli {

void add_log_prob_command(CLI::App& app, std::vector<Command>& commands) {
  auto a = std::make_shared<posterior::LogProbRequest>();
  auto threads = std::make_shared<int>(0);
  CLI::App* sub = app.add_subcommand("log-prob", "Posterior log density of given θ rows (npe, fmpe, npse models)");
  sub->add_option("--config", "TOML file with any of these options (keys without dashes; command line wins)");
  sub->add_option("--model", a->model, "Model file (model.pt)")->required();
  sub->add_option("--observation", a->observation, "Observations: CSV or file.h5[:/dataset]")->required();
  add_integer_option(sub, "--observation-row", a->observation_row, "Which observation (1-based)", kRowNumber)
      ->capture_default_str();
  sub->add_option("--theta", a->theta, "θ rows: CSV with a header row, or file.h5[:/dataset]")->required();
  sub->add_option("--out", a->out, "Output CSV (column log_prob)")->required();
  add_integer_option(sub, "--threads", *threads, "Torch threads per rank (default 1)", kThreads);
  commands.push_back(
      {sub, [a, threads] {
         set_torch_threads(*threads);
         const posterior::LogProbResult r = posterior::log_prob_to_file(*a);
         if (dist::is_root()) {
           std::printf("log_prob of %lld θ rows in %.3f s (%lld outside the prior's support: -inf) -> %s\n",
                       static_cast<long long>(r.rows), r.seconds, static_cast<long long>(r.outside), a->out.c_str());
           std::fflush(stdout);
         }
         return 0;
       }});
}

}  // namespace simbi::cli
