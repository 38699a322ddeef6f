// The NCCL GradSync's refusals, by real calls: a build without NCCL refuses --backend nccl with one
// line naming the cause; a build with NCCL on a machine without a GPU refuses with the no-GPU line.
// (With a GPU the backend is made here, and its collectives are tested in tests/gpu/.)
#include <gtest/gtest.h>

#include <string>

#include "simbi/core/error.hpp"
#include "simbi/train/grad_sync.hpp"

namespace simbi {
namespace {

const std::string kNotBuilt =
    "--backend nccl: this simbi was built without NCCL (nccl.h/libnccl not found at configure time; see README)";
const std::string kNoGpu = "--backend nccl: no GPU visible on rank 0 (cudaGetDeviceCount: ";

TEST(GradSyncNccl, RefusedWithoutNcclOrGpu) {
  std::unique_ptr<train::GradSync> sync;
  try {
    sync = train::make_nccl_grad_sync(0);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    if (!train::nccl_compiled_in()) {
      EXPECT_EQ(message, kNotBuilt);
    } else {
      EXPECT_EQ(message.rfind(kNoGpu, 0), 0u) << message;  // a GPU machine does not throw at all
      EXPECT_EQ(message.back(), ')') << message;
    }
    return;
  }
  // Only reachable with NCCL and a GPU: a working one-rank communicator.
  ASSERT_TRUE(train::nccl_compiled_in()) << "make_nccl_grad_sync succeeded in a build without NCCL";
  ASSERT_NE(sync, nullptr);
  EXPECT_EQ(sync->seconds_in_allreduce(), 0.0);
  EXPECT_EQ(sync->allreduce_sum(2.5), 2.5);
}

TEST(GradSyncNccl, RawEntryPointsRefuseOtherBackends) {
  auto mpi = train::make_mpi_grad_sync();
  float host = 1.0f;
  try {
    train::nccl_allreduce_sum(*mpi, &host, 1);
    FAIL() << "nccl_allreduce_sum accepted the MPI backend";
  } catch (const Error& e) {
    if (train::nccl_compiled_in()) {
      EXPECT_EQ(e.kind(), ErrorKind::internal);
      EXPECT_NE(std::string(e.what()).find("not the NCCL backend"), std::string::npos) << e.what();
    } else {
      EXPECT_EQ(std::string(e.what()), kNotBuilt);
    }
  }
  EXPECT_THROW(train::nccl_broadcast(*mpi, &host, 1), Error);
  EXPECT_EQ(host, 1.0f);
}

}  // namespace
}  // namespace simbi
