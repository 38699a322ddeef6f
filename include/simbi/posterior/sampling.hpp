// `simbi sample` as a library call: draw a model's posterior for every observation row of a file and
// write one CSV per (observation, β). Contract: COLLECTIVE over options.comm; files are written by the
// communicator's rank 0; errors (bad model, observations that do not fit it, bad options) are
// simbi::Error agreed across the ranks before any draw is made.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "simbi/posterior/posterior.hpp"

namespace simbi::posterior {

struct SamplingRequest {
  std::string model;        // model file
  std::string observation;  // CSV (one observation per row) or file.h5[:/dataset] (default /x)
  std::string out;          // output CSV; with several observations or β: samples_path()
  PosteriorOptions options;
  std::string task;  // when set, the model must have been trained on this task (Error(invalid_argument) otherwise)
};

// One written samples file.
struct WrittenSamples {
  int64_t observation = 0;  // 1-based row of the observation file
  std::string path;
  DrawSet draws;  // samples undefined (they are in the file); summary, time and diagnostics kept
};

// Draws and writes every (observation, β) set in order. `on_written` is called on rank 0 after each file
// (progress for long runs); the list of files is returned on rank 0 (empty elsewhere).
std::vector<WrittenSamples> sample_to_files(const SamplingRequest& request,
                                            const std::function<void(const WrittenSamples&)>& on_written = {});

struct LogProbRequest {
  std::string model;
  std::string observation;      // CSV or file.h5[:/dataset] (default /x)
  int64_t observation_row = 1;  // which row of it (1-based)
  std::string theta;            // CSV (header row; one θ per row) or file.h5[:/dataset] (default /theta)
  std::string out;              // CSV with one column, log_prob
  MPI_Comm comm = MPI_COMM_NULL;
};

struct LogProbResult {
  int64_t rows = 0;
  int64_t outside = 0;  // rows whose log_prob is −inf (outside the prior's support)
  double seconds = 0.0;
};

// log q(θ | x_o) of the model for every θ row, the rows split over the ranks, written by rank 0.
// Collective; Error (agreed) for a model without a density, θ or an observation of the wrong width, a
// row out of range, or a NaN density.
LogProbResult log_prob_to_file(const LogProbRequest& request);

// Where samples of observation k (1-based) of m, at one of `betas` inverse temperatures (0 = none), are
// written: `out` itself for one observation and at most one β, else <stem>[_obs<k>][_beta<β>]<ext> (β as
// %g) — the naming of `simbi sample` and `simbi abc`.
std::string samples_path(const std::string& out, int64_t k, int64_t m, double beta = 0.0, size_t betas = 0);
// Where the per-chain mode table of a samples file goes (options.mcmc.mode_clusters > 0): <stem>_modes<ext>,
// one row per chain (chain, mode_1..mode_k: its share of draws in each mode, largest pooled mode first).
std::string modes_path(const std::string& samples);

}  // namespace simbi::posterior
