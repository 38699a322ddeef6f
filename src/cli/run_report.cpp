// run_report.md of `simbi run`: the stages' outputs and times, metrics, and plots (run_report.hpp).
#include "run_report.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "commands.hpp"
#include "config_args.hpp"
#include "simbi/core/log.hpp"
#include "simbi/core/process.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/estimators/estimator.hpp"
#include "simbi/posterior/posterior.hpp"
#include "simbi/store/atomic_file.hpp"
#include "simbi/store/model_file.hpp"
#include "simbi/store/sim_store.hpp"
#include "simbi/store/table.hpp"

namespace simbi::cli {

namespace {

namespace fs = std::filesystem;

// ---- running the plot scripts ----

// Runs argv (PATH lookup) with stdin from /dev/null and stdout + stderr appended to `log`; kills it after
// timeout_s. Returns "" on exit status 0, else why it failed.
std::string run_program(const std::vector<std::string>& args, const std::string& log, double timeout_s) {
  ProcessOptions po;
  po.argv = args;
  po.log_file = log;
  po.timeout_s = timeout_s;
  po.what = "plots";
  ProcessResult res;
  try {
    res = run_process(po);
  } catch (const Error& e) {
    return e.what();
  }
  if (res.exited_ok()) return "";
  if (res.timed_out) return "killed after " + format_number(timeout_s, "%.0f s");
  // the script's own one-line "error: ..." is the best explanation
  std::ifstream in(log);
  std::string line, last_error;
  while (std::getline(in, line))
    if (line.rfind("error: ", 0) == 0) last_error = line.substr(7);
  return res.describe() + (last_error.empty() ? "" : ": " + last_error);
}

// The folder of scripts/plot_posterior.py: $SIMBI_SCRIPTS_DIR, else next to the build folder of this
// binary (build/simbi -> scripts/), else ./scripts. Empty when none has it.
std::string find_scripts_dir() {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("SIMBI_SCRIPTS_DIR")) candidates.emplace_back(env);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back(exe.parent_path().parent_path() / "scripts");
  candidates.emplace_back("scripts");
  for (const fs::path& c : candidates)
    if (fs::exists(c / "plot_posterior.py", ec)) return c.string();
  return "";
}

// ---- what the stages wrote ----

std::string describe_store(const std::string& path) {
  const store::SimStore s = store::SimStore::open_read(path);
  const store::StatusCounts c = store::count_status(s.read_status());
  const store::SimStoreMeta& m = s.meta();
  return m.task + ", " + std::to_string(c.completed()) + " of " + std::to_string(m.budget) + " rows simulated (" +
         std::to_string(c.ok) + " ok, " + std::to_string(c.failed) + " failed), seed " + std::to_string(m.seed);
}

std::string describe_model(const nlohmann::json& m) {
  const nlohmann::json h = m.value("history", nlohmann::json::object());
  return m.value("method", std::string("?")) + " on " + m.value("task", std::string("?")) + ", " +
         std::to_string(m.value("epochs", 0)) + " epochs (best " +
         std::to_string(h.value("best_epoch", 0)) +  // 1-based
         ", validation loss " + format_number(h.value("best_val_loss", 0.0), "%.4g") + "; " +
         h.value("stop_reason", std::string("?")) + ") in " + format_number(m.value("train_seconds", 0.0), "%.1f s") +
         " on " + std::to_string(m.value("ranks", 1)) + " rank(s)";
}

std::string describe_metrics(const std::string& path) {
  std::ifstream in(path);
  const nlohmann::json m = nlohmann::json::parse(in, nullptr, false);
  if (!m.is_object()) return "(not readable)";
  std::string s;
  if (m.contains("c2st") && m["c2st"].is_number()) s += "C2ST " + format_number(m["c2st"].get<double>(), "%.4f");
  if (m.contains("mmd") && m["mmd"].is_number())
    s += (s.empty() ? "" : ", ") + ("MMD " + format_number(m["mmd"].get<double>(), "%.4g"));
  if (m.contains("n_samples"))
    s += " (" + std::to_string(m.value("n_samples", 0)) + " samples vs " + std::to_string(m.value("n_reference", 0)) +
         " reference)";
  return s.empty() ? "(no metric)" : s;
}

// samples*.csv files of this run in the workdir, sorted.
std::vector<fs::path> sample_files(const RunReportInput& in) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(in.workdir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("samples", 0) == 0 && e.path().extension() == ".csv" &&
        fs::last_write_time(e.path(), ec) >= in.started)
      out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

int64_t data_rows(const fs::path& csv) { return store::read_csv(csv.string()).values.rows(); }

// "samples_beta10.csv" -> "_beta10"; "samples.csv" -> "".
std::string suffix_of(const fs::path& samples) { return samples.stem().string().substr(7); }

// The sample stage's options `names` (e.g. "--chains") as the config sets them for `simbi sample`
// (its [sample] section or top-level keys); absent ones are left out.
std::map<std::string, std::string> config_sample_options(const std::string& config,
                                                         const std::set<std::string>& names) {
  CLI::App app;
  std::vector<Command> commands;
  add_all_commands(app, commands);
  const std::vector<std::string> args = expand_config_args({"sample", "--config", config}, app);
  std::map<std::string, std::string> out;
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (names.count(args[i])) out[args[i]] = args[i + 1];
  return out;
}

// Whether the sample stage drew by MCMC chains, and how many (0: direct or rejection sampling). ACE
// always samples by MCMC; a model without a direct sampler (E&E) does when the config asks for slice or
// rwm (its default may pick exact rejection, whose draws have no chains). `simbi sample` writes chains
// draw-major (row i = draw i / C of chain i % C), so the traces need C: the config's, else the default.
int64_t mcmc_chains(const nlohmann::json& model_meta, const std::string& config) {
  const auto o = config_sample_options(config, {"--chains", "--sampler"});
  posterior::PosteriorOptions options;
  if (o.count("--sampler")) options.sampler = o.at("--sampler");
  if (o.count("--chains")) options.mcmc.chains = std::stoll(o.at("--chains"));
  return posterior::mcmc_chains(store::ModelMeta::from_json(model_meta, "model.json"), options);
}

struct Plots {
  std::vector<std::string> lines;  // "- name: path" or "- warning: ..."
  double seconds = 0.0;
};

Plots make_plots(const RunReportInput& in, const std::vector<fs::path>& samples, const std::string& model_json,
                 const nlohmann::json& model_meta) {
  Plots p;
  const auto t0 = std::chrono::steady_clock::now();
  const std::string scripts = find_scripts_dir();
  const char* env_py = std::getenv("SIMBI_PYTHON");
  const std::string python = env_py ? env_py : (access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3");
  const std::string log = (fs::path(in.workdir) / "plots.log").string();
  std::error_code ec;
  fs::remove(log, ec);
  if (scripts.empty()) {
    p.lines.push_back("- warning: plots skipped: scripts/plot_posterior.py not found (set SIMBI_SCRIPTS_DIR)");
    return p;
  }
  const std::string why = run_program({python, "-c", "import numpy, matplotlib"}, log, 60);
  if (!why.empty()) {
    p.lines.push_back("- warning: plots skipped: " + python + " with numpy and matplotlib is not available (" + why +
                      ")");
    return p;
  }
  auto plot = [&](const std::string& name, const std::string& out, std::vector<std::string> args) {
    args.insert(args.begin(), python);
    const std::string failed = run_program(args, log, 300);
    p.lines.push_back(failed.empty() ? "- " + name + ": " + out
                                     : "- warning: " + name + " failed (" + failed + "; see " + log + ")");
  };
  const std::string loss = (fs::path(in.workdir) / "loss.png").string();
  if (!model_json.empty())
    plot("loss curves", loss,
         {(fs::path(scripts) / "plot_loss.py").string(), "--model-history", model_json, "--out", loss});
  int64_t chains = 0;
  try {
    if (!model_meta.empty()) chains = mcmc_chains(model_meta, in.config);
  } catch (const std::exception& e) {
    p.lines.push_back(std::string("- warning: trace plots skipped: ") + e.what());
  }
  const std::string evaluated = (fs::path(in.workdir) / "samples.csv").string();
  for (const fs::path& s : samples) {
    const std::string suffix = suffix_of(s);
    const std::string corner = (fs::path(in.workdir) / ("corner" + suffix + ".png")).string();
    std::vector<std::string> args = {
        (fs::path(scripts) / "plot_posterior.py").string(), "--samples", s.string(), "--out", corner, "--title",
        "posterior samples " + s.filename().string()};
    if (!in.reference.empty() && s.string() == evaluated) args.insert(args.end(), {"--reference", in.reference});
    if (!model_json.empty()) args.insert(args.end(), {"--model-history", model_json});
    plot("corner plot", corner, args);
    if (chains > 0) {
      const std::string trace = (fs::path(in.workdir) / ("trace" + suffix + ".png")).string();
      plot("trace plot", trace,
           {(fs::path(scripts) / "plot_trace.py").string(), "--samples", s.string(), "--chains", std::to_string(chains),
            "--out", trace});
    }
  }
  p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return p;
}

}  // namespace

std::string write_run_report(const RunReportInput& in) {
  std::vector<std::string> results;
  auto item = [&results](const std::string& what, const std::string& path, const std::function<std::string()>& f) {
    try {
      results.push_back("- " + what + ": " + path + " — " + f());
    } catch (const std::exception& e) {
      results.push_back("- warning: " + what + " " + path + " could not be read: " + e.what());
    }
  };
  std::error_code ec;
  item("store", in.sims, [&] { return describe_store(in.sims); });
  nlohmann::json model_meta;
  std::string model_json;
  item("model", in.model, [&] {
    model_meta = store::read_model_meta(in.model).to_json();
    // What `simbi inspect --json` prints: the history for the loss curves and corner plots.
    nlohmann::json inspect = model_meta;
    inspect["file"] = in.model;
    model_json = (fs::path(in.workdir) / "model.json").string();
    store::write_file_atomically(model_json, inspect.dump(2) + "\n");
    // A re-run whose train stage found the model finished (train --resume) kept it as it was.
    const bool earlier = fs::last_write_time(in.model) < in.started;
    return describe_model(model_meta) + (earlier ? "; trained by an earlier run, kept" : "");
  });
  const std::vector<fs::path> samples = sample_files(in);
  for (const fs::path& s : samples)
    item("samples", s.string(), [&] { return std::to_string(data_rows(s)) + " draws"; });
  if (!in.observation.empty() && samples.empty())
    results.push_back("- warning: no samples*.csv of this run in " + in.workdir);
  if (!in.reference.empty() && fs::exists(in.metrics, ec))
    item("metrics", in.metrics, [&] { return describe_metrics(in.metrics); });

  Plots plots;
  if (in.plots) {
    try {
      plots = make_plots(in, samples, model_json, model_meta);
    } catch (const std::exception& e) {
      plots.lines.push_back(std::string("- warning: plots failed: ") + e.what());
    }
  } else {
    plots.lines.push_back("- (plots turned off with --no-plots)");
  }

  for (const std::string& l : results)
    if (l.rfind("- warning: ", 0) == 0) log::warn(l.substr(11));
  for (const std::string& l : plots.lines)
    if (l.rfind("- warning: ", 0) == 0) log::warn(l.substr(11));

  std::string r = "# simbi run report\n\n";
  r += "config " + in.config + ", workdir " + in.workdir + ", " + std::to_string(dist::size()) + " rank(s), " +
       store::utc_now_iso8601() + "\n\n";
  r += "## Stages\n\n| stage | seconds |\n|---|---|\n";
  for (const auto& [name, secs] : in.stage_seconds) r += "| " + name + " | " + format_number(secs, "%.2f") + " |\n";
  if (in.plots) r += "| plots | " + format_number(plots.seconds, "%.2f") + " |\n";
  r += "| **total** | " + format_number(in.pipeline_seconds + plots.seconds, "%.2f") + " |\n\n";
  r += "## Results\n\n";
  for (const std::string& l : results) r += l + "\n";
  r += "\n## Plots\n\n";
  for (const std::string& l : plots.lines) r += l + "\n";
  const std::string path = (fs::path(in.workdir) / "run_report.md").string();
  try {
    store::write_file_atomically(path, r);
    r += "\n(report written to " + path + ")\n";
  } catch (const std::exception& e) {
    r += "\nwarning: cannot write " + path + ": " + e.what() + "\n";
  }
  return r;
}

}  // namespace simbi::cli
