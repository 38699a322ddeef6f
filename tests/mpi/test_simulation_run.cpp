// run_simulation under several ranks: the store holds exactly what a serial computation of each row
// gives (rows depend on (seed, row) only), errors are agreed, resume fills only missing rows.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "simbi/dist/world.hpp"
#include "simbi/store/simulation_run.hpp"

namespace simbi::store {
namespace {

std::string temp_path(const std::string& name) {
  std::string dir;
  if (dist::is_root()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "simbi_mpi_test_XXXXXX").string();
    dir = mkdtemp(tmpl.data());
  }
  dist::broadcast(dir);
  return dir + "/" + name;
}

// What row r must be: prior draw with stream (seed, prior_draw, r), simulation with (seed, simulation, r).
void expected_rows(sim::Task& task, uint64_t seed, int64_t first, int64_t n, Matrix& theta, Matrix& x) {
  theta = Matrix(n, task.theta_dim());
  x = Matrix(n, task.x_dim());
  task.prior->sample(theta.view(), RowStreams{RandomStream(seed, StreamPurpose::prior_draw, 0), first});
  task.simulator->simulate(theta.view(), x.view(), RowStreams{RandomStream(seed, StreamPurpose::simulation, 0), first});
}

TEST(SimulationRun, TwoRanksWriteWhatASerialLoopComputes) {
  sim::Task task = sim::make_task("two_moons");
  SimulationOptions o;
  o.out = temp_path("sims.h5");
  o.budget = 5000;
  o.seed = 17;
  o.chunk_rows = 300;  // uneven last chunk
  const SimulationSummary s = run_simulation(o, task);
  EXPECT_EQ(s.rows_this_run, o.budget);
  EXPECT_EQ(s.store.ok, o.budget);
  if (dist::is_root()) {
    const SimStore store = SimStore::open_read(o.out);
    Matrix theta, x, theta_ref, x_ref;
    std::vector<uint8_t> status;
    store.read_rows(0, o.budget, theta, x, status);
    expected_rows(task, o.seed, 0, o.budget, theta_ref, x_ref);
    EXPECT_EQ(theta.storage(), theta_ref.storage());
    EXPECT_EQ(x.storage(), x_ref.storage());
    for (uint8_t v : status) ASSERT_EQ(v, kOk);
    EXPECT_EQ(store.meta().task, "two_moons");
    EXPECT_EQ(store.meta().seed, 17u);
    EXPECT_EQ(store.meta().chunk_rows, 300);
  }
}

TEST(SimulationRun, BadBudgetIsAnAgreedError) {
  sim::Task task = sim::make_task("two_moons");
  SimulationOptions o;
  o.out = temp_path("bad.h5");
  o.budget = 0;
  EXPECT_THROW(run_simulation(o, task), dist::AgreedError);
  EXPECT_FALSE(std::filesystem::exists(o.out));
}

TEST(SimulationRun, ExistingOutputNeedsResumeOrForce) {
  sim::Task task = sim::make_task("two_moons");
  SimulationOptions o;
  o.out = temp_path("exists.h5");
  o.budget = 100;
  run_simulation(o, task);
  try {
    run_simulation(o, task);
    FAIL() << "expected an error";
  } catch (const dist::AgreedError& e) {
    EXPECT_NE(std::string(e.what()).find("--resume"), std::string::npos) << e.what();
  }
  o.existing = ExistingOutput::resume;
  o.seed = 99;  // another seed: resume must refuse
  try {
    run_simulation(o, task);
    FAIL() << "expected an error";
  } catch (const dist::AgreedError& e) {
    EXPECT_NE(std::string(e.what()).find("seed"), std::string::npos) << e.what();
  }
}

TEST(SimulationRun, ResumeSimulatesOnlyMissingChunks) {
  sim::Task task = sim::make_task("gaussian_mixture");
  SimulationOptions o;
  o.out = temp_path("resume.h5");
  o.budget = 4000;
  o.chunk_rows = 500;
  run_simulation(o, task);
  // Simulate an interruption: forget chunks 1 and 6 (status back to 0, data scribbled over).
  if (dist::is_root()) {
    SimStore store = SimStore::open_for_resume(o.out, MPI_COMM_SELF);
    for (int64_t c : {1, 6}) {
      Matrix junk_theta(500, 2, 123.0f), junk_x(500, 2, -5.0f);
      store.write_rows(c * 500, junk_theta.view(), junk_x.view(), std::vector<uint8_t>(500, kNotSimulated));
    }
    store.close();
  }
  dist::barrier();
  o.existing = ExistingOutput::resume;
  const SimulationSummary s = run_simulation(o, task);
  EXPECT_TRUE(s.resumed);
  EXPECT_EQ(s.rows_this_run, 1000);
  EXPECT_EQ(s.store.ok, 4000);
  if (dist::is_root()) {
    Matrix theta, x, theta_ref, x_ref;
    std::vector<uint8_t> status;
    SimStore::open_read(o.out).read_rows(0, o.budget, theta, x, status);
    expected_rows(task, o.seed, 0, o.budget, theta_ref, x_ref);
    EXPECT_EQ(theta.storage(), theta_ref.storage());
    EXPECT_EQ(x.storage(), x_ref.storage());
  }
}

}  // namespace
}  // namespace simbi::store
