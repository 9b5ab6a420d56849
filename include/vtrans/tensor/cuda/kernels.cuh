#pragma once
// Fused row kernels of thrust_backend<thrust_cuda> (nvcc only): one thread block per row, sums in
// double through warp shuffles, the formulas of tensor/kernels/ spread over a block. Offered as
// hooks by thrust_cuda (system.hpp) where one thread per row (the generic thrust path) leaves the
// GPU idle: softmax, log-softmax, the attention mask + softmax, their backward passes, layer/RMS
// norm and its input gradient; and the rounding of a float operand to 16 bits for a 16-bit GEMM.
#if !defined(__CUDACC__)
#error "vtrans/tensor/cuda/kernels.cuh is for nvcc translation units (.cu files)"
#endif
#include <cmath>
#include <cstdint>

#include <cuda_runtime.h>

#include "vtrans/tensor/cuda/runtime.hpp"
#include "vtrans/tensor/half.hpp"
#include "vtrans/tensor/kernel_args.hpp"
#include "vtrans/tensor/kernels/attention.hpp"
#include "vtrans/tensor/shape.hpp"

namespace vtrans::cuda_detail {

constexpr int row_threads = 256;

inline unsigned row_grid(index rows) { return static_cast<unsigned>(rows < 0x7fffffff ? rows : 0x7fffffff); }

struct sum_op {
  template <class R>
  __device__ R operator()(R a, R b) const { return a + b; }
};
struct max_op {
  template <class R>
  __device__ R operator()(R a, R b) const { return a < b ? b : a; }
};

// Every thread of the block gets op over all threads' v (blockDim.x a multiple of 32, at most 1024).
template <class R, class Op>
__device__ R block_allreduce(R v, Op op) {
  __shared__ R partial[32];
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  __syncthreads();  // the previous call's readers are done with `partial`
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  R r = partial[0];
  for (int w = 1; w < warps; ++w) r = op(r, partial[w]);
  return r;
}

// softmax (log = false) or log-softmax (log = true) over rows of [rows, cols]
template <class T>
__global__ void softmax_kernel(index rows, index cols, const T* __restrict__ x, T* __restrict__ y, bool log) {
  for (index r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * cols;
    T* yr = y + r * cols;
    T mx = cols ? xr[0] : T(0);
    for (index c = threadIdx.x; c < cols; c += blockDim.x) mx = max_op{}(mx, xr[c]);
    mx = block_allreduce(mx, max_op{});
    double s = 0;
    if (log) {
      for (index c = threadIdx.x; c < cols; c += blockDim.x) s += exp(double(xr[c] - mx));
      s = block_allreduce(s, sum_op{});
      const T lse = mx + static_cast<T>(::log(s));
      for (index c = threadIdx.x; c < cols; c += blockDim.x) yr[c] = xr[c] - lse;
    } else {
      for (index c = threadIdx.x; c < cols; c += blockDim.x) { const T e = exp(xr[c] - mx); yr[c] = e; s += e; }
      s = block_allreduce(s, sum_op{});
      const T inv = static_cast<T>(1.0 / s);
      for (index c = threadIdx.x; c < cols; c += blockDim.x) yr[c] *= inv;
    }
  }
}

// attention probs rows [batch, heads, q_len, k_len]: causal, sliding-window and key-padding masks
// (the visible keys of kernels/attention.hpp), then softmax over the visible keys; masked entries
// are exactly 0, a row with no visible key is all 0.
template <class T>
__global__ void attention_softmax_kernel(attention_dims d, const std::int32_t* __restrict__ key_mask, T* __restrict__ probs) {
  const index rows = d.batch * d.heads * d.q_len, k_len = d.k_len;
  for (index rr = blockIdx.x; rr < rows; rr += gridDim.x) {
    const index b = rr / d.q_len / d.heads;
    const kernels::key_range keys = kernels::visible_keys(d, rr % d.q_len);
    T* row = probs + rr * k_len;
    const std::int32_t* km = key_mask ? key_mask + b * k_len : nullptr;
    T mx = T(0);
    int any = 0;
    for (index j = keys.first + threadIdx.x; j < keys.last; j += blockDim.x)
      if (!km || km[j]) { mx = any ? max_op{}(mx, row[j]) : row[j]; any = 1; }
    const int any_all = block_allreduce(any, max_op{});
    // threads that saw nothing contribute the max of those that did
    mx = block_allreduce(any ? mx : kernels::minus_infinity<T>(), max_op{});
    double s = 0;
    for (index j = threadIdx.x; j < k_len; j += blockDim.x) {
      const bool on = any_all && j >= keys.first && j < keys.last && (!km || km[j]);
      const T e = on ? exp(row[j] - mx) : T(0);
      row[j] = e;
      s += e;
    }
    s = block_allreduce(s, sum_op{});
    const T inv = s > 0 ? static_cast<T>(1.0 / s) : T(0);
    for (index j = threadIdx.x; j < k_len; j += blockDim.x) row[j] *= inv;
  }
}

enum class row_grad_kind : int {
  softmax,          // dx += y * (dy - sum(dy * y))
  log_softmax,      // dx += dy - exp(y) * sum(dy)
  attention_scores  // out = P * (dP - sum(dP * P)) * scale   (out may alias dP)
};

template <class T>
__global__ void row_grad_kernel(row_grad_kind kind, index rows, index cols, const T* y, const T* dy, T* out, T scale) {
  for (index r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* yr = y + r * cols;
    const T* gr = dy + r * cols;
    T* o = out + r * cols;
    double s = 0;
    if (kind == row_grad_kind::log_softmax)
      for (index c = threadIdx.x; c < cols; c += blockDim.x) s += gr[c];
    else
      for (index c = threadIdx.x; c < cols; c += blockDim.x) s += double(gr[c]) * yr[c];
    s = block_allreduce(s, sum_op{});
    const T st = static_cast<T>(s);
    for (index c = threadIdx.x; c < cols; c += blockDim.x) {
      switch (kind) {
        case row_grad_kind::softmax: o[c] += yr[c] * (gr[c] - st); break;
        case row_grad_kind::log_softmax: o[c] += gr[c] - exp(yr[c]) * st; break;
        case row_grad_kind::attention_scores: o[c] = yr[c] * (gr[c] - st) * scale; break;
      }
    }
  }
}

// layer norm (mean != null) or RMS norm (mean == null), saving mean and rstd
template <class T>
__global__ void norm_kernel(index rows, index cols, const T* __restrict__ x, const T* __restrict__ gamma,
                            const T* __restrict__ beta, double eps, T* __restrict__ y, T* __restrict__ mean,
                            T* __restrict__ rstd) {
  for (index r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * cols;
    T* yr = y + r * cols;
    if (mean) {
      double s = 0;
      for (index c = threadIdx.x; c < cols; c += blockDim.x) s += xr[c];
      const double mu = block_allreduce(s, sum_op{}) / double(cols);
      double ss = 0;
      for (index c = threadIdx.x; c < cols; c += blockDim.x) { const double d = xr[c] - mu; ss += d * d; }
      const double rs = 1.0 / sqrt(block_allreduce(ss, sum_op{}) / double(cols) + eps);
      if (threadIdx.x == 0) { mean[r] = static_cast<T>(mu); rstd[r] = static_cast<T>(rs); }
      const T m = static_cast<T>(mu), q = static_cast<T>(rs);
      for (index c = threadIdx.x; c < cols; c += blockDim.x)
        yr[c] = (xr[c] - m) * q * (gamma ? gamma[c] : T(1)) + (beta ? beta[c] : T(0));
    } else {
      double ss = 0;
      for (index c = threadIdx.x; c < cols; c += blockDim.x) ss += double(xr[c]) * xr[c];
      const T q = static_cast<T>(1.0 / sqrt(block_allreduce(ss, sum_op{}) / double(cols) + eps));
      if (threadIdx.x == 0) rstd[r] = q;
      for (index c = threadIdx.x; c < cols; c += blockDim.x) yr[c] = xr[c] * q * (gamma ? gamma[c] : T(1));
    }
  }
}

// dx += rstd * (g - [mean(g)] - xhat * mean(g * xhat)), g = dy * gamma (mean null: RMS norm)
template <class T>
__global__ void norm_backward_dx_kernel(index rows, index cols, const T* __restrict__ x, const T* __restrict__ gamma,
                                        const T* __restrict__ mean, const T* __restrict__ rstd, const T* __restrict__ dy,
                                        T* __restrict__ dx) {
  for (index r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * cols;
    const T* gr = dy + r * cols;
    T* dr = dx + r * cols;
    const double m = mean ? double(mean[r]) : 0.0, q = rstd[r];
    double sg = 0, sgx = 0;
    for (index c = threadIdx.x; c < cols; c += blockDim.x) {
      const double xh = (xr[c] - m) * q, g = double(gr[c]) * (gamma ? gamma[c] : T(1));
      sg += g; sgx += g * xh;
    }
    sg = block_allreduce(sg, sum_op{});
    sgx = block_allreduce(sgx, sum_op{});
    const double mg = mean ? sg / double(cols) : 0.0, mgx = sgx / double(cols);
    for (index c = threadIdx.x; c < cols; c += blockDim.x) {
      const double xh = (xr[c] - m) * q, g = double(gr[c]) * (gamma ? gamma[c] : T(1));
      dr[c] += static_cast<T>(q * (g - mg - xh * mgx));
    }
  }
}

// y [rows x cols] (dense) = H(x [rows x cols], leading dimension ldx), rounded to nearest even
template <class H>
__global__ void narrow_2d_kernel(index rows, index cols, const float* __restrict__ x, index ldx, H* __restrict__ y) {
  const index n = rows * cols;
  for (index i = index(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += index(gridDim.x) * blockDim.x)
    y[i] = H::from_float(x[(i / cols) * ldx + i % cols]);
}

// ---- host launchers (default stream) ------------------------------------------------------------
template <class T>
void softmax(index rows, index cols, const T* x, T* y, bool log) {
  if (rows <= 0 || cols <= 0) return;
  softmax_kernel<T><<<row_grid(rows), row_threads>>>(rows, cols, x, y, log);
  check_launch(log ? "log_softmax kernel" : "softmax kernel");
}
template <class T>
void attention_softmax(const attention_dims& d, const std::int32_t* key_mask, T* probs) {
  const index rows = d.batch * d.heads * d.q_len;
  if (rows <= 0 || d.k_len <= 0) return;
  attention_softmax_kernel<T><<<row_grid(rows), row_threads>>>(d, key_mask, probs);
  check_launch("attention softmax kernel");
}
template <class T>
void row_grad(row_grad_kind kind, index rows, index cols, const T* y, const T* dy, T* out, T scale) {
  if (rows <= 0 || cols <= 0) return;
  row_grad_kernel<T><<<row_grid(rows), row_threads>>>(kind, rows, cols, y, dy, out, scale);
  check_launch("row gradient kernel");
}
template <class T>
void norm(index rows, index cols, const T* x, const T* gamma, const T* beta, double eps, T* y, T* mean, T* rstd) {
  if (rows <= 0 || cols <= 0) return;
  norm_kernel<T><<<row_grid(rows), row_threads>>>(rows, cols, x, gamma, beta, eps, y, mean, rstd);
  check_launch(mean ? "layer_norm kernel" : "rms_norm kernel");
}
template <class T>
void norm_backward_dx(index rows, index cols, const T* x, const T* gamma, const T* mean, const T* rstd, const T* dy, T* dx) {
  if (rows <= 0 || cols <= 0) return;
  norm_backward_dx_kernel<T><<<row_grid(rows), row_threads>>>(rows, cols, x, gamma, mean, rstd, dy, dx);
  check_launch("norm backward kernel");
}

template <class H>
void narrow_2d(index rows, index cols, const float* x, index ldx, H* y) {
  const index n = rows * cols;
  if (n <= 0) return;
  const index blocks = (n + row_threads - 1) / row_threads;
  narrow_2d_kernel<H><<<unsigned(blocks < 65535 * 32 ? blocks : 65535 * 32), row_threads>>>(rows, cols, x, ldx, y);
  check_launch("narrow to 16 bits kernel");
}

}  // namespace vtrans::cuda_detail
