// Google Benchmark: simulation throughput of every built-in task on one thread, in batches of 1024
// prior draws (fewer for wide rows: the rows `simbi simulate` holds in memory at once, e.g. 42 for
// lorenz96); items_per_second = simulations per second per core. Serial.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <string>

#include "simbi/core/matrix.hpp"
#include "simbi/core/random.hpp"
#include "simbi/sim/task.hpp"
#include "simbi/store/simulation_run.hpp"

namespace {

void bench_task(benchmark::State& state, const simbi::sim::TaskInfo& info) {
  simbi::sim::Task task;
  try {
    task = info.make();
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());  // a task not implemented yet
    for (auto _ : state) {
    }
    return;
  }
  const int64_t batch = simbi::store::automatic_chunk_rows(task.x_dim());
  simbi::Matrix theta(batch, task.theta_dim()), x(batch, task.x_dim());
  const simbi::RandomStream prior_base(1, simbi::StreamPurpose::prior_draw, 0);
  const simbi::RandomStream sim_base(1, simbi::StreamPurpose::simulation, 0);
  task.prior->sample(theta, simbi::RowStreams{prior_base, 0});
  int64_t first_row = 0, failed = 0;
  for (auto _ : state) {
    // Fresh noise per batch (the θ batch is fixed so that prior sampling is not timed).
    task.simulator->simulate(theta, x, simbi::RowStreams{sim_base, first_row});
    benchmark::DoNotOptimize(x.data());
    benchmark::ClobberMemory();
    first_row += batch;
    for (int64_t i = 0; i < batch; ++i) failed += std::isnan(x(i, 0)) ? 1 : 0;
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["failed_frac"] =
      benchmark::Counter(static_cast<double>(failed) / static_cast<double>(std::max<int64_t>(1, first_row)));
}

}  // namespace

int main(int argc, char** argv) {
  for (const auto& info : simbi::sim::builtin_tasks())
    benchmark::RegisterBenchmark(("simulate/" + info.name).c_str(), bench_task, info)
        ->Unit(benchmark::kMillisecond);  // rates from CPU time: per core, even on a busy machine
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
