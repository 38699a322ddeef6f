// GradSync over NCCL: one rank per GPU, one ncclAllReduce per optimizer step on a flat float32 CUDA
// buffer. Compiled for real only with SIMBI_HAVE_NCCL (cmake/optional_gpu.cmake); otherwise the same
// functions refuse --backend nccl. Only the raw CUDA runtime / NCCL APIs are used on tensors (data_ptr,
// numel, is_cuda...), never ATen's CUDA headers, so this compiles against a CPU-only LibTorch.
#include "simbi/core/error.hpp"
#include "simbi/dist/world.hpp"
#include "simbi/train/grad_sync.hpp"

#ifdef SIMBI_HAVE_NCCL

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <chrono>
#include <cstring>
#include <exception>
#include <string>

namespace simbi::train {

namespace {

const std::string kPrefix = "--backend nccl: ";

std::string on_rank() { return " on rank " + std::to_string(dist::rank()); }

void check_cuda(cudaError_t rc, const char* call) {
  if (rc == cudaSuccess) return;
  throw Error(ErrorKind::runtime, kPrefix + call + " failed" + on_rank() + ": " + cudaGetErrorString(rc));
}

void check_nccl(ncclResult_t rc, const char* call, ncclComm_t comm = nullptr) {
  if (rc == ncclSuccess) return;
  std::string message = kPrefix + call + " failed" + on_rank() + ": " + ncclGetErrorString(rc);
#if NCCL_VERSION_CODE >= NCCL_VERSION(2, 13, 0)
  std::string detail = ncclGetLastError(comm) ? ncclGetLastError(comm) : "";
  for (char& c : detail)
    if (c == '\n' || c == '\r') c = ' ';
  if (detail.find_first_not_of(' ') != std::string::npos) message += " (" + detail + ")";
#else
  (void)comm;
#endif
  throw Error(ErrorKind::runtime, message);
}

// The requirements, checked before any collective: a GPU, one per rank on this node, `device` in range.
void check_requirements(int device) {
  int count = 0;
  const cudaError_t rc = cudaGetDeviceCount(&count);
  if (rc != cudaSuccess || count <= 0) {
    (void)cudaGetLastError();  // clear the error so later CUDA calls do not report it again
    throw Error(ErrorKind::invalid_argument, kPrefix + "no GPU visible" + on_rank() + " (cudaGetDeviceCount: " +
                                                 (rc != cudaSuccess ? cudaGetErrorString(rc) : "0 devices") + ")");
  }
  const int ranks_here = dist::local_size();
  require(ranks_here <= count, ErrorKind::invalid_argument,
          kPrefix + std::to_string(ranks_here) + " ranks share the node of rank " + std::to_string(dist::rank()) +
              " but only " + std::to_string(count) +
              " GPU(s) are visible there (one rank per GPU: start at most that many ranks per node)");
  require(device >= 0 && device < count, ErrorKind::invalid_argument,
          kPrefix + "GPU " + std::to_string(device) + " requested" + on_rank() + " but only " + std::to_string(count) +
              " GPU(s) are visible (0.." + std::to_string(count - 1) + ")");
}

class NcclGradSync final : public GradSync {
 public:
  explicit NcclGradSync(int device) : device_(device) {
    try {
      ncclUniqueId id;
      std::memset(&id, 0, sizeof id);
      // Local checks and set-up agreed over ranks, so that no rank enters a collective alone.
      dist::run_agreed([&] {
        check_requirements(device_);
        check_cuda(cudaSetDevice(device_), "cudaSetDevice");
        // A blocking stream: it is ordered after work on the legacy default stream (where LibTorch
        // computes the gradients unless told otherwise), and that stream after it.
        check_cuda(cudaStreamCreate(&stream_), "cudaStreamCreate");
        if (dist::is_root()) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
      });
      std::string bytes(reinterpret_cast<const char*>(&id), sizeof id);
      dist::broadcast(bytes, 0);
      std::memcpy(&id, bytes.data(), sizeof id);
      dist::run_agreed([&] { check_nccl(ncclCommInitRank(&comm_, dist::size(), id, dist::rank()), "ncclCommInitRank"); });
    } catch (...) {
      failed_ = true;
      release();
      throw;
    }
  }

  ~NcclGradSync() override { release(); }
  NcclGradSync(const NcclGradSync&) = delete;
  NcclGradSync& operator=(const NcclGradSync&) = delete;

  void broadcast_parameters(const std::vector<torch::Tensor>& params) override {
    int64_t total = 0;
    for (const auto& p : params) {
      check_tensor(p, "a parameter");
      total += p.numel();
    }
    if (total == 0) return;
    float* flat = staging(total);
    const bool root = dist::rank() == 0;
    int64_t offset = 0;
    if (root)
      for (const auto& p : params) {
        copy(flat + offset, p.data_ptr<float>(), p.numel());
        offset += p.numel();
      }
    broadcast_raw(flat, total, 0);
    offset = 0;
    if (!root)
      for (const auto& p : params) {
        copy(p.data_ptr<float>(), flat + offset, p.numel());
        offset += p.numel();
      }
    run(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
  }

  void allreduce_sum_flat(torch::Tensor& flat) override {
    check_tensor(flat, "the gradient buffer");
    allreduce_raw(flat.data_ptr<float>(), flat.numel());
  }

  double allreduce_sum(double value) override {
    if (!dist::mpi_active()) return value;
    double out = 0.0;
    const int rc = MPI_Allreduce(&value, &out, 1, MPI_DOUBLE, MPI_SUM, dist::comm());
    require(rc == MPI_SUCCESS, ErrorKind::runtime, kPrefix + "MPI_Allreduce of a scalar failed" + on_rank());
    return out;
  }

  double seconds_in_allreduce() const override { return seconds_; }

  void allreduce_raw(float* data, int64_t n) {
    check_device_pointer(data, n, "nccl_allreduce_sum");
    if (n == 0) return;
    const auto t0 = std::chrono::steady_clock::now();
    run(cudaSetDevice(device_), "cudaSetDevice");
    run(ncclAllReduce(data, data, static_cast<size_t>(n), ncclFloat, ncclSum, comm_, stream_), "ncclAllReduce");
    run(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  void broadcast_raw(float* data, int64_t n, int root) {
    check_device_pointer(data, n, "nccl_broadcast");
    require(root >= 0 && root < dist::size(), ErrorKind::internal,
            kPrefix + "broadcast root " + std::to_string(root) + " is not a rank");
    if (n == 0) return;
    run(cudaSetDevice(device_), "cudaSetDevice");
    run(ncclBroadcast(data, data, static_cast<size_t>(n), ncclFloat, root, comm_, stream_), "ncclBroadcast");
    run(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
  }

 private:
  // Every NCCL/CUDA call after set-up: a failure marks the communicator unusable (aborted, not
  // destroyed) and becomes one Error line.
  void run(cudaError_t rc, const char* call) {
    if (rc != cudaSuccess) failed_ = true;
    check_cuda(rc, call);
  }
  void run(ncclResult_t rc, const char* call) {
    if (rc != ncclSuccess) failed_ = true;
    check_nccl(rc, call, comm_);
  }

  void check_tensor(const torch::Tensor& t, const char* what) const {
    require(t.is_cuda(), ErrorKind::invalid_argument,
            kPrefix + what + " is on " + t.device().str() + ", NCCL needs CUDA tensors (train with --device cuda)");
    require(t.scalar_type() == torch::kFloat && t.is_contiguous(), ErrorKind::internal,
            kPrefix + what + " must be a contiguous float32 tensor");
    require(t.get_device() == device_, ErrorKind::invalid_argument,
            kPrefix + what + " is on " + t.device().str() + " but rank " + std::to_string(dist::rank()) +
                " drives cuda:" + std::to_string(device_));
  }

  // Raw pointers must be device (or managed) memory on this rank's GPU: NCCL cannot read host memory.
  void check_device_pointer(const float* data, int64_t n, const char* what) const {
    require(n >= 0, ErrorKind::internal, kPrefix + what + ": negative element count");
    if (n == 0) return;
    cudaPointerAttributes attr;
    std::memset(&attr, 0, sizeof attr);
    const cudaError_t rc = cudaPointerGetAttributes(&attr, data);
    if (rc != cudaSuccess) (void)cudaGetLastError();
    require(rc == cudaSuccess && (attr.type == cudaMemoryTypeDevice || attr.type == cudaMemoryTypeManaged) &&
                attr.device == device_,
            ErrorKind::invalid_argument,
            kPrefix + what + ": the buffer is not device memory on cuda:" + std::to_string(device_) + on_rank());
  }

  void copy(float* dst, const float* src, int64_t n) {
    run(cudaMemcpyAsync(dst, src, static_cast<size_t>(n) * sizeof(float), cudaMemcpyDeviceToDevice, stream_),
        "cudaMemcpyAsync");
  }

  float* staging(int64_t n) {
    if (n > staging_n_) {
      run(cudaSetDevice(device_), "cudaSetDevice");
      if (staging_) run(cudaFree(staging_), "cudaFree");
      staging_ = nullptr;
      staging_n_ = 0;
      run(cudaMalloc(reinterpret_cast<void**>(&staging_), static_cast<size_t>(n) * sizeof(float)), "cudaMalloc");
      staging_n_ = n;
    }
    return staging_;
  }

  // Frees everything; errors are ignored (a destructor). ncclCommDestroy waits for the other ranks on
  // the node, so after a failure, or while an exception unwinds, the communicator is aborted instead.
  void release() noexcept {
    if (comm_) {
      if (failed_ || std::uncaught_exceptions() > 0)
        (void)ncclCommAbort(comm_);
      else
        (void)ncclCommDestroy(comm_);
      comm_ = nullptr;
    }
    if (staging_) (void)cudaFree(staging_);
    staging_ = nullptr;
    if (stream_) (void)cudaStreamDestroy(stream_);
    stream_ = nullptr;
  }

  int device_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  float* staging_ = nullptr;
  int64_t staging_n_ = 0;
  bool failed_ = false;
  double seconds_ = 0.0;
};

NcclGradSync& as_nccl(GradSync& sync, const char* what) {
  auto* nccl = dynamic_cast<NcclGradSync*>(&sync);
  require(nccl != nullptr, ErrorKind::internal,
          std::string(what) + ": the GradSync is not the NCCL backend (make it with make_nccl_grad_sync)");
  return *nccl;
}

}  // namespace

bool nccl_compiled_in() { return true; }

std::unique_ptr<GradSync> make_nccl_grad_sync(int device) { return std::make_unique<NcclGradSync>(device); }

void nccl_allreduce_sum(GradSync& sync, float* device_data, int64_t n) {
  as_nccl(sync, "nccl_allreduce_sum").allreduce_raw(device_data, n);
}

void nccl_broadcast(GradSync& sync, float* device_data, int64_t n, int root) {
  as_nccl(sync, "nccl_broadcast").broadcast_raw(device_data, n, root);
}

}  // namespace simbi::train

#else  // built without NCCL: the same API, refusing

namespace simbi::train {

namespace {
[[noreturn]] void refuse() {
  throw Error(ErrorKind::invalid_argument,
              "--backend nccl: this simbi was built without NCCL (nccl.h/libnccl not found at configure time; "
              "see README)");
}
}  // namespace

bool nccl_compiled_in() { return false; }
std::unique_ptr<GradSync> make_nccl_grad_sync(int) { refuse(); }
void nccl_allreduce_sum(GradSync&, float*, int64_t) { refuse(); }
void nccl_broadcast(GradSync&, float*, int64_t, int) { refuse(); }

}  // namespace simbi::train

#endif
