#pragma once
// CUDA runtime pieces of thrust_backend<thrust_cuda>, for nvcc translation units only: checked
// calls (every failure becomes a vtrans::cuda_error naming the call), a caching cudaMalloc
// allocator for tensor storage, and cuBLAS GEMMs on row-major data.
#if !defined(__CUDACC__)
#error "vtrans/tensor/cuda/runtime.hpp is for nvcc translation units (.cu files)"
#endif
#include <array>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <thrust/device_malloc_allocator.h>
#include <thrust/device_ptr.h>
#include <thrust/device_vector.h>
#include <thrust/system/cuda/execution_policy.h>

#include "vtrans/tensor/shape.hpp"

namespace vtrans {

// A failed CUDA or cuBLAS call: "vtrans::cuda: <what>: <reason>".
struct cuda_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace cuda_detail {

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess)
    throw cuda_error(std::string("vtrans::cuda: ") + what + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}
inline const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "cuBLAS error";
  }
}
inline void check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) throw cuda_error(std::string("vtrans::cuda: ") + what + ": " + cublas_status_name(s));
}
// After a kernel launch: launch errors now, execution errors at the next synchronising call.
inline void check_launch(const char* what) { check(cudaGetLastError(), what); }

// True when a CUDA device can be used; never throws (cudaGetDeviceCount leaves the count unset
// when it fails, e.g. without a driver).
inline bool device_available() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error
    return false;
  }
  return count > 0;
}

// ---- precision switches, both off by default -------------------------------------------------
// A switch set from the environment variable `name` ("1": on) on first use, then by its setter.
inline bool env_switch(const char* name) {
  const char* env = std::getenv(name);
  return env && env[0] == '1';
}
// TF32 off: float GEMMs in full float precision.
inline bool& tf32_flag() {
  static bool on = env_switch("VTRANS_CUDA_TF32");
  return on;
}
// 16-bit products off: frozen 16-bit weights widened to float for each product. On, a frozen
// BF16/F16 weight multiplies activations rounded to its type on tensor cores, with float
// accumulation (cublasGemmEx takes both operands in one type).
inline bool& half_gemm_flag() {
  static bool on = env_switch("VTRANS_CUDA_HALF_GEMM");
  return on;
}

// ---- uploads without a host wait ----------------------------------------------------------------
// cudaMemcpy from pageable memory returns only once the copy is done, after every kernel queued
// before it: in the middle of a step (a batch's pooled rows, labels, distilled rows) the host
// would wait for the GPU to drain. Small uploads go through a ring of pinned slots instead: the
// host copies into a slot and queues cudaMemcpyAsync on the default stream, in order with the
// kernels; a slot is refilled only after the event recorded behind its last copy has passed,
// so the host waits only when `count` uploads are still queued.
class upload_ring {
 public:
  static constexpr std::size_t slot_bytes = std::size_t(256) << 10, count = 32;  // 8 MiB pinned
  static upload_ring& instance() {
    static upload_ring* ring = new upload_ring;  // never destroyed, like the block pool
    return *ring;
  }
  // Queues the copy and returns true; false (nothing done) when it does not fit in a slot.
  bool upload(void* dst, const void* host, std::size_t bytes) {
    if (bytes > slot_bytes) return false;
    std::lock_guard<std::mutex> lock(mutex_);
    if (!base_) create();
    slot& s = slots_[next_];
    next_ = (next_ + 1) % count;
    if (s.queued) check(cudaEventSynchronize(s.done), "upload: waiting for a staging slot");
    std::memcpy(s.host, host, bytes);
    check(cudaMemcpyAsync(dst, s.host, bytes, cudaMemcpyHostToDevice, 0), "upload (cudaMemcpyAsync)");
    check(cudaEventRecord(s.done, 0), "upload: cudaEventRecord");
    s.queued = true;
    return true;
  }

 private:
  struct slot {
    char* host = nullptr;
    cudaEvent_t done = nullptr;
    bool queued = false;
  };
  void create() {
    void* p = nullptr;
    check(cudaMallocHost(&p, slot_bytes * count), "cudaMallocHost (upload staging)");
    base_ = static_cast<char*>(p);
    for (std::size_t i = 0; i < count; ++i) {
      slots_[i].host = base_ + i * slot_bytes;
      check(cudaEventCreateWithFlags(&slots_[i].done, cudaEventDisableTiming), "cudaEventCreateWithFlags");
    }
  }
  std::mutex mutex_;
  char* base_ = nullptr;
  std::array<slot, count> slots_{};
  std::size_t next_ = 0;
};

// ---- caching allocator ---------------------------------------------------------------------------
// cudaMalloc and cudaFree synchronise the device and cost microseconds to milliseconds, and every
// op allocates its outputs; freed blocks are kept by (rounded) size and reused. All kernels run on
// the default stream, so a block reused by a later op is ordered after the earlier op's kernels.
class block_pool {
 public:
  static block_pool& instance() {
    static block_pool* pool = new block_pool;  // never destroyed: must outlive every static tensor
    return *pool;
  }
  void* get(std::size_t bytes) {
    if (bytes == 0) return nullptr;
    bytes = rounded(bytes);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(bytes);
      if (it != free_.end()) {
        void* p = it->second;
        free_.erase(it);
        cached_ -= bytes;
        return p;
      }
    }
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, bytes);
    if (e == cudaErrorMemoryAllocation) {  // give the cache back and try once more
      cudaGetLastError();
      release_cached();
      e = cudaMalloc(&p, bytes);
    }
    check(e, ("cudaMalloc of " + std::to_string(bytes) + " bytes").c_str());
    return p;
  }
  void put(void* p, std::size_t bytes) {
    if (!p) return;
    bytes = rounded(bytes);
    std::lock_guard<std::mutex> lock(mutex_);
    free_.emplace(bytes, p);
    cached_ += bytes;
  }
  // Frees every cached block (not the ones in use).
  void release_cached() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& kv : free_) cudaFree(kv.second);
    free_.clear();
    cached_ = 0;
  }
  std::size_t cached_bytes() const { return cached_; }

 private:
  // 512-byte granules below 1 MiB, then steps of 1/8 of the power of two: at most 12.5% waste.
  static std::size_t rounded(std::size_t bytes) {
    if (bytes < (std::size_t(1) << 20)) return (bytes + 511) / 512 * 512;
    std::size_t p = std::size_t(1) << 20;
    while (p * 2 <= bytes) p *= 2;
    const std::size_t step = p / 8;
    return (bytes + step - 1) / step * step;
  }
  std::mutex mutex_;
  std::multimap<std::size_t, void*> free_;
  std::size_t cached_ = 0;
};

// thrust allocator over the pool. Its system is par_nosync, so the zero-fill of a new vector is
// queued on the stream instead of waiting for the device.
template <class T>
struct caching_allocator : thrust::device_malloc_allocator<T> {
  using base = thrust::device_malloc_allocator<T>;
  using pointer = typename base::pointer;
  using size_type = typename base::size_type;
  using system_type = thrust::cuda_cub::par_nosync_t;
  template <class U>
  struct rebind { using other = caching_allocator<U>; };

  caching_allocator() = default;
  template <class U>
  caching_allocator(const caching_allocator<U>&) {}

  pointer allocate(size_type n) { return pointer(static_cast<T*>(block_pool::instance().get(n * sizeof(T)))); }
  void deallocate(pointer p, size_type n) noexcept {
    block_pool::instance().put(thrust::raw_pointer_cast(p), n * sizeof(T));
  }
  system_type& system() {
    static system_type s;
    return s;
  }
  bool operator==(const caching_allocator&) const { return true; }
  bool operator!=(const caching_allocator&) const { return false; }
};

// ---- cuBLAS ----------------------------------------------------------------------------------
// One handle per host thread, on the default stream (created on first use and kept for the life
// of the process: destroying it during static destruction would race the runtime's teardown).
inline cublasHandle_t cublas() {
  thread_local cublasHandle_t handle = [] {
    cublasHandle_t h = nullptr;
    check(cublasCreate(&h), "cublasCreate");
    return h;
  }();
  return handle;
}

template <class T> struct cublas_type;
template <> struct cublas_type<float> {
  static constexpr cudaDataType_t data = CUDA_R_32F;
  static cublasComputeType_t compute() { return tf32_flag() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F; }
};
template <> struct cublas_type<double> {
  static constexpr cudaDataType_t data = CUDA_R_64F;
  static cublasComputeType_t compute() { return CUBLAS_COMPUTE_64F; }
};

inline int to_int(index v, const char* what) {
  if (v < 0 || v > index(0x7fffffff)) throw cuda_error(std::string("vtrans::cuda: ") + what + ": dimension " + std::to_string(v) + " exceeds cuBLAS' int range");
  return static_cast<int>(v);
}

// Row-major C = alpha op(A) op(B) + beta C is column-major C^T = alpha op(B)^T op(A)^T + beta C^T:
// swap the operands, keep the flags and leading dimensions.
template <class T>
void gemm(bool ta, bool tb, index m, index n, index k, T alpha, const T* a, index lda, const T* b, index ldb, T beta,
          T* c, index ldc) {
  if (m == 0 || n == 0) return;
  using ct = cublas_type<T>;
  check(cublasGemmEx(cublas(), tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, to_int(n, "gemm"),
                     to_int(m, "gemm"), to_int(k, "gemm"), &alpha, b, ct::data, to_int(ldb, "gemm"), a, ct::data,
                     to_int(lda, "gemm"), &beta, c, ct::data, to_int(ldc, "gemm"), ct::compute(), CUBLAS_GEMM_DEFAULT),
        "cublasGemmEx");
}
// C (float) = op(A) op(B) + beta C with A and B in a 16-bit type H (bf16: CUDA_R_16BF, f16:
// CUDA_R_16F), accumulated in float.
template <class H>
void gemm16(bool ta, bool tb, index m, index n, index k, const H* a, index lda, const H* b, index ldb, float beta, float* c,
            index ldc, cudaDataType_t h_type) {
  if (m == 0 || n == 0) return;
  const float alpha = 1.0f;
  check(cublasGemmEx(cublas(), tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, to_int(n, "gemm16"),
                     to_int(m, "gemm16"), to_int(k, "gemm16"), &alpha, b, h_type, to_int(ldb, "gemm16"), a, h_type,
                     to_int(lda, "gemm16"), &beta, c, CUDA_R_32F, to_int(ldc, "gemm16"), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
        "cublasGemmEx (16-bit operands)");
}
template <class T>
void gemm_batched(bool ta, bool tb, index m, index n, index k, T alpha, const T* a, index lda, index sa, const T* b,
                  index ldb, index sb, T beta, T* c, index ldc, index sc, index batch) {
  if (m == 0 || n == 0 || batch == 0) return;
  using ct = cublas_type<T>;
  check(cublasGemmStridedBatchedEx(cublas(), tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                                   to_int(n, "gemm_batched"), to_int(m, "gemm_batched"), to_int(k, "gemm_batched"), &alpha,
                                   b, ct::data, to_int(ldb, "gemm_batched"), static_cast<long long>(sb), a, ct::data,
                                   to_int(lda, "gemm_batched"), static_cast<long long>(sa), &beta, c, ct::data,
                                   to_int(ldc, "gemm_batched"), static_cast<long long>(sc), to_int(batch, "gemm_batched"),
                                   ct::compute(), CUBLAS_GEMM_DEFAULT),
        "cublasGemmStridedBatchedEx");
}

}  // namespace cuda_detail
}  // namespace vtrans
