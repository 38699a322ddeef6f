// `simbi run --config F`: the whole pipeline from one config — simulate -> train -> sample ->
// evaluate — each stage being the same command a user would type, run in-process with F's sections —
// ending with a report (run_report.md: outputs, times per stage, metrics, plots; run_report.hpp).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "run_report.hpp"
#include "simbi/core/log.hpp"
#include "simbi/core/stop_signal.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/store/atomic_file.hpp"

namespace simbi::cli {

namespace {

struct RunArgs {
  std::string config, workdir = "simbi_run", observation, reference;
  bool force = false, no_plots = false;
};

int run_pipeline(const RunArgs& a) {
  namespace fs = std::filesystem;
  const auto t0 = std::chrono::steady_clock::now();
  const fs::file_time_type started = fs::file_time_type::clock::now();
  dist::run_agreed([&] {
    require(fs::exists(a.config), ErrorKind::io, a.config + ": no such config file");
    if (!dist::is_root()) return;
    std::error_code ec;  // a failure is reported by the check below, which names the option
    fs::create_directories(a.workdir, ec);
    store::require_writable_output((fs::path(a.workdir) / "run_report.md").string(), "--workdir");
  });
  const std::string sims = (fs::path(a.workdir) / "sims.h5").string();
  const std::string model = (fs::path(a.workdir) / "model.pt").string();
  const std::string samples = (fs::path(a.workdir) / "samples.csv").string();
  const std::string metrics = (fs::path(a.workdir) / "metrics.json").string();

  struct Stage {
    const char* name;
    std::vector<std::string> args;
  };
  std::vector<Stage> stages = {
      {"simulate", {"simulate", "--config", a.config, "--out", sims, a.force ? "--force" : "--resume"}},
      {"train", {"train", "--config", a.config, "--data", sims, "--out", model}},
  };
  if (!a.force) stages.back().args.push_back("--resume");  // continue a training stopped by a signal
  if (!a.observation.empty())
    stages.push_back(
        {"sample",
         {"sample", "--config", a.config, "--model", model, "--observation", a.observation, "--out", samples}});
  if (!a.observation.empty() && !a.reference.empty())
    stages.push_back(
        {"evaluate",
         {"evaluate", "--config", a.config, "--samples", samples, "--reference", a.reference, "--out", metrics}});
  std::vector<std::pair<std::string, double>> stage_seconds;
  for (const Stage& s : stages) {
    log::info("run: stage " + std::string(s.name));
    const auto s0 = std::chrono::steady_clock::now();
    const int rc = run_args(s.args);
    stage_seconds.emplace_back(s.name, std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count());
    if (rc != 0) return rc;
    // A stage stopped by SIGTERM/SIGUSR1 has checkpointed and said so; the next `simbi run` resumes it.
    if (stop_signal() != 0) return 0;
  }
  if (dist::is_root()) {
    std::printf("run complete: store %s, model %s", sims.c_str(), model.c_str());
    if (!a.observation.empty()) std::printf(", samples %s", samples.c_str());
    if (!a.reference.empty() && fs::exists(metrics)) {
      std::ifstream in(metrics);
      const nlohmann::json m = nlohmann::json::parse(in, nullptr, false);
      if (m.is_object() && m.contains("c2st")) std::printf(", C2ST %.4f", m["c2st"].get<double>());
      std::printf(" (%s)", metrics.c_str());
    }
    std::printf("\n");
    std::fflush(stdout);
    RunReportInput report{
        a.config, a.workdir,     sims,
        model,    a.observation, a.reference,
        metrics,  stage_seconds, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
        started,  !a.no_plots};
    std::printf("\n%s", write_run_report(report).c_str());
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

void add_run_command(CLI::App& app, std::vector<Command>& commands) {
  auto a = std::make_shared<RunArgs>();
  CLI::App* sub = app.add_subcommand(
      "run", "The whole pipeline from one config: simulate -> train -> sample -> evaluate (configs/)");
  sub->add_option("--config", a->config, "TOML config with [simulate], [train], [sample], [evaluate] sections")
      ->required();
  sub->add_option("--workdir", a->workdir, "Folder for sims.h5, model.pt, samples.csv, metrics.json")
      ->capture_default_str();
  sub->add_option("--observation", a->observation, "Observation(s) to sample for (CSV or file.h5:/dataset)");
  sub->add_option("--reference", a->reference, "Reference posterior samples to evaluate against (CSV)");
  sub->add_flag("--force", a->force, "Simulate again even if the workdir has a store");
  sub->add_flag("--no-plots", a->no_plots, "No plots in the final report (run_report.md)");
  commands.push_back({sub, [a] { return run_pipeline(*a); }});
}

}  // namespace simbi::cli
