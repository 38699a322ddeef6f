// The NCCL GradSync on real GPUs, under mpiexec -n 1 and -n 2 (one rank per GPU): the allreduce sum and
// the broadcast from rank 0 on cudaMalloc'd buffers (the CPU LibTorch cannot make CUDA tensors, so the
// raw-pointer entry points are used; they are what allreduce_sum_flat runs), the scalar sum over MPI,
// and the refusal of CPU tensors and host memory. Every test is skipped, with the reason, when a rank
// has no GPU of its own (no device, or fewer GPUs than ranks on the node).
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "simbi/core/error.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/train/grad_sync.hpp"

namespace simbi {
namespace {

// A float buffer in device memory (cudaMalloc), copied to and from host vectors.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(const std::vector<float>& host) : n_(host.size()) {
    check(cudaMalloc(reinterpret_cast<void**>(&data_), n_ * sizeof(float)), "cudaMalloc");
    check(cudaMemcpy(data_, host.data(), n_ * sizeof(float), cudaMemcpyHostToDevice), "cudaMemcpy");
  }
  ~DeviceBuffer() { cudaFree(data_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  float* data() { return data_; }
  int64_t size() const { return static_cast<int64_t>(n_); }
  std::vector<float> to_host() const {
    std::vector<float> out(n_);
    check(cudaMemcpy(out.data(), data_, n_ * sizeof(float), cudaMemcpyDeviceToHost), "cudaMemcpy");
    return out;
  }

 private:
  static void check(cudaError_t rc, const char* call) {
    if (rc != cudaSuccess) throw std::runtime_error(std::string(call) + ": " + cudaGetErrorString(rc));
  }
  size_t n_;
  float* data_ = nullptr;
};

class NcclGpu : public ::testing::Test {
 protected:
  // Collective (every rank runs it once, before the tests): why this run cannot use NCCL, agreed over
  // ranks so that either every rank runs the collectives or none does.
  static void SetUpTestSuite() {
    int count = 0;
    const cudaError_t rc = cudaGetDeviceCount(&count);
    std::string reason;
    if (rc != cudaSuccess || count <= 0) {
      (void)cudaGetLastError();
      reason = "no GPU visible on rank " + std::to_string(dist::rank()) + " (cudaGetDeviceCount: " +
               (rc != cudaSuccess ? cudaGetErrorString(rc) : "0 devices") + ")";
    } else if (count < dist::local_size()) {
      reason = std::to_string(dist::local_size()) + " ranks on the node of rank " + std::to_string(dist::rank()) +
               " but only " + std::to_string(count) + " GPU(s)";
    }
    const bool any = dist::allreduce_sum(int64_t{reason.empty() ? 0 : 1}) > 0;
    if (any && reason.empty()) reason = "another rank has no GPU of its own";
    skip_reason_ = reason;
    if (!reason.empty()) return;
    try {
      sync_ = train::make_nccl_grad_sync(dist::local_rank());  // collective; throws the same on every rank
    } catch (const std::exception& e) {
      setup_error_ = e.what();
    }
  }
  static void TearDownTestSuite() { sync_.reset(); }

  void SetUp() override {
    // ctest's SKIP_REGULAR_EXPRESSION (tests/CMakeLists.txt) matches this text.
    if (!skip_reason_.empty()) GTEST_SKIP() << "no usable GPU for NCCL: " << skip_reason_;
    ASSERT_TRUE(sync_) << "make_nccl_grad_sync failed: " << setup_error_;
  }

  static std::string skip_reason_, setup_error_;
  static std::unique_ptr<train::GradSync> sync_;
};
std::string NcclGpu::skip_reason_, NcclGpu::setup_error_;
std::unique_ptr<train::GradSync> NcclGpu::sync_;

TEST_F(NcclGpu, AllreduceSumsDeviceBuffersOverRanks) {
  const int r = dist::rank(), s = dist::size();
  for (const int64_t n : {int64_t{1}, int64_t{1000}, (int64_t{1} << 20) + 3}) {
    std::vector<float> host(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) host[static_cast<size_t>(i)] = static_cast<float>(r + 1) + 0.25f * (i % 64);
    DeviceBuffer buf(host);
    const double before = sync_->seconds_in_allreduce();
    train::nccl_allreduce_sum(*sync_, buf.data(), buf.size());
    EXPECT_GT(sync_->seconds_in_allreduce(), before);
    const std::vector<float> out = buf.to_host();
    for (int64_t i = 0; i < n; ++i) {
      // sum over ranks q of (q + 1 + 0.25 (i mod 64)): exact in float at these sizes
      const float expected = static_cast<float>(s * (s + 1) / 2) + static_cast<float>(s) * 0.25f * (i % 64);
      ASSERT_EQ(out[static_cast<size_t>(i)], expected) << "n=" << n << " i=" << i << " rank " << r;
    }
  }
}

TEST_F(NcclGpu, BroadcastCopiesRankZeroValues) {
  const int r = dist::rank();
  const int64_t n = 4097;
  std::vector<float> host(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) host[static_cast<size_t>(i)] = r == 0 ? 0.5f * i - 7.0f : -1.0f - r;
  DeviceBuffer buf(host);
  train::nccl_broadcast(*sync_, buf.data(), buf.size(), 0);
  const std::vector<float> out = buf.to_host();
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(out[static_cast<size_t>(i)], 0.5f * i - 7.0f) << "i=" << i << " rank " << r;
}

TEST_F(NcclGpu, ScalarSumGoesOverAllRanks) {
  const int s = dist::size();
  EXPECT_EQ(sync_->allreduce_sum(dist::rank() + 1.0), s * (s + 1) / 2.0);
}

TEST_F(NcclGpu, RefusesCpuTensorsAndHostMemory) {
  torch::Tensor cpu = torch::ones({4});
  try {
    sync_->allreduce_sum_flat(cpu);
    FAIL() << "a CPU tensor was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("NCCL needs CUDA tensors"), std::string::npos) << e.what();
  }
  EXPECT_THROW(sync_->broadcast_parameters({cpu}), Error);
  std::vector<float> host(4, 1.0f);
  EXPECT_THROW(train::nccl_allreduce_sum(*sync_, host.data(), 4), Error);
  EXPECT_EQ(cpu.sum().item<float>(), 4.0f);
}

}  // namespace
}  // namespace simbi
