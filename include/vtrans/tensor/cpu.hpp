#pragma once
// The CPU backend: xtensor storage, OpenBLAS GEMM, OpenMP loops.
//
// A backend is a type with static functions over raw pointers into its own storage; tensors,
// autodiff ops and models are written once against this set (see backend.hpp for the contract).
// Kernels whose name ends in _backward accumulate (+=) into their gradient outputs, and a null
// gradient pointer means "not needed".
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include <omp.h>

#include "vtrans/tensor/blas.hpp"
#include "vtrans/tensor/kernel_args.hpp"
#include "vtrans/tensor/math.hpp"
#include "vtrans/tensor/xtensor.hpp"

namespace vtrans {

struct cpu {
  static const char* name() { return "cpu"; }

  template <class T>
  using storage = xt::xtensor<T, 1>;

  // Loops shorter than this stay on one thread: forking costs more than it saves.
  static constexpr index parallel_grain = 16384;

  // ---- storage and host boundaries -------------------------------------------------------
  template <class T>
  static storage<T> allocate(index n) { return storage<T>::from_shape({static_cast<std::size_t>(n)}); }
  template <class T>
  static T* data(storage<T>& s) { return s.data(); }
  template <class T>
  static const T* data(const storage<T>& s) { return s.data(); }
  template <class T>
  static void upload(const T* host, index n, T* dst) { if (n) std::memcpy(dst, host, sizeof(T) * static_cast<std::size_t>(n)); }
  template <class T>
  static void download(const T* src, index n, T* host) { if (n) std::memcpy(host, src, sizeof(T) * static_cast<std::size_t>(n)); }
  static void synchronize() {}

  // ---- element-wise ----------------------------------------------------------------------
  template <class T>
  static void fill(index n, T value, T* y) {
#pragma omp parallel for schedule(static) if (n > parallel_grain)
    for (index i = 0; i < n; ++i) y[i] = value;
  }
  // y = alpha * x + beta * y (beta == 0 overwrites without reading y)
  template <class T>
  static void axpby(index n, T alpha, const T* x, T beta, T* y) {
    if (beta == T(0)) {
#pragma omp parallel for schedule(static) if (n > parallel_grain)
      for (index i = 0; i < n; ++i) y[i] = alpha * x[i];
    } else {
#pragma omp parallel for schedule(static) if (n > parallel_grain)
      for (index i = 0; i < n; ++i) y[i] = alpha * x[i] + beta * y[i];
    }
  }
  // y[r, :cols] = x[r, :cols] + beta * y[r, :cols], both with their own row strides.
  template <class T>
  static void copy_2d(index rows, index cols, const T* x, index ldx, T* y, index ldy, T beta) {
#pragma omp parallel for schedule(static) if (rows * cols > parallel_grain)
    for (index r = 0; r < rows; ++r) {
      const T* xr = x + r * ldx;
      T* yr = y + r * ldy;
      if (beta == T(0)) for (index c = 0; c < cols; ++c) yr[c] = xr[c];
      else for (index c = 0; c < cols; ++c) yr[c] = xr[c] + beta * yr[c];
    }
  }
  // y[a, c, b, d] = x[a, b, c, d] + beta * y[a, c, b, d]   (split/merge attention heads)
  template <class T>
  static void permute_0213(index d0, index d1, index d2, index d3, const T* x, T* y, T beta) {
#pragma omp parallel for collapse(2) schedule(static) if (d0 * d1 * d2 * d3 > parallel_grain)
    for (index a = 0; a < d0; ++a)
      for (index b = 0; b < d1; ++b)
        for (index c = 0; c < d2; ++c) {
          const T* xs = x + ((a * d1 + b) * d2 + c) * d3;
          T* ys = y + ((a * d2 + c) * d1 + b) * d3;
          if (beta == T(0)) for (index d = 0; d < d3; ++d) ys[d] = xs[d];
          else for (index d = 0; d < d3; ++d) ys[d] = xs[d] + beta * ys[d];
        }
  }
  template <class T>
  static void unary(math::unary_op op, index n, const T* x, T* y) {
#pragma omp parallel for schedule(static) if (n > parallel_grain / 4)
    for (index i = 0; i < n; ++i) y[i] = math::apply(op, x[i]);
  }
  // dx += dy * f'(x)
  template <class T>
  static void unary_backward(math::unary_op op, index n, const T* x, const T* y, const T* dy, T* dx) {
#pragma omp parallel for schedule(static) if (n > parallel_grain / 4)
    for (index i = 0; i < n; ++i) dx[i] += dy[i] * math::derivative(op, x[i], y[i]);
  }
  // y = a (op) broadcast(b), a and y of shape [rows, cols]
  template <class T>
  static void binary(math::binary_op op, index rows, index cols, const T* a, const T* b, broadcast mode, T* y) {
#pragma omp parallel for schedule(static) if (rows * cols > parallel_grain)
    for (index r = 0; r < rows; ++r)
      for (index c = 0; c < cols; ++c) {
        index i = r * cols + c;
        y[i] = math::apply(op, a[i], b[operand_index(mode, r, c, cols)]);
      }
  }
  // da[r, c] += alpha * dy[r, c] * broadcast(b)[r, c]   (b null: 1)
  template <class T>
  static void accumulate(index rows, index cols, T alpha, const T* dy, const T* b, broadcast mode, T* da) {
#pragma omp parallel for schedule(static) if (rows * cols > parallel_grain)
    for (index r = 0; r < rows; ++r)
      for (index c = 0; c < cols; ++c) {
        index i = r * cols + c;
        da[i] += alpha * dy[i] * (b ? b[operand_index(mode, r, c, cols)] : T(1));
      }
  }
  // db += alpha * (dy * a) summed down to the shape that `mode` broadcasts from   (a null: 1)
  template <class T>
  static void accumulate_reduced(index rows, index cols, T alpha, const T* dy, const T* a, broadcast mode, T* db) {
    auto term = [&](index i) { return dy[i] * (a ? a[i] : T(1)); };
    switch (mode) {
      case broadcast::none: accumulate(rows, cols, alpha, dy, a, broadcast::none, db); return;
      case broadcast::column:
#pragma omp parallel for schedule(static) if (rows * cols > parallel_grain)
        for (index r = 0; r < rows; ++r) {
          double s = 0;
          for (index c = 0; c < cols; ++c) s += term(r * cols + c);
          db[r] += alpha * static_cast<T>(s);
        }
        return;
      case broadcast::row: {
        // per-thread partial sums, combined in thread order so results do not depend on timing
        std::vector<std::vector<double>> parts(static_cast<std::size_t>(omp_get_max_threads()));
#pragma omp parallel if (rows * cols > parallel_grain)
        {
          auto& part = parts[static_cast<std::size_t>(omp_get_thread_num())];
          part.assign(static_cast<std::size_t>(cols), 0.0);
#pragma omp for schedule(static)
          for (index r = 0; r < rows; ++r)
            for (index c = 0; c < cols; ++c) part[static_cast<std::size_t>(c)] += term(r * cols + c);
        }
        for (index c = 0; c < cols; ++c) {
          double s = 0;
          for (auto& part : parts) if (!part.empty()) s += part[static_cast<std::size_t>(c)];
          db[c] += alpha * static_cast<T>(s);
        }
        return;
      }
      case broadcast::scalar:
        db[0] += alpha * static_cast<T>(ordered_sum(rows * cols, term));
        return;
    }
  }
  // out[0] = alpha * sum(x)   (result stays in backend memory)
  template <class T>
  static void reduce_sum(index n, const T* x, T alpha, T* out) {
    out[0] = alpha * static_cast<T>(dot_impl(n, x, static_cast<const T*>(nullptr)));
  }
  // Host value of sum(x * y) (y null: sum(x)), accumulated in double.
  template <class T>
  static double dot(index n, const T* x, const T* y) { return dot_impl(n, x, y); }
  // dx += scalar[0] * factor   (gradient of a sum or mean)
  template <class T>
  static void add_scalar(index n, const T* scalar, T factor, T* dx) {
    const T v = scalar[0] * factor;
#pragma omp parallel for schedule(static) if (n > parallel_grain)
    for (index i = 0; i < n; ++i) dx[i] += v;
  }

  // ---- matrix products -------------------------------------------------------------------
  template <class T>
  static void gemm(bool trans_a, bool trans_b, index m, index n, index k, T alpha, const T* a, index lda,
                   const T* b, index ldb, T beta, T* c, index ldc) {
    blas::gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  // batch independent products at fixed strides; small batches of large products use threaded
  // BLAS, otherwise one single-threaded product per OpenMP thread.
  template <class T>
  static void gemm_batched(bool trans_a, bool trans_b, index m, index n, index k, T alpha, const T* a, index lda,
                           index stride_a, const T* b, index ldb, index stride_b, T beta, T* c, index ldc,
                           index stride_c, index batch) {
    if (batch >= omp_get_max_threads() && batch > 1) {
#pragma omp parallel for schedule(dynamic)
      for (index i = 0; i < batch; ++i)
        blas::gemm(trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta,
                   c + i * stride_c, ldc);
    } else {
      for (index i = 0; i < batch; ++i)
        blas::gemm(trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta,
                   c + i * stride_c, ldc);
    }
  }

  // ---- softmax family (over the last axis of [rows, cols]) -------------------------------
  template <class T>
  static void softmax(index rows, index cols, const T* x, T* y) {
#pragma omp parallel for schedule(static) if (rows * cols > parallel_grain)
    for (index r = 0; r < rows; ++r) softmax_row(cols, x + r * cols, y + r * cols);
  }
  // dx += y * (dy - sum(dy * y))
  template <class T>
  static void softmax_backward(index rows, index cols, const T* y, const T* dy, T* dx) {
#pragma omp parallel for schedule(static) if (rows * cols > parallel_grain)
    for (index r = 0; r < rows; ++r) {
      const T* yr = y + r * cols; const T* gr = dy + r * cols; T* dr = dx + r * cols;
      double s = 0;
      for (index c = 0; c < cols; ++c) s += double(gr[c]) * yr[c];
      for (index c = 0; c < cols; ++c) dr[c] += yr[c] * (gr[c] - static_cast<T>(s));
    }
  }
  template <class T>
  static void log_softmax(index rows, index cols, const T* x, T* y) {
#pragma omp parallel for schedule(static) if (rows * cols > parallel_grain)
    for (index r = 0; r < rows; ++r) {
      const T* xr = x + r * cols; T* yr = y + r * cols;
      T mx = cols ? xr[0] : T(0);
      for (index c = 1; c < cols; ++c) mx = std::max(mx, xr[c]);
      double s = 0;
      for (index c = 0; c < cols; ++c) s += std::exp(double(xr[c] - mx));
      const T lse = mx + static_cast<T>(std::log(s));
      for (index c = 0; c < cols; ++c) yr[c] = xr[c] - lse;
    }
  }
  // dx += dy - exp(y) * sum(dy)
  template <class T>
  static void log_softmax_backward(index rows, index cols, const T* y, const T* dy, T* dx) {
#pragma omp parallel for schedule(static) if (rows * cols > parallel_grain)
    for (index r = 0; r < rows; ++r) {
      const T* yr = y + r * cols; const T* gr = dy + r * cols; T* dr = dx + r * cols;
      double s = 0;
      for (index c = 0; c < cols; ++c) s += gr[c];
      for (index c = 0; c < cols; ++c) dr[c] += gr[c] - std::exp(yr[c]) * static_cast<T>(s);
    }
  }
  // loss[r] = -logp[r, target[r]], or 0 where target[r] == ignore
  template <class T>
  static void nll(index rows, index cols, const T* logp, const std::int32_t* target, std::int32_t ignore, T* loss) {
#pragma omp parallel for schedule(static) if (rows > parallel_grain)
    for (index r = 0; r < rows; ++r) loss[r] = target[r] == ignore ? T(0) : -logp[r * cols + target[r]];
  }
  // dlogp[r, target[r]] -= scalar[0] * factor, where target[r] != ignore
  template <class T>
  static void nll_backward(index rows, index cols, const std::int32_t* target, std::int32_t ignore, const T* scalar,
                           T factor, T* dlogp) {
    const T v = scalar[0] * factor;
    for (index r = 0; r < rows; ++r)
      if (target[r] != ignore) dlogp[r * cols + target[r]] -= v;
  }

  // ---- normalisation ---------------------------------------------------------------------
  // y = (x - mean) * rstd * gamma + beta per row; gamma/beta may be null; saves mean and rstd.
  template <class T>
  static void layer_norm(index rows, index cols, const T* x, const T* gamma, const T* beta, double eps, T* y,
                         T* mean, T* rstd) {
#pragma omp parallel for schedule(static) if (rows * cols > parallel_grain)
    for (index r = 0; r < rows; ++r) {
      const T* xr = x + r * cols; T* yr = y + r * cols;
      double s = 0, ss = 0;
      for (index c = 0; c < cols; ++c) s += xr[c];
      const double mu = s / double(cols);
      for (index c = 0; c < cols; ++c) { double d = xr[c] - mu; ss += d * d; }
      const double rs = 1.0 / std::sqrt(ss / double(cols) + eps);
      mean[r] = static_cast<T>(mu); rstd[r] = static_cast<T>(rs);
      const T m = static_cast<T>(mu), q = static_cast<T>(rs);
      for (index c = 0; c < cols; ++c) {
        T v = (xr[c] - m) * q;
        yr[c] = v * (gamma ? gamma[c] : T(1)) + (beta ? beta[c] : T(0));
      }
    }
  }
  template <class T>
  static void layer_norm_backward(index rows, index cols, const T* x, const T* gamma, const T* mean, const T* rstd,
                                  const T* dy, T* dx, T* dgamma, T* dbeta) {
    norm_backward(rows, cols, x, gamma, mean, rstd, dy, dx, dgamma, dbeta);
  }
  // y = x * rstd * gamma with rstd = 1 / sqrt(mean(x^2) + eps); saves rstd.
  template <class T>
  static void rms_norm(index rows, index cols, const T* x, const T* gamma, double eps, T* y, T* rstd) {
#pragma omp parallel for schedule(static) if (rows * cols > parallel_grain)
    for (index r = 0; r < rows; ++r) {
      const T* xr = x + r * cols; T* yr = y + r * cols;
      double ss = 0;
      for (index c = 0; c < cols; ++c) ss += double(xr[c]) * xr[c];
      const T q = static_cast<T>(1.0 / std::sqrt(ss / double(cols) + eps));
      rstd[r] = q;
      for (index c = 0; c < cols; ++c) yr[c] = xr[c] * q * (gamma ? gamma[c] : T(1));
    }
  }
  template <class T>
  static void rms_norm_backward(index rows, index cols, const T* x, const T* gamma, const T* rstd, const T* dy,
                                T* dx, T* dgamma) {
    norm_backward(rows, cols, x, gamma, static_cast<const T*>(nullptr), rstd, dy, dx, dgamma, static_cast<T*>(nullptr));
  }

  // ---- embeddings --------------------------------------------------------------------------
  template <class T>
  static void gather_rows(index n, index cols, const T* table, const std::int32_t* ids, T* y) {
#pragma omp parallel for schedule(static) if (n * cols > parallel_grain)
    for (index i = 0; i < n; ++i) std::memcpy(y + i * cols, table + index(ids[i]) * cols, sizeof(T) * std::size_t(cols));
  }
  // dtable[ids[i], :] += dy[i, :]; threads split the columns so repeated ids never race.
  template <class T>
  static void scatter_add_rows(index n, index cols, const T* dy, const std::int32_t* ids, T* dtable) {
#pragma omp parallel if (n * cols > parallel_grain)
    {
      const index nt = omp_get_num_threads(), t = omp_get_thread_num();
      const index c0 = cols * t / nt, c1 = cols * (t + 1) / nt;
      for (index i = 0; i < n; ++i) {
        T* dst = dtable + index(ids[i]) * cols; const T* src = dy + i * cols;
        for (index c = c0; c < c1; ++c) dst[c] += src[c];
      }
    }
  }

  // ---- attention -------------------------------------------------------------------------
  // out = softmax(scale * q k^T + masks) v per (batch, head), without copying heads apart.
  // key_mask [batch, k_len] (null: all keys valid) zeroes padded keys; probs [batch, heads,
  // q_len, k_len] is kept for the backward pass and for attention probing.
  template <class T>
  static void attention_forward(const attention_dims& d, const T* q, const T* k, const T* v,
                                const std::int32_t* key_mask, T* probs, T* out) {
    const index pairs = d.batch * d.heads, D = d.head_dim;
#pragma omp parallel for schedule(dynamic)
    for (index p = 0; p < pairs; ++p) {
      const index b = p / d.heads, h = p % d.heads, g = h / d.group();
      const T* qh = q + b * d.q_len * d.ldq + h * D;
      const T* kg = k + b * d.k_len * d.ldk + g * D;
      const T* vg = v + b * d.k_len * d.ldv + g * D;
      T* P = probs + p * d.q_len * d.k_len;
      blas::gemm(false, true, d.q_len, d.k_len, D, static_cast<T>(d.scale), qh, d.ldq, kg, d.ldk, T(0), P, d.k_len);
      mask_and_softmax(d, key_mask ? key_mask + b * d.k_len : nullptr, P);
      blas::gemm(false, false, d.q_len, D, d.k_len, T(1), P, d.k_len, vg, d.ldv, T(0), out + b * d.q_len * d.ldo + h * D, d.ldo);
    }
  }
  // dq, dk, dv accumulate; threads own one (batch, kv head) each so GQA groups never race.
  template <class T>
  static void attention_backward(const attention_dims& d, const T* q, const T* k, const T* v, const T* probs,
                                 const T* dout, T* dq, T* dk, T* dv) {
    const index pairs = d.batch * d.kv_heads, D = d.head_dim, G = d.group();
#pragma omp parallel
    {
      std::vector<T> dP(static_cast<std::size_t>(d.q_len * d.k_len));
#pragma omp for schedule(dynamic)
      for (index p = 0; p < pairs; ++p) {
        const index b = p / d.kv_heads, g = p % d.kv_heads;
        const T* kg = k + b * d.k_len * d.ldk + g * D;
        const T* vg = v + b * d.k_len * d.ldv + g * D;
        for (index h = g * G; h < (g + 1) * G; ++h) {
          const T* P = probs + (b * d.heads + h) * d.q_len * d.k_len;
          const T* qh = q + b * d.q_len * d.ldq + h * D;
          const T* gh = dout + b * d.q_len * d.ldo + h * D;
          if (dv) blas::gemm(true, false, d.k_len, D, d.q_len, T(1), P, d.k_len, gh, d.ldo, T(1), dv + b * d.k_len * d.ldv + g * D, d.ldv);
          if (!dq && !dk) continue;
          blas::gemm(false, true, d.q_len, d.k_len, D, T(1), gh, d.ldo, vg, d.ldv, T(0), dP.data(), d.k_len);
          for (index i = 0; i < d.q_len; ++i) {  // dS = P * (dP - rowsum(dP * P)) * scale
            const T* pr = P + i * d.k_len; T* gr = dP.data() + i * d.k_len;
            double s = 0;
            for (index j = 0; j < d.k_len; ++j) s += double(gr[j]) * pr[j];
            for (index j = 0; j < d.k_len; ++j) gr[j] = pr[j] * (gr[j] - static_cast<T>(s)) * static_cast<T>(d.scale);
          }
          if (dq) blas::gemm(false, false, d.q_len, D, d.k_len, T(1), dP.data(), d.k_len, kg, d.ldk, T(1), dq + b * d.q_len * d.ldq + h * D, d.ldq);
          if (dk) blas::gemm(true, false, d.k_len, D, d.q_len, T(1), dP.data(), d.k_len, qh, d.ldq, T(1), dk + b * d.k_len * d.ldk + g * D, d.ldk);
        }
      }
    }
  }

  // ---- rotary positions --------------------------------------------------------------------
  // y = R(pos) x (inverse: R(-pos) x, the backward pass), plus beta * y.
  template <class T>
  static void rope(const rope_dims& d, const T* x, const std::int32_t* positions, bool inverse, T beta, T* y) {
    const index half = d.rotary_dim / 2;
#pragma omp parallel for schedule(static) if (d.rows * d.heads * d.head_dim > parallel_grain)
    for (index r = 0; r < d.rows; ++r)
      for (index h = 0; h < d.heads; ++h) {
        const T* xh = x + r * d.ldx + h * d.head_dim;
        T* yh = y + r * d.ldy + h * d.head_dim;
        for (index i = 0; i < half; ++i) {
          double c, s;
          rope_angle(d, positions[r], i, c, s);
          if (inverse) s = -s;
          const T x0 = xh[i], x1 = xh[i + half];
          const T y0 = static_cast<T>(x0 * c - x1 * s), y1 = static_cast<T>(x1 * c + x0 * s);
          yh[i] = y0 + (beta == T(0) ? T(0) : beta * yh[i]);
          yh[i + half] = y1 + (beta == T(0) ? T(0) : beta * yh[i + half]);
        }
        for (index i = d.rotary_dim; i < d.head_dim; ++i) yh[i] = xh[i] + (beta == T(0) ? T(0) : beta * yh[i]);
      }
  }

  // ---- random numbers (counter-based: same numbers on every backend) -------------------
  template <class T>
  static void random_uniform(index n, std::uint64_t seed, std::uint64_t offset, T* y) {
#pragma omp parallel for schedule(static) if (n > parallel_grain)
    for (index i = 0; i < n; ++i) y[i] = static_cast<T>(math::uniform(seed, offset + std::uint64_t(i)));
  }
  template <class T>
  static void random_normal(index n, std::uint64_t seed, std::uint64_t offset, T* y) {
#pragma omp parallel for schedule(static) if (n > parallel_grain / 8)
    for (index i = 0; i < n; ++i) y[i] = static_cast<T>(math::normal(seed, offset + std::uint64_t(i)));
  }
  // y = 1[u >= p] / (1 - p): the scaled keep mask of inverted dropout
  template <class T>
  static void dropout_mask(index n, double p, std::uint64_t seed, std::uint64_t offset, T* y) {
    const T keep = static_cast<T>(1.0 / (1.0 - p));
#pragma omp parallel for schedule(static) if (n > parallel_grain)
    for (index i = 0; i < n; ++i) y[i] = math::uniform(seed, offset + std::uint64_t(i)) >= p ? keep : T(0);
  }

  // ---- optimiser -------------------------------------------------------------------------
  // One AdamW step (decoupled weight decay): m, v moments; bias corrections c1 = 1 - beta1^t, c2 = 1 - beta2^t.
  template <class T>
  static void adamw(index n, T* param, const T* grad, T* m, T* v, double lr, double beta1, double beta2, double eps,
                    double weight_decay, double c1, double c2) {
#pragma omp parallel for schedule(static) if (n > parallel_grain)
    for (index i = 0; i < n; ++i) {
      const double g = grad[i];
      const double mi = beta1 * m[i] + (1 - beta1) * g, vi = beta2 * v[i] + (1 - beta2) * g * g;
      m[i] = static_cast<T>(mi); v[i] = static_cast<T>(vi);
      const double update = (mi / c1) / (std::sqrt(vi / c2) + eps) + weight_decay * param[i];
      param[i] = static_cast<T>(param[i] - lr * update);
    }
  }

 private:
  static index operand_index(broadcast mode, index r, index c, index cols) {
    switch (mode) {
      case broadcast::none: return r * cols + c;
      case broadcast::row: return c;
      case broadcast::column: return r;
      case broadcast::scalar: return 0;
    }
    return 0;
  }
  // Sum of f(i) in double, with per-thread partials added in thread order: the same bits on
  // every run with the same thread count (OpenMP's reduction clause leaves the order open).
  template <class F>
  static double ordered_sum(index n, F f) {
    std::vector<double> parts(static_cast<std::size_t>(omp_get_max_threads()), 0.0);
#pragma omp parallel if (n > parallel_grain)
    {
      double s = 0;
#pragma omp for schedule(static)
      for (index i = 0; i < n; ++i) s += f(i);
      parts[static_cast<std::size_t>(omp_get_thread_num())] = s;
    }
    double total = 0;
    for (double p : parts) total += p;
    return total;
  }
  template <class T>
  static double dot_impl(index n, const T* x, const T* y) {
    return ordered_sum(n, [&](index i) { return double(x[i]) * (y ? double(y[i]) : 1.0); });
  }
  template <class T>
  static void softmax_row(index cols, const T* x, T* y) {
    T mx = cols ? x[0] : T(0);
    for (index c = 1; c < cols; ++c) mx = std::max(mx, x[c]);
    double s = 0;
    for (index c = 0; c < cols; ++c) { y[c] = std::exp(x[c] - mx); s += y[c]; }
    const T inv = static_cast<T>(1.0 / s);
    for (index c = 0; c < cols; ++c) y[c] *= inv;
  }
  // Softmax over the keys each query may see; masked entries become exactly 0. A query with no
  // visible key gets all zeros (instead of NaN).
  template <class T>
  static void mask_and_softmax(const attention_dims& d, const std::int32_t* key_mask, T* P) {
    const index shift = d.k_len - d.q_len;
    for (index i = 0; i < d.q_len; ++i) {
      T* row = P + i * d.k_len;
      const index visible = d.causal ? std::min(d.k_len, std::max<index>(0, i + shift + 1)) : d.k_len;
      T mx = -std::numeric_limits<T>::infinity();
      for (index j = 0; j < visible; ++j)
        if (!key_mask || key_mask[j]) mx = std::max(mx, row[j]);
      double s = 0;
      for (index j = 0; j < d.k_len; ++j) {
        const bool on = j < visible && (!key_mask || key_mask[j]);
        row[j] = on ? std::exp(row[j] - mx) : T(0);
        s += row[j];
      }
      const T inv = s > 0 ? static_cast<T>(1.0 / s) : T(0);
      for (index j = 0; j < d.k_len; ++j) row[j] *= inv;
    }
  }
  static void rope_angle(const rope_dims& d, std::int32_t pos, index i, double& c, double& s) {
    const double inv_freq = std::pow(d.theta, -2.0 * double(i) / double(d.rotary_dim));
    const double a = double(pos) * inv_freq;
    c = std::cos(a); s = std::sin(a);
  }
  // Shared backward of layer norm (mean given) and RMS norm (mean null):
  // xhat = (x - mean) * rstd, g = dy * gamma,
  // dx += rstd * (g - [mean(g)] - xhat * mean(g * xhat)), dgamma += sum(dy * xhat), dbeta += sum(dy).
  template <class T>
  static void norm_backward(index rows, index cols, const T* x, const T* gamma, const T* mean, const T* rstd,
                            const T* dy, T* dx, T* dgamma, T* dbeta) {
    const std::size_t ng = dgamma ? std::size_t(cols) : 0, nb = dbeta ? std::size_t(cols) : 0;
    std::vector<std::vector<double>> parts_g(static_cast<std::size_t>(omp_get_max_threads()));
    std::vector<std::vector<double>> parts_b(parts_g.size());
#pragma omp parallel if (rows * cols > parallel_grain)
    {
      auto& pg = parts_g[std::size_t(omp_get_thread_num())];
      auto& pb = parts_b[std::size_t(omp_get_thread_num())];
      pg.assign(ng, 0.0); pb.assign(nb, 0.0);
#pragma omp for schedule(static)
      for (index r = 0; r < rows; ++r) {
        const T* xr = x + r * cols; const T* gr = dy + r * cols;
        const double m = mean ? double(mean[r]) : 0.0, q = rstd[r];
        double sg = 0, sgx = 0;
        for (index c = 0; c < cols; ++c) {
          const double xh = (xr[c] - m) * q, g = double(gr[c]) * (gamma ? gamma[c] : T(1));
          sg += g; sgx += g * xh;
          if (dgamma) pg[std::size_t(c)] += double(gr[c]) * xh;
          if (dbeta) pb[std::size_t(c)] += gr[c];
        }
        if (dx) {
          const double mg = mean ? sg / double(cols) : 0.0, mgx = sgx / double(cols);
          T* dr = dx + r * cols;
          for (index c = 0; c < cols; ++c) {
            const double xh = (xr[c] - m) * q, g = double(gr[c]) * (gamma ? gamma[c] : T(1));
            dr[c] += static_cast<T>(q * (g - mg - xh * mgx));
          }
        }
      }
    }
    // combine in thread order: deterministic for a given thread count
    for (std::size_t c = 0; c < ng; ++c) {
      double s = 0;
      for (auto& p : parts_g) if (!p.empty()) s += p[c];
      dgamma[c] += static_cast<T>(s);
    }
    for (std::size_t c = 0; c < nb; ++c) {
      double s = 0;
      for (auto& p : parts_b) if (!p.empty()) s += p[c];
      dbeta[c] += static_cast<T>(s);
    }
  }
};

}  // namespace vtrans
