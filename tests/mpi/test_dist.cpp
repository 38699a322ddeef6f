// Collectives and the dynamic work counter under several ranks.
#include <gtest/gtest.h>

#include <chrono>
#include <numeric>
#include <thread>

#include "simbi/dist/stop_flag.hpp"
#include "simbi/dist/work_counter.hpp"
#include "simbi/dist/world.hpp"

namespace simbi::dist {
namespace {

std::vector<int64_t> gather_items(const std::vector<int64_t>& mine) {
  int n = static_cast<int>(mine.size());
  std::vector<int> counts(size()), offsets(size());
  MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, comm());
  std::partial_sum(counts.begin(), counts.end() - 1, offsets.begin() + 1);
  std::vector<int64_t> all(static_cast<size_t>(offsets.back() + counts.back()));
  MPI_Allgatherv(mine.data(), n, MPI_INT64_T, all.data(), counts.data(), offsets.data(), MPI_INT64_T, comm());
  return all;
}

TEST(WorkCounter, HandsOutEveryItemExactlyOnce) {
  ASSERT_GE(size(), 2) << "run under mpiexec -n 2";
  const int64_t total = 200;
  WorkCounter counter(total);
  std::vector<int64_t> mine;
  for (int64_t item = counter.next(); item >= 0; item = counter.next(1)) mine.push_back(item);
  const WorkProgress p = counter.finish();
  std::vector<int64_t> all = gather_items(mine);
  std::sort(all.begin(), all.end());
  ASSERT_EQ(static_cast<int64_t>(all.size()), total);
  for (int64_t i = 0; i < total; ++i) EXPECT_EQ(all[static_cast<size_t>(i)], i);
  if (rank() == 0) EXPECT_EQ(p.units_done, total);  // every rank's reports reach rank 0
}

TEST(WorkCounter, SlowRankGetsFewerItems) {
  // Rank 1 takes 10x longer per item: a dynamic scheduler gives it clearly fewer items.
  const int64_t total = 60;
  WorkCounter counter(total);
  int64_t count = 0;
  for (int64_t item = counter.next(); item >= 0; item = counter.next()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(rank() == 1 ? 20 : 2));
    ++count;
  }
  counter.finish();
  std::vector<int64_t> counts = gather_items({count});
  EXPECT_EQ(std::accumulate(counts.begin(), counts.end(), int64_t{0}), total);
  if (thread_multiple()) EXPECT_GT(counts[0], 2 * counts[1]);
}

TEST(WorkCounter, AbortOnOneRankStopsAll) {
  const int64_t total = 100000;
  WorkCounter counter(total);
  int64_t handed = 0;
  for (int64_t item = counter.next(); item >= 0; item = counter.next()) {
    ++handed;
    if (rank() == 1 && handed == 3) {
      counter.abort();
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  counter.finish();
  const int64_t all = allreduce_sum(handed);
  EXPECT_LT(all, total);  // the work stopped early on every rank
}

TEST(StopFlag, RaisedOnOneRankIsSeenByTheOthersWithoutACollective) {
  ASSERT_GE(size(), 2) << "run under mpiexec -n 2";
  StopFlag flag;
  EXPECT_EQ(flag.raised(), 0);
  barrier();
  if (rank() == size() - 1) flag.raise(7);
  // Every other rank polls (as between simulator calls) and sees the code within seconds.
  const auto t0 = std::chrono::steady_clock::now();
  while (flag.raised() == 0 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10))
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(flag.raised(), 7);
  EXPECT_EQ(flag.own_code(), rank() == size() - 1 ? 7 : 0);
  flag.finish();
  EXPECT_EQ(flag.raised(), 7);
}

TEST(StopFlag, EveryRankRaisingLeavesTheCommunicatorClean) {
  for (int round = 0; round < 3; ++round) {
    StopFlag flag;
    flag.raise(1 + rank());
    flag.raise(99);  // only the first raise counts
    EXPECT_EQ(flag.own_code(), 1 + rank());
    flag.finish();
  }
  StopFlag quiet;  // nobody raises: finish() must not wait for a message
  quiet.finish();
  EXPECT_EQ(quiet.raised(), 0);
}

TEST(RunAgreed, FailureOnOneRankIsThrownOnAll) {
  bool threw = false;
  std::string message;
  try {
    run_agreed([] {
      if (rank() == 1) throw Error(ErrorKind::format, "only rank 1 saw this");
    });
  } catch (const AgreedError& e) {
    threw = true;
    message = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::format);
    EXPECT_EQ(e.failing_rank(), 1);
  }
  EXPECT_TRUE(threw);
  EXPECT_EQ(message, "only rank 1 saw this");
}

TEST(RunAgreed, NoFailureNoThrow) {
  EXPECT_NO_THROW(run_agreed([] {}));
}

}  // namespace
}  // namespace simbi::dist
