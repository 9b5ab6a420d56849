#pragma once
// thrust_backend<System>: the kernel interface of cpu.hpp, written once as thrust algorithms over
// raw pointers, so the same code runs on the host systems (tests on CI) and on a CUDA GPU.
//
//   thrust_backend<thrust_omp>   OpenMP threads; GEMM through OpenBLAS on the raw pointers
//   thrust_backend<thrust_cpp>   one host thread; GEMM through OpenBLAS (a plain loop under nvcc)
//   thrust_backend<thrust_cuda>  (= vtrans::cuda) the CUDA system, only in nvcc translation units:
//                                cuBLAS GEMMs and fused row kernels (tensor/cuda/system.hpp)
//
// Storage is the system's thrust vector (for CUDA a thrust::device_vector with a caching
// cudaMalloc allocator); host data crosses only in upload/download, counted by transfers().
// Every kernel is a functor over a counting iterator, marked VTRANS_HD (__host__ __device__ under
// nvcc), that calls the row and element functions of tensor/kernels/ shared with cpu: one thread
// per element, row or column. A system may take an op over with a faster kernel of its own (the
// CUDA system: one block per row), offered as a hook (system_hooks.hpp). Sums accumulate in double
// and reductions run in fixed chunks or serially per column, so results do not depend on the
// thread count.
//
// This header never includes xtensor (it is included by .cu files): only tensor/kernels/,
// math.hpp, kernel_args.hpp, shape.hpp and, for the host systems, blas.hpp. Host translation units
// must define THRUST_DEVICE_SYSTEM to a host system (target vtrans::thrust_omp does).
#include <cstdint>
#include <cstring>
#include <type_traits>

#include <thrust/fill.h>
#include <thrust/for_each.h>
#include <thrust/functional.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/transform_reduce.h>

#include "vtrans/tensor/half.hpp"
#include "vtrans/tensor/kernel_args.hpp"
#include "vtrans/tensor/kernels/adamw.hpp"
#include "vtrans/tensor/kernels/attention.hpp"
#include "vtrans/tensor/kernels/loss.hpp"
#include "vtrans/tensor/kernels/norm.hpp"
#include "vtrans/tensor/kernels/rank.hpp"
#include "vtrans/tensor/kernels/reduce.hpp"
#include "vtrans/tensor/kernels/rope.hpp"
#include "vtrans/tensor/kernels/softmax.hpp"
#include "vtrans/tensor/math.hpp"
#include "vtrans/tensor/shape.hpp"
#include "vtrans/tensor/system_hooks.hpp"
#include "vtrans/tensor/transfers.hpp"

#include <thrust/system/cpp/execution_policy.h>
#include <thrust/system/cpp/vector.h>

#if defined(__CUDACC__)
#include "vtrans/tensor/cuda/system.hpp"
#else
#include <thrust/system/omp/execution_policy.h>
#include <thrust/system/omp/vector.h>

#include "vtrans/tensor/blas.hpp"
#endif

namespace vtrans {

// ---- host systems ----------------------------------------------------------------------------
namespace thrust_detail {

// What the host systems share: memory is host memory, GEMM is OpenBLAS on the raw pointers (in
// nvcc translation units, which do not link BLAS, a plain loop: thrust_cpp there is a reference).
struct host_system {
  template <class T>
  static void upload(const T* host, index n, T* dst) { std::memcpy(dst, host, sizeof(T) * std::size_t(n)); }
  template <class T>
  static void download(const T* src, index n, T* host) { std::memcpy(host, src, sizeof(T) * std::size_t(n)); }
  static void synchronize() {}
  template <class T>
  static void gemm(bool ta, bool tb, index m, index n, index k, T alpha, const T* a, index lda, const T* b, index ldb,
                   T beta, T* c, index ldc) {
#if !defined(__CUDACC__)
    blas::gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#else
    for (index i = 0; i < m; ++i)
      for (index j = 0; j < n; ++j) {
        double s = 0;
        for (index p = 0; p < k; ++p) s += double(ta ? a[p * lda + i] : a[i * lda + p]) * double(tb ? b[j * ldb + p] : b[p * ldb + j]);
        T& out = c[i * ldc + j];
        out = beta == T(0) ? alpha * static_cast<T>(s) : alpha * static_cast<T>(s) + beta * out;
      }
#endif
  }
  template <class T>
  static void gemm_batched(bool ta, bool tb, index m, index n, index k, T alpha, const T* a, index lda, index sa,
                           const T* b, index ldb, index sb, T beta, T* c, index ldc, index sc, index batch) {
    for (index i = 0; i < batch; ++i) gemm(ta, tb, m, n, k, alpha, a + i * sa, lda, b + i * sb, ldb, beta, c + i * sc, ldc);
  }
};

}  // namespace thrust_detail

struct thrust_cpp : thrust_detail::host_system {
  static const char* name() { return "thrust_cpp"; }
  template <class T>
  using vector = thrust::cpp::vector<T>;
  static auto policy() { return thrust::cpp::par; }
};
#if !defined(__CUDACC__)
struct thrust_omp : thrust_detail::host_system {
  static const char* name() { return "thrust_omp"; }
  template <class T>
  using vector = thrust::omp::vector<T>;
  static auto policy() { return thrust::omp::par; }
};
#endif

// ---- functors (one call per element, row or column) -------------------------------------------
namespace thrust_kernels {

VTRANS_HD inline index operand_index(broadcast mode, index r, index c, index cols) {
  switch (mode) {
    case broadcast::none: return r * cols + c;
    case broadcast::row: return c;
    case broadcast::column: return r;
    case broadcast::scalar: return 0;
  }
  return 0;
}

// element-wise
template <class T>
struct axpby_f {
  T alpha; const T* x; T beta; T* y;
  VTRANS_HD void operator()(index i) const { y[i] = beta == T(0) ? alpha * x[i] : alpha * x[i] + beta * y[i]; }
};
template <class H, class T>
struct widen_f {
  const H* x; T* y;
  VTRANS_HD void operator()(index i) const { y[i] = static_cast<T>(x[i].to_float()); }
};
template <class T>
struct copy_2d_f {
  index cols; const T* x; index ldx; T* y; index ldy; T beta;
  VTRANS_HD void operator()(index i) const {
    const index r = i / cols, c = i % cols;
    T& out = y[r * ldy + c];
    out = beta == T(0) ? x[r * ldx + c] : x[r * ldx + c] + beta * out;
  }
};
template <class T>
struct permute_0213_f {
  index d1, d2, d3; const T* x; T* y; T beta;
  VTRANS_HD void operator()(index i) const {
    const index d = i % d3, t = i / d3, c = t % d2, t2 = t / d2, b = t2 % d1, a = t2 / d1;
    T& out = y[((a * d2 + c) * d1 + b) * d3 + d];
    out = beta == T(0) ? x[i] : x[i] + beta * out;
  }
};
template <class T>
struct unary_f {
  math::unary_op op; const T* x; T* y;
  VTRANS_HD void operator()(index i) const { y[i] = math::apply(op, x[i]); }
};
template <class T>
struct unary_backward_f {
  math::unary_op op; const T* x; const T* y; const T* dy; T* dx;
  VTRANS_HD void operator()(index i) const { dx[i] += dy[i] * math::derivative(op, x[i], y[i]); }
};
template <class T>
struct binary_f {
  math::binary_op op; index cols; const T* a; const T* b; broadcast mode; T* y;
  VTRANS_HD void operator()(index i) const { y[i] = math::apply(op, a[i], b[operand_index(mode, i / cols, i % cols, cols)]); }
};
template <class T>
struct accumulate_f {
  index cols; T alpha; const T* dy; const T* b; broadcast mode; T* da;
  VTRANS_HD void operator()(index i) const {
    da[i] += alpha * dy[i] * (b ? b[operand_index(mode, i / cols, i % cols, cols)] : T(1));
  }
};
template <class T>
struct add_scalar_f {
  const T* scalar; T factor; T* dx;
  VTRANS_HD void operator()(index i) const { dx[i] += scalar[0] * factor; }
};

// reductions
template <class T>
struct reduce_row_f {  // db[r] += alpha * sum_c dy * a
  index cols; T alpha; const T* dy; const T* a; T* db;
  VTRANS_HD void operator()(index r) const { db[r] += alpha * static_cast<T>(kernels::row_sum(cols, dy + r * cols, a ? a + r * cols : nullptr)); }
};
template <class T>
struct reduce_column_f {  // db[c] += alpha * sum_r dy * a   (neighbouring threads read neighbouring columns)
  index rows, cols; T alpha; const T* dy; const T* a; T* db;
  VTRANS_HD void operator()(index c) const {
    double s = 0;
    for (index r = 0; r < rows; ++r) { const index i = r * cols + c; s += dy[i] * (a ? a[i] : T(1)); }
    db[c] += alpha * static_cast<T>(s);
  }
};
template <class T>
struct product_term_f {  // dy * a formed in T (as cpu), widened for the sum
  const T* x; const T* y;
  VTRANS_HD double operator()(index i) const { return static_cast<double>(x[i] * (y ? y[i] : T(1))); }
};
template <class T>
struct dot_term_f {
  const T* x; const T* y;
  VTRANS_HD double operator()(index i) const { return double(x[i]) * (y ? double(y[i]) : 1.0); }
};
template <class F>
struct chunk_sum_f {  // partial[c] = sum of term(i) over chunk c of [0, n)
  index n, chunks; F term; double* partial;
  VTRANS_HD void operator()(index c) const {
    double s = 0;
    for (index i = n * c / chunks, e = n * (c + 1) / chunks; i < e; ++i) s += term(i);
    partial[c] = s;
  }
};
template <class T>
struct store_sum_f {  // out[0] = alpha * sum(partial), or += with add
  index chunks; const double* partial; T alpha; bool add; T* out;
  VTRANS_HD void operator()(index) const {
    double s = 0;
    for (index c = 0; c < chunks; ++c) s += partial[c];
    const T v = alpha * static_cast<T>(s);
    out[0] = add ? out[0] + v : v;
  }
};

// rows of the softmax family, losses and norms: the shared functions of tensor/kernels/
template <class T>
struct softmax_f {  // softmax or, with log, log-softmax
  index cols; const T* x; T* y; bool log;
  VTRANS_HD void operator()(index r) const {
    if (log) kernels::log_softmax_row(cols, x + r * cols, y + r * cols);
    else kernels::softmax_row(cols, x + r * cols, y + r * cols);
  }
};
template <class T>
struct softmax_backward_f {
  index cols; const T* y; const T* dy; T* dx; bool log;
  VTRANS_HD void operator()(index r) const {
    if (log) kernels::log_softmax_backward_row(cols, y + r * cols, dy + r * cols, dx + r * cols);
    else kernels::softmax_backward_row(cols, y + r * cols, dy + r * cols, dx + r * cols);
  }
};
template <class T>
struct nll_f {
  index cols; const T* logp; const std::int32_t* target; std::int32_t ignore; T* loss;
  VTRANS_HD void operator()(index r) const { loss[r] = kernels::nll_row(logp + r * cols, target[r], ignore); }
};
template <class T>
struct nll_backward_f {  // rows write distinct elements: no race
  index cols; const std::int32_t* target; std::int32_t ignore; const T* scalar; T factor; T* dlogp;
  VTRANS_HD void operator()(index r) const { kernels::nll_backward_row(target[r], ignore, scalar[0] * factor, dlogp + r * cols); }
};
template <class T>
struct layer_norm_f {
  index cols; const T* x; const T* gamma; const T* beta; double eps; T* y; T* mean; T* rstd;
  VTRANS_HD void operator()(index r) const { kernels::layer_norm_row(cols, x + r * cols, gamma, beta, eps, y + r * cols, mean[r], rstd[r]); }
};
template <class T>
struct rms_norm_f {
  index cols; const T* x; const T* gamma; double eps; T* y; T* rstd;
  VTRANS_HD void operator()(index r) const { kernels::rms_norm_row(cols, x + r * cols, gamma, eps, y + r * cols, rstd[r]); }
};
template <class T>
struct norm_backward_f {
  index cols; const T* x; const T* gamma; const T* mean; const T* rstd; const T* dy; T* dx;
  VTRANS_HD void operator()(index r) const {
    kernels::norm_backward_row(cols, x + r * cols, gamma, mean ? mean + r : nullptr, rstd[r], dy + r * cols, dx + r * cols);
  }
};
template <class T>
struct norm_param_grads_f {  // one thread per column
  index rows, cols; const T* x; const T* mean; const T* rstd; const T* dy; T* dgamma; T* dbeta;
  VTRANS_HD void operator()(index c) const { kernels::norm_param_grads_column(rows, cols, c, x, mean, rstd, dy, dgamma, dbeta); }
};

// embeddings
template <class T>
struct gather_f {
  index cols; const T* table; const std::int32_t* ids; T* y;
  VTRANS_HD void operator()(index i) const { y[i] = table[index(ids[i / cols]) * cols + i % cols]; }
};
template <class T>
struct scatter_column_f {  // one thread per column: repeated ids never race
  index n, cols; const T* dy; const std::int32_t* ids; T* dtable;
  VTRANS_HD void operator()(index c) const {
    for (index i = 0; i < n; ++i) dtable[index(ids[i]) * cols + c] += dy[i * cols + c];
  }
};

// attention rows of probs [batch, heads, q_len, k_len]
template <class T>
struct attention_softmax_f {
  attention_dims d; const std::int32_t* key_mask; T* probs;
  VTRANS_HD void operator()(index rr) const {
    const index b = rr / d.q_len / d.heads;
    kernels::attention_softmax_row(d, rr % d.q_len, key_mask ? key_mask + b * d.k_len : nullptr, probs + rr * d.k_len);
  }
};
template <class T>
struct attention_scores_grad_f {
  index k_len; T scale; const T* probs; T* dp;
  VTRANS_HD void operator()(index rr) const { kernels::attention_scores_grad_row(k_len, scale, probs + rr * k_len, dp + rr * k_len); }
};

// rotary embedding: one call per (row, head, pair) so x == y (in place) is safe
template <class T>
struct rope_pair_f {
  rope_dims d; const T* x; const std::int32_t* positions; bool inverse; T beta; T* y;
  VTRANS_HD void operator()(index t) const {
    const index half = d.rotary_dim / 2, i = t % half, rh = t / half, h = rh % d.heads, r = rh / d.heads;
    kernels::rope_pair(d, x + r * d.ldx + h * d.head_dim, positions[r], i, inverse, beta, y + r * d.ldy + h * d.head_dim);
  }
};
template <class T>
struct rope_pass_f {  // the unrotated tail of each head
  rope_dims d; const T* x; T beta; T* y;
  VTRANS_HD void operator()(index t) const {
    const index rest = d.head_dim - d.rotary_dim;
    const index i = d.rotary_dim + t % rest, rh = t / rest, h = rh % d.heads, r = rh / d.heads;
    kernels::rope_pass(x + r * d.ldx + h * d.head_dim, i, beta, y + r * d.ldy + h * d.head_dim);
  }
};

// noisy masks: y = x * (eps * sigma + mu) per element; backward per element (dx) and per column
template <class T>
struct noisy_scale_f {
  index cols; const T* x; const T* eps; const T* mu; const T* sigma; T* y;
  VTRANS_HD void operator()(index i) const { const index c = i % cols; y[i] = x[i] * (eps[i] * sigma[c] + mu[c]); }
};
template <class T>
struct noisy_scale_dx_f {
  index cols; const T* eps; const T* mu; const T* sigma; const T* dy; T beta; T* dx;
  VTRANS_HD void operator()(index i) const {
    const index c = i % cols;
    const T v = dy[i] * (eps[i] * sigma[c] + mu[c]);
    dx[i] = beta == T(0) ? v : dx[i] + v;
  }
};
template <class T>
struct noisy_scale_columns_f {
  index rows, cols; const T* x; const T* eps; const T* dy; T* dmu; T* dsigma;
  VTRANS_HD void operator()(index c) const {
    double sm = 0, ss = 0;
    for (index r = 0; r < rows; ++r) {
      const index i = r * cols + c;
      const T t = dy[i] * x[i];
      sm += t;
      ss += t * eps[i];
    }
    if (dmu) dmu[c] += static_cast<T>(sm);
    if (dsigma) dsigma[c] += static_cast<T>(ss);
  }
};
// keep_highest: each unit compares itself with every other (kernels/rank.hpp)
template <class T>
struct keep_highest_f {
  index n; const T* score; const T* kept; T* y;
  VTRANS_HD void operator()(index i) const {
    y[i] = kernels::kept_after_dropping_lowest(n, score, i, kernels::drop_count(n, double(kept[0])));
  }
};
// random numbers: the counter-based generator of math.hpp
template <class T>
struct uniform_f {
  std::uint64_t seed, offset; T* y;
  VTRANS_HD void operator()(index i) const { y[i] = static_cast<T>(math::uniform(seed, offset + std::uint64_t(i))); }
};
template <class T>
struct normal_f {
  std::uint64_t seed, offset; T* y;
  VTRANS_HD void operator()(index i) const { y[i] = static_cast<T>(math::bulk_normal(seed, offset + std::uint64_t(i))); }
};
template <class T>
struct dropout_f {
  double p; T keep; std::uint64_t seed, offset; T* y;
  VTRANS_HD void operator()(index i) const { y[i] = math::dropout_value(p, keep, seed, offset + std::uint64_t(i)); }
};
template <class T>
struct adamw_f {
  kernels::adamw_step step; T* param; const T* grad; T* m; T* v;
  VTRANS_HD void operator()(index i) const { step(param[i], grad[i], m[i], v[i]); }
};

}  // namespace thrust_kernels

// ---- the backend ------------------------------------------------------------------------------
template <class System>
struct thrust_backend {
  using system = System;
  static const char* name() { return System::name(); }

  template <class T>
  using storage = typename System::template vector<T>;

  // ---- storage and host boundaries -------------------------------------------------------
  template <class T>
  static storage<T> allocate(index n) { return storage<T>(static_cast<std::size_t>(n)); }
  template <class T>
  static T* data(storage<T>& s) { return thrust::raw_pointer_cast(s.data()); }
  template <class T>
  static const T* data(const storage<T>& s) { return thrust::raw_pointer_cast(s.data()); }
  template <class T>
  static void upload(const T* host, index n, T* dst) {
    if (n <= 0) return;
    transfers().count_upload(sizeof(T) * static_cast<std::uint64_t>(n));
    System::upload(host, n, dst);
  }
  template <class T>
  static void download(const T* src, index n, T* host) {
    if (n <= 0) return;
    transfers().count_download(sizeof(T) * static_cast<std::uint64_t>(n));
    System::download(src, n, host);
  }
  static void synchronize() { System::synchronize(); }
  static transfer_counter& transfers() {
    static transfer_counter counter;
    return counter;
  }

  // ---- element-wise ----------------------------------------------------------------------
  template <class T>
  static void fill(index n, T value, T* y) { if (n > 0) thrust::fill_n(System::policy(), y, n, value); }
  template <class T>
  static void axpby(index n, T alpha, const T* x, T beta, T* y) { launch(n, thrust_kernels::axpby_f<T>{alpha, x, beta, y}); }
  // y = T(x) for a 16-bit storage type (half.hpp)
  template <class H, class T>
  static void widen(index n, const H* x, T* y) { launch(n, thrust_kernels::widen_f<H, T>{x, y}); }
  // c = op(a) op(b) + beta c with b a frozen 16-bit matrix, multiplied in 16 bits when the system
  // offers it and has it switched on (hooks::gemm16); false: nothing ran, the caller widens b.
  template <class T, class H>
  static bool gemm16(bool ta, bool tb, index m, index n, index k, const T* a, index lda, const H* b, index ldb, T beta, T* c, index ldc) {
    if constexpr (hooks::offered<System, hooks::gemm16, bool, bool, index, index, index, const T*, index, const H*, index, T, T*, index>)
      return System::run(hooks::gemm16{}, ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
    else
      return false;
  }
  template <class T>
  static void copy_2d(index rows, index cols, const T* x, index ldx, T* y, index ldy, T beta) {
    if (cols > 0) launch(rows * cols, thrust_kernels::copy_2d_f<T>{cols, x, ldx, y, ldy, beta});
  }
  template <class T>
  static void permute_0213(index d0, index d1, index d2, index d3, const T* x, T* y, T beta) {
    launch(d0 * d1 * d2 * d3, thrust_kernels::permute_0213_f<T>{d1, d2, d3, x, y, beta});
  }
  template <class T>
  static void unary(math::unary_op op, index n, const T* x, T* y) { launch(n, thrust_kernels::unary_f<T>{op, x, y}); }
  template <class T>
  static void unary_backward(math::unary_op op, index n, const T* x, const T* y, const T* dy, T* dx) {
    launch(n, thrust_kernels::unary_backward_f<T>{op, x, y, dy, dx});
  }
  template <class T>
  static void binary(math::binary_op op, index rows, index cols, const T* a, const T* b, broadcast mode, T* y) {
    if (cols > 0) launch(rows * cols, thrust_kernels::binary_f<T>{op, cols, a, b, mode, y});
  }
  template <class T>
  static void accumulate(index rows, index cols, T alpha, const T* dy, const T* b, broadcast mode, T* da) {
    if (cols > 0) launch(rows * cols, thrust_kernels::accumulate_f<T>{cols, alpha, dy, b, mode, da});
  }
  template <class T>
  static void accumulate_reduced(index rows, index cols, T alpha, const T* dy, const T* a, broadcast mode, T* db) {
    switch (mode) {
      case broadcast::none: accumulate(rows, cols, alpha, dy, a, broadcast::none, db); return;
      case broadcast::column: launch(rows, thrust_kernels::reduce_row_f<T>{cols, alpha, dy, a, db}); return;
      case broadcast::row: launch(cols, thrust_kernels::reduce_column_f<T>{rows, cols, alpha, dy, a, db}); return;
      case broadcast::scalar: sum_into(rows * cols, thrust_kernels::product_term_f<T>{dy, a}, alpha, true, db); return;
    }
  }
  template <class T>
  static void reduce_sum(index n, const T* x, T alpha, T* out) {
    sum_into(n, thrust_kernels::dot_term_f<T>{x, nullptr}, alpha, false, out);
  }
  // Host value of sum(x * y): the one kernel whose result crosses to the host (counted).
  template <class T>
  static double dot(index n, const T* x, const T* y) {
    transfers().count_download(sizeof(double));
    if (n <= 0) return 0.0;
    return thrust::transform_reduce(System::policy(), thrust::counting_iterator<index>(0), thrust::counting_iterator<index>(n),
                                    thrust_kernels::dot_term_f<T>{x, y}, 0.0, thrust::plus<double>());
  }
  template <class T>
  static void add_scalar(index n, const T* scalar, T factor, T* dx) { launch(n, thrust_kernels::add_scalar_f<T>{scalar, factor, dx}); }

  // ---- matrix products -------------------------------------------------------------------
  template <class T>
  static void gemm(bool trans_a, bool trans_b, index m, index n, index k, T alpha, const T* a, index lda,
                   const T* b, index ldb, T beta, T* c, index ldc) {
    System::gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  template <class T>
  static void gemm_batched(bool trans_a, bool trans_b, index m, index n, index k, T alpha, const T* a, index lda,
                           index stride_a, const T* b, index ldb, index stride_b, T beta, T* c, index ldc,
                           index stride_c, index batch) {
    System::gemm_batched(trans_a, trans_b, m, n, k, alpha, a, lda, stride_a, b, ldb, stride_b, beta, c, ldc, stride_c, batch);
  }

  // ---- softmax family --------------------------------------------------------------------
  template <class T>
  static void softmax(index rows, index cols, const T* x, T* y) {
    if (!hooked<hooks::softmax>(rows, cols, x, y)) launch(rows, thrust_kernels::softmax_f<T>{cols, x, y, false});
  }
  template <class T>
  static void softmax_backward(index rows, index cols, const T* y, const T* dy, T* dx) {
    if (!hooked<hooks::softmax_backward>(rows, cols, y, dy, dx)) launch(rows, thrust_kernels::softmax_backward_f<T>{cols, y, dy, dx, false});
  }
  template <class T>
  static void log_softmax(index rows, index cols, const T* x, T* y) {
    if (!hooked<hooks::log_softmax>(rows, cols, x, y)) launch(rows, thrust_kernels::softmax_f<T>{cols, x, y, true});
  }
  template <class T>
  static void log_softmax_backward(index rows, index cols, const T* y, const T* dy, T* dx) {
    if (!hooked<hooks::log_softmax_backward>(rows, cols, y, dy, dx))
      launch(rows, thrust_kernels::softmax_backward_f<T>{cols, y, dy, dx, true});
  }
  template <class T>
  static void nll(index rows, index cols, const T* logp, const std::int32_t* target, std::int32_t ignore, T* loss) {
    launch(rows, thrust_kernels::nll_f<T>{cols, logp, target, ignore, loss});
  }
  template <class T>
  static void nll_backward(index rows, index cols, const std::int32_t* target, std::int32_t ignore, const T* scalar,
                           T factor, T* dlogp) {
    launch(rows, thrust_kernels::nll_backward_f<T>{cols, target, ignore, scalar, factor, dlogp});
  }

  // ---- normalisation ---------------------------------------------------------------------
  template <class T>
  static void layer_norm(index rows, index cols, const T* x, const T* gamma, const T* beta, double eps, T* y,
                         T* mean, T* rstd) {
    if (!hooked<hooks::layer_norm>(rows, cols, x, gamma, beta, eps, y, mean, rstd))
      launch(rows, thrust_kernels::layer_norm_f<T>{cols, x, gamma, beta, eps, y, mean, rstd});
  }
  template <class T>
  static void layer_norm_backward(index rows, index cols, const T* x, const T* gamma, const T* mean, const T* rstd,
                                  const T* dy, T* dx, T* dgamma, T* dbeta) {
    norm_backward(rows, cols, x, gamma, mean, rstd, dy, dx, dgamma, dbeta);
  }
  template <class T>
  static void rms_norm(index rows, index cols, const T* x, const T* gamma, double eps, T* y, T* rstd) {
    if (!hooked<hooks::rms_norm>(rows, cols, x, gamma, eps, y, rstd))
      launch(rows, thrust_kernels::rms_norm_f<T>{cols, x, gamma, eps, y, rstd});
  }
  template <class T>
  static void rms_norm_backward(index rows, index cols, const T* x, const T* gamma, const T* rstd, const T* dy,
                                T* dx, T* dgamma) {
    norm_backward(rows, cols, x, gamma, static_cast<const T*>(nullptr), rstd, dy, dx, dgamma, static_cast<T*>(nullptr));
  }

  // ---- embeddings --------------------------------------------------------------------------
  template <class T>
  static void gather_rows(index n, index cols, const T* table, const std::int32_t* ids, T* y) {
    if (cols > 0) launch(n * cols, thrust_kernels::gather_f<T>{cols, table, ids, y});
  }
  template <class T>
  static void scatter_add_rows(index n, index cols, const T* dy, const std::int32_t* ids, T* dtable) {
    if (n > 0) launch(cols, thrust_kernels::scatter_column_f<T>{n, cols, dy, ids, dtable});
  }

  // ---- attention -------------------------------------------------------------------------
  // Scores and outputs are strided batched GEMMs: for batch b and group member j, the query heads
  // h = g * G + j (g over kv heads) sit at a constant stride G * head_dim, their key/value heads at
  // head_dim, so one batched product covers every kv head. probs must hold probs_numel() values.
  template <class T>
  static void attention_forward(const attention_dims& d, const T* q, const T* k, const T* v,
                                const std::int32_t* key_mask, T* probs, T* out) {
    const index G = d.heads / d.kv_heads, D = d.head_dim, QK = d.q_len * d.k_len;
    for (index b = 0; b < d.batch; ++b)
      for (index j = 0; j < G; ++j)
        gemm_batched(false, true, d.q_len, d.k_len, D, static_cast<T>(d.scale), q + b * d.q_len * d.ldq + j * D, d.ldq, G * D,
                     k + b * d.k_len * d.ldk, d.ldk, D, T(0), probs + (b * d.heads + j) * QK, d.k_len, G * QK, d.kv_heads);
    if (d.k_len > 0 && !hooked<hooks::attention_softmax>(d, key_mask, probs))
      launch(d.batch * d.heads * d.q_len, thrust_kernels::attention_softmax_f<T>{d, key_mask, probs});
    for (index b = 0; b < d.batch; ++b)
      for (index j = 0; j < G; ++j)
        gemm_batched(false, false, d.q_len, D, d.k_len, T(1), probs + (b * d.heads + j) * QK, d.k_len, G * QK,
                     v + b * d.k_len * d.ldv, d.ldv, D, T(0), out + b * d.q_len * d.ldo + j * D, d.ldo, G * D, d.kv_heads);
  }
  // dq, dk, dv accumulate; group members j run one after another, so GQA sums never race.
  template <class T>
  static void attention_backward(const attention_dims& d, const T* q, const T* k, const T* v, const T* probs,
                                 const T* dout, T* dq, T* dk, T* dv) {
    const index G = d.heads / d.kv_heads, D = d.head_dim, QK = d.q_len * d.k_len;
    auto P = [&](auto* base, index b, index j) { return base + (b * d.heads + j) * QK; };
    auto dO = [&](index b, index j) { return dout + b * d.q_len * d.ldo + j * D; };
    if (dv)
      for (index b = 0; b < d.batch; ++b)
        for (index j = 0; j < G; ++j)
          gemm_batched(true, false, d.k_len, D, d.q_len, T(1), P(probs, b, j), d.k_len, G * QK, dO(b, j), d.ldo, G * D, T(1),
                       dv + b * d.k_len * d.ldv, d.ldv, D, d.kv_heads);
    if (!dq && !dk) return;
    storage<T> scratch = allocate<T>(d.probs_numel());
    T* dp = data(scratch);
    for (index b = 0; b < d.batch; ++b)
      for (index j = 0; j < G; ++j)
        gemm_batched(false, true, d.q_len, d.k_len, D, T(1), dO(b, j), d.ldo, G * D, v + b * d.k_len * d.ldv, d.ldv, D, T(0),
                     P(dp, b, j), d.k_len, G * QK, d.kv_heads);
    if (d.k_len > 0 && !hooked<hooks::attention_scores_grad>(d, probs, dp))
      launch(d.batch * d.heads * d.q_len, thrust_kernels::attention_scores_grad_f<T>{d.k_len, static_cast<T>(d.scale), probs, dp});
    for (index b = 0; b < d.batch; ++b)
      for (index j = 0; j < G; ++j) {
        if (dq)
          gemm_batched(false, false, d.q_len, D, d.k_len, T(1), P(dp, b, j), d.k_len, G * QK, k + b * d.k_len * d.ldk, d.ldk, D,
                       T(1), dq + b * d.q_len * d.ldq + j * D, d.ldq, G * D, d.kv_heads);
        if (dk)
          gemm_batched(true, false, d.k_len, D, d.q_len, T(1), P(dp, b, j), d.k_len, G * QK, q + b * d.q_len * d.ldq + j * D,
                       d.ldq, G * D, T(1), dk + b * d.k_len * d.ldk, d.ldk, D, d.kv_heads);
      }
  }

  // ---- rotary positions --------------------------------------------------------------------
  template <class T>
  static void rope(const rope_dims& d, const T* x, const std::int32_t* positions, bool inverse, T beta, T* y) {
    if (d.rotary_dim / 2 > 0) launch(d.rows * d.heads * (d.rotary_dim / 2), thrust_kernels::rope_pair_f<T>{d, x, positions, inverse, beta, y});
    if (d.head_dim > d.rotary_dim) launch(d.rows * d.heads * (d.head_dim - d.rotary_dim), thrust_kernels::rope_pass_f<T>{d, x, beta, y});
  }

  // ---- random numbers ----------------------------------------------------------------------
  template <class T>
  static void keep_highest(index n, const T* score, const T* kept, T* y) { launch(n, thrust_kernels::keep_highest_f<T>{n, score, kept, y}); }
  template <class T>
  static void random_uniform(index n, std::uint64_t seed, std::uint64_t offset, T* y) {
    launch(n, thrust_kernels::uniform_f<T>{seed, offset, y});
  }
  template <class T>
  static void noisy_scale(index rows, index cols, const T* x, const T* eps, const T* mu, const T* sigma, T* y) {
    if (cols > 0) launch(rows * cols, thrust_kernels::noisy_scale_f<T>{cols, x, eps, mu, sigma, y});
  }
  template <class T>
  static void noisy_scale_backward(index rows, index cols, const T* x, const T* eps, const T* mu, const T* sigma, const T* dy, T beta,
                                   T* dx, T* dmu, T* dsigma) {
    if (cols <= 0) return;
    if (dx) launch(rows * cols, thrust_kernels::noisy_scale_dx_f<T>{cols, eps, mu, sigma, dy, beta, dx});
    if (dmu || dsigma) launch(cols, thrust_kernels::noisy_scale_columns_f<T>{rows, cols, x, eps, dy, dmu, dsigma});
  }
  template <class T>
  static void random_normal(index n, std::uint64_t seed, std::uint64_t offset, T* y) {
    launch(n, thrust_kernels::normal_f<T>{seed, offset, y});
  }
  template <class T>
  static void dropout_mask(index n, double p, std::uint64_t seed, std::uint64_t offset, T* y) {
    launch(n, thrust_kernels::dropout_f<T>{p, static_cast<T>(1.0 / (1.0 - p)), seed, offset, y});
  }

  // ---- optimiser -------------------------------------------------------------------------
  template <class T>
  static void adamw(index n, T* param, const T* grad, T* m, T* v, double lr, double beta1, double beta2, double eps,
                    double weight_decay, double c1, double c2) {
    launch(n, thrust_kernels::adamw_f<T>{{lr, beta1, beta2, eps, weight_decay, c1, c2}, param, grad, m, v});
  }

 private:
  template <class F>
  static void launch(index n, const F& f) {
    if (n <= 0) return;
    thrust::for_each_n(System::policy(), thrust::counting_iterator<index>(0), n, f);
  }
  // Runs the system's hook for this op when it offers one (system_hooks.hpp); false otherwise.
  template <class Hook, class... A>
  static bool hooked(const A&... args) {
    if constexpr (hooks::offered<System, Hook, const A&...>) {
      System::run(Hook{}, args...);
      return true;
    } else {
      return false;
    }
  }
  // out[0] = alpha * sum of term(i) over [0, n) (add: out[0] += ...), without the sum leaving the
  // backend's memory: fixed chunks summed one per thread, then the chunk sums in order.
  template <class F, class T>
  static void sum_into(index n, const F& term, T alpha, bool add, T* out) {
    const index chunks = n < 1 ? 1 : (n < 1024 ? n : 1024);
    storage<double> partial = allocate<double>(chunks);
    launch(chunks, thrust_kernels::chunk_sum_f<F>{n, chunks, term, data(partial)});
    launch(1, thrust_kernels::store_sum_f<T>{chunks, data(partial), alpha, add, out});
  }
  template <class T>
  static void norm_backward(index rows, index cols, const T* x, const T* gamma, const T* mean, const T* rstd,
                            const T* dy, T* dx, T* dgamma, T* dbeta) {
    if (dx && !hooked<hooks::norm_backward_dx>(rows, cols, x, gamma, mean, rstd, dy, dx))
      launch(rows, thrust_kernels::norm_backward_f<T>{cols, x, gamma, mean, rstd, dy, dx});
    if (dgamma || dbeta) launch(cols, thrust_kernels::norm_param_grads_f<T>{rows, cols, x, mean, rstd, dy, dgamma, dbeta});
  }
};

#if defined(__CUDACC__)
// The GPU backend: thrust's CUDA system, cuBLAS and the fused kernels of tensor/cuda/.
using cuda = thrust_backend<thrust_cuda>;
#endif

}  // namespace vtrans
