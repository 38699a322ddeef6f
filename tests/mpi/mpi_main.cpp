// GoogleTest main for tests run under mpiexec: MPI is initialised once, and only rank 0 prints
// results (a failure on any rank fails the process, so ctest sees it).
#include <gtest/gtest.h>

#include "simbi/dist/world.hpp"

int main(int argc, char** argv) {
  simbi::dist::World world(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  if (simbi::dist::rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int local = RUN_ALL_TESTS();
  int any = 0;
  MPI_Allreduce(&local, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return any;
}
