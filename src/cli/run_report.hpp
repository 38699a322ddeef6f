// The report `simbi run` ends with (run_report.md in its workdir, also printed): what each stage wrote
// and how long it took, the headline metrics, and plots made by the python scripts where python3 with
// numpy and matplotlib is available. Private to the cli module. Contract: rank 0 only, no MPI; it never
// throws — a plot or a part of the report that fails becomes a warning line in the report.
#pragma once
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace simbi::cli {

struct RunReportInput {
  std::string config, workdir, sims, model, observation, reference, metrics;
  std::vector<std::pair<std::string, double>> stage_seconds;  // in run order
  double pipeline_seconds = 0.0;
  // Sample files (samples*.csv in the workdir) not older than this are this run's.
  std::filesystem::file_time_type started;
  bool plots = true;  // false: --no-plots
};

// Writes <workdir>/run_report.md and returns its text.
std::string write_run_report(const RunReportInput& in);

}  // namespace simbi::cli
