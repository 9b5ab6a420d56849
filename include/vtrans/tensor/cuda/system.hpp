#pragma once
// thrust_cuda, the CUDA system of thrust_backend (vtrans::cuda), for nvcc translation units only:
// device memory from cudaMalloc (cached, never managed memory), kernels on the default stream
// without a synchronisation after each one, small uploads queued on that stream from pinned
// memory (no host wait), cuBLAS GEMMs with float accumulation (TF32 off unless
// thrust_cuda::set_tf32(true) or VTRANS_CUDA_TF32=1; 16-bit operands for frozen 16-bit matrices
// with set_half_gemm(true) or VTRANS_CUDA_HALF_GEMM=1), and the fused row kernels of kernels.cuh
// (one thread block per row) offered as hooks (tensor/system_hooks.hpp) for the row ops where one
// thread per row would leave the GPU idle.
#if !defined(__CUDACC__)
#error "vtrans/tensor/cuda/system.hpp is for nvcc translation units (.cu files)"
#endif
#include <cstdint>
#include <type_traits>

#include <thrust/device_vector.h>
#include <thrust/system/cuda/execution_policy.h>

#include "vtrans/tensor/cuda/kernels.cuh"
#include "vtrans/tensor/cuda/runtime.hpp"
#include "vtrans/tensor/half.hpp"
#include "vtrans/tensor/kernel_args.hpp"
#include "vtrans/tensor/system_hooks.hpp"

namespace vtrans {

struct thrust_cuda {
  static const char* name() { return "cuda"; }
  template <class T>
  using vector = thrust::device_vector<T, cuda_detail::caching_allocator<T>>;
  static auto policy() { return thrust::cuda::par_nosync; }
  static void set_tf32(bool on) { cuda_detail::tf32_flag() = on; }
  static bool tf32() { return cuda_detail::tf32_flag(); }
  static void set_half_gemm(bool on) { cuda_detail::half_gemm_flag() = on; }
  static bool half_gemm() { return cuda_detail::half_gemm_flag(); }

  template <class T>
  static void upload(const T* host, index n, T* dst) {
    const std::size_t bytes = sizeof(T) * std::size_t(n);
    if (cuda_detail::upload_ring::instance().upload(dst, host, bytes)) return;  // small: queued, no host wait
    cuda_detail::check(cudaMemcpy(dst, host, bytes, cudaMemcpyHostToDevice), "upload");
  }
  template <class T>
  static void download(const T* src, index n, T* host) {
    cuda_detail::check(cudaMemcpy(host, src, sizeof(T) * std::size_t(n), cudaMemcpyDeviceToHost), "download");
  }
  static void synchronize() { cuda_detail::check(cudaDeviceSynchronize(), "synchronize"); }
  template <class T>
  static void gemm(bool ta, bool tb, index m, index n, index k, T alpha, const T* a, index lda, const T* b, index ldb,
                   T beta, T* c, index ldc) {
    cuda_detail::gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  template <class T>
  static void gemm_batched(bool ta, bool tb, index m, index n, index k, T alpha, const T* a, index lda, index sa,
                           const T* b, index ldb, index sb, T beta, T* c, index ldc, index sc, index batch) {
    cuda_detail::gemm_batched(ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc, batch);
  }

  // ---- hooks: one thread block per row ----------------------------------------------------
  template <class T>
  static void run(hooks::softmax, index rows, index cols, const T* x, T* y) { cuda_detail::softmax(rows, cols, x, y, false); }
  template <class T>
  static void run(hooks::log_softmax, index rows, index cols, const T* x, T* y) { cuda_detail::softmax(rows, cols, x, y, true); }
  template <class T>
  static void run(hooks::softmax_backward, index rows, index cols, const T* y, const T* dy, T* dx) {
    cuda_detail::row_grad(cuda_detail::row_grad_kind::softmax, rows, cols, y, dy, dx, T(1));
  }
  template <class T>
  static void run(hooks::log_softmax_backward, index rows, index cols, const T* y, const T* dy, T* dx) {
    cuda_detail::row_grad(cuda_detail::row_grad_kind::log_softmax, rows, cols, y, dy, dx, T(1));
  }
  template <class T>
  static void run(hooks::layer_norm, index rows, index cols, const T* x, const T* gamma, const T* beta, double eps, T* y,
                  T* mean, T* rstd) {
    cuda_detail::norm(rows, cols, x, gamma, beta, eps, y, mean, rstd);
  }
  template <class T>
  static void run(hooks::rms_norm, index rows, index cols, const T* x, const T* gamma, double eps, T* y, T* rstd) {
    cuda_detail::norm(rows, cols, x, gamma, static_cast<const T*>(nullptr), eps, y, static_cast<T*>(nullptr), rstd);
  }
  template <class T>
  static void run(hooks::norm_backward_dx, index rows, index cols, const T* x, const T* gamma, const T* mean, const T* rstd,
                  const T* dy, T* dx) {
    cuda_detail::norm_backward_dx(rows, cols, x, gamma, mean, rstd, dy, dx);
  }
  template <class T>
  static void run(hooks::attention_softmax, const attention_dims& d, const std::int32_t* key_mask, T* probs) {
    cuda_detail::attention_softmax(d, key_mask, probs);
  }
  // A frozen 16-bit weight's product in its own type, when half_gemm() is on: the float operand
  // a (op(a) is [m x k]) rounded to H into a pooled block, then cublasGemmEx with float
  // accumulation; off: declined, and the caller widens the weight.
  template <class H>
  static bool run(hooks::gemm16, bool ta, bool tb, index m, index n, index k, const float* a, index lda, const H* b, index ldb,
                  float beta, float* c, index ldc) {
    if (!half_gemm()) return false;
    if (m == 0 || n == 0) return true;
    const index rows = ta ? k : m, cols = ta ? m : k;
    auto& pool = cuda_detail::block_pool::instance();
    const std::size_t bytes = sizeof(H) * std::size_t(rows * cols);
    H* a16 = static_cast<H*>(pool.get(bytes));
    cuda_detail::narrow_2d(rows, cols, a, lda, a16);
    cuda_detail::gemm16(ta, tb, m, n, k, a16, cols > 0 ? cols : 1, b, ldb, beta, c, ldc, std::is_same_v<H, bf16> ? CUDA_R_16BF : CUDA_R_16F);
    pool.put(a16, bytes);  // reused only by later work on the same stream
    return true;
  }
  template <class T>
  static void run(hooks::attention_scores_grad, const attention_dims& d, const T* probs, T* dp) {
    cuda_detail::row_grad(cuda_detail::row_grad_kind::attention_scores, d.batch * d.heads * d.q_len, d.k_len, probs,
                          static_cast<const T*>(dp), dp, static_cast<T>(d.scale));
  }
};

}  // namespace vtrans
