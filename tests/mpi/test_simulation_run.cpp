// run_simulation under several ranks: the store holds exactly what a serial computation of each row
// gives (rows depend on (seed, row) only), errors are agreed, resume fills only missing rows.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <thread>

#include "simbi/dist/world.hpp"
#include "simbi/sim/prior.hpp"
#include "simbi/store/hdf5_util.hpp"
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

// A sequential store: round 1 holds prior draws of its rows only; round 2 simulates the θ its proposal
// wrote into the store (not prior draws), with the rows' own simulation streams; /round and the proposal
// attributes say which row is in which round and where its θ came from.
TEST(SimulationRun, RoundsSimulateTheirOwnRowsFromTheirProposal) {
  sim::Task task = sim::make_task("two_moons");
  SimulationOptions o;
  o.out = temp_path("rounds.h5");
  o.rounds = 2;
  o.round_rows = 700;
  o.budget = 1400;
  o.seed = 5;
  o.chunk_rows = 64;
  o.sequential = R"({"method":"test"})";
  o.round = 1;
  SimulationSummary s = run_simulation(o, task);
  EXPECT_EQ(s.rows_this_run, 700);
  EXPECT_EQ(s.range.ok, 700);
  EXPECT_EQ(s.store.not_simulated, 700);
  EXPECT_EQ(s.stopped_by, 0);
  // Round 2 cannot be simulated before its proposal is written.
  o.round = 2;
  o.existing = ExistingOutput::resume;
  EXPECT_THROW(run_simulation(o, task), dist::AgreedError);
  Matrix proposal(700, 2);
  for (int64_t i = 0; i < 700; ++i) {
    proposal.row(i)[0] = 0.001f * static_cast<float>(i);
    proposal.row(i)[1] = -0.5f;
  }
  if (dist::is_root()) {
    SimStore w = SimStore::open_serial_for_write(o.out);
    EXPECT_EQ(w.round_proposal(1), prior_proposal_description(5));
    EXPECT_EQ(w.round_proposal(2), "");
    w.write_proposal(2, proposal.view(), R"({"kind":"test"})");
  }
  dist::barrier();
  s = run_simulation(o, task);
  EXPECT_EQ(s.rows_this_run, 700);
  EXPECT_EQ(s.store.ok, 1400);
  if (dist::is_root()) {
    const SimStore store = SimStore::open_read(o.out);
    EXPECT_EQ(store.meta().rounds, 2);
    EXPECT_EQ(store.meta().round_rows, 700);
    EXPECT_EQ(store.round_proposal(2), R"({"kind":"test"})");
    Matrix theta, x, theta_ref, x_ref;
    std::vector<uint8_t> status;
    store.read_rows(0, 1400, theta, x, status);
    expected_rows(task, o.seed, 0, 700, theta_ref, x_ref);
    EXPECT_TRUE(std::equal(theta_ref.storage().begin(), theta_ref.storage().end(), theta.storage().begin()));
    // Round 2: the proposal's θ, simulated with the streams of rows 700..1399.
    EXPECT_TRUE(std::equal(proposal.storage().begin(), proposal.storage().end(), theta.row(700)));
    Matrix x2(700, 2);
    task.simulator->simulate(proposal.view(), x2.view(),
                             RowStreams{RandomStream(o.seed, StreamPurpose::simulation, 0), 700});
    EXPECT_TRUE(std::equal(x2.storage().begin(), x2.storage().end(), x.row(700)));
    const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_file_locking(fapl, false, true);  // as the store itself opens it
    const hid_t f = H5Fopen(o.out.c_str(), H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    std::vector<int32_t> rounds(1400);
    const hid_t d = H5Dopen2(f, "/round", H5P_DEFAULT);
    ASSERT_GE(H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, rounds.data()), 0);
    H5Dclose(d);
    H5Fclose(f);
    EXPECT_EQ(rounds[699], 1);
    EXPECT_EQ(rounds[700], 2);
    EXPECT_EQ(rounds[1399], 2);
  }
  // A plain (one-round) resume of a sequential store is refused.
  SimulationOptions plain;
  plain.out = o.out;
  plain.budget = 1400;
  plain.seed = 5;
  plain.chunk_rows = 64;
  plain.existing = ExistingOutput::resume;
  EXPECT_THROW(run_simulation(plain, task), dist::AgreedError);
}

TEST(SimulationRun, BadBudgetIsAnAgreedError) {
  sim::Task task = sim::make_task("two_moons");
  SimulationOptions o;
  o.out = temp_path("bad.h5");
  o.budget = 0;
  EXPECT_THROW(run_simulation(o, task), dist::AgreedError);
  EXPECT_FALSE(std::filesystem::exists(o.out));
}

// Rank 1 fails at once; rank 0's calls take 3 s each unless the interrupt check stops them.
class FailsOnRankOne final : public sim::Simulator {
 public:
  int64_t theta_dim() const override { return 2; }
  int64_t x_dim() const override { return 2; }
  void simulate(ConstMatrixView, MatrixView x, const RowStreams&) override {
    if (dist::rank() == 1) throw Error(ErrorKind::runtime, "rank 1's simulator failed");
    for (int k = 0; k < 300; ++k) {
      if (interrupt_check() && interrupt_check()()) throw sim::Interrupted("interrupted");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    for (int64_t i = 0; i < x.rows; ++i) x(i, 0) = x(i, 1) = 0.0f;
  }
};

TEST(SimulationRun, AFailureOnOneRankStopsTheOthersMidBatch) {
  ASSERT_GE(dist::size(), 2) << "run under mpiexec -n 2";
  sim::Task task = sim::make_task("two_moons");
  task.simulator = std::make_unique<FailsOnRankOne>();
  SimulationOptions o;
  o.out = temp_path("fails.h5");
  o.budget = 40;
  o.chunk_rows = 10;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    run_simulation(o, task);
    ADD_FAILURE() << "expected an AgreedError";
  } catch (const dist::AgreedError& e) {
    EXPECT_EQ(std::string(e.what()), "rank 1's simulator failed");
    EXPECT_EQ(e.failing_rank(), 1);
  }
  // Without the stop flag rank 0 would finish its 3 s call (and its next ones) first.
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 2.5);
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

// A cheap simulator with very wide rows (16 MiB each) that records the largest batch it was asked for.
class WideSimulator final : public sim::Simulator {
 public:
  static constexpr int64_t kWidth = int64_t{1} << 22;
  int64_t theta_dim() const override { return 2; }
  int64_t x_dim() const override { return kWidth; }
  void simulate(ConstMatrixView theta, MatrixView x, const RowStreams& streams) override {
    largest_batch = std::max(largest_batch, theta.rows);
    for (int64_t i = 0; i < theta.rows; ++i) {
      RandomStream rng = streams.row(i);
      const float noise = static_cast<float>(rng.normal());
      for (int64_t j = 0; j < kWidth; ++j) x(i, j) = theta(i, j % 2) + noise + static_cast<float>(j % 7);
      if (theta(i, 0) < -0.5f) x(i, 3) = NAN;  // some failed rows
    }
  }
  int64_t largest_batch = 0;
};

TEST(SimulationRun, WideRowsAreSimulatedInBoundedSlicesAndKeepTheirShape) {
  sim::Task task;
  task.name = "wide";
  task.prior = sim::make_box_uniform({-1.0, -1.0}, {1.0, 1.0});
  auto sim = std::make_unique<WideSimulator>();
  WideSimulator* wide = sim.get();
  task.simulator = std::move(sim);
  task.theta_labels = {"a", "b"};
  task.x_shape = {2048, 2048};
  SimulationOptions o;
  o.out = temp_path("wide.h5");
  o.budget = 7;
  o.chunk_rows = 5;  // more rows than fit the 64 MiB slice (4 rows of 16 MiB)
  ASSERT_EQ(automatic_chunk_rows(task.x_dim()), 4);
  const SimulationSummary s = run_simulation(o, task);
  EXPECT_EQ(s.store.completed(), 7);
  EXPECT_LE(wide->largest_batch, 4);  // never the whole 5-row chunk at once, on any rank
  if (dist::is_root()) {
    SimStore store = SimStore::open_read(o.out);
    EXPECT_EQ(store.meta().x_shape, task.x_shape);
    Matrix theta, x, theta_ref, x_ref;
    std::vector<uint8_t> status;
    store.read_rows(0, o.budget, theta, x, status);
    expected_rows(task, o.seed, 0, o.budget, theta_ref, x_ref);
    EXPECT_EQ(theta.storage(), theta_ref.storage());
    for (int64_t r = 0; r < o.budget; ++r) {
      const bool failed = theta(r, 0) < -0.5f;
      EXPECT_EQ(status[static_cast<size_t>(r)], failed ? kFailed : kOk) << r;
      if (!failed) EXPECT_TRUE(std::equal(x.row(r), x.row(r) + x.cols(), x_ref.row(r))) << r;
    }
    // HDF5 chunks: one 16 MiB row of /x per chunk, while the 2-wide /theta is chunked by its own width.
    h5::Handle file = h5::open_file_read(o.out);
    for (const auto& [name, rows] : {std::pair<const char*, hsize_t>{"/x", 1}, {"/theta", 4}}) {
      h5::Handle d(H5Dopen2(file.get(), name, H5P_DEFAULT), H5Dclose);
      h5::Handle plist(H5Dget_create_plist(d.get()), H5Pclose);
      hsize_t chunk[2] = {0, 0};
      ASSERT_EQ(H5Pget_chunk(plist.get(), 2, chunk), 2);
      EXPECT_EQ(chunk[0], rows) << name;
    }
    store.close();
    std::filesystem::remove(o.out);  // 112 MB
  }
  dist::barrier();
}

}  // namespace
}  // namespace simbi::store
