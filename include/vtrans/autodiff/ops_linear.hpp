#pragma once
// Matrix products: linear (Y = X W^T + b, W stored [out, in] like torch.nn.Linear; W a trained
// param or a frozen 16-bit weight), matmul and batched matmul with optional transposes.
#include <algorithm>
#include <type_traits>

#include "vtrans/autodiff/frozen.hpp"
#include "vtrans/autodiff/ops_elementwise.hpp"
#include "vtrans/autodiff/tape.hpp"

namespace vtrans::autodiff {

namespace detail {
// Checks x [..., in] against a weight of shape [out, in] and a bias [out] (or none); returns out.
template <class T, class B>
index check_linear(const var<T, B>& x, const shape& weight, const var<T, B>& bias) {
  const index in = x.shape().cols();
  require(weight.rank() == 2 && weight[1] == in, "linear",
          "input " + x.shape().str() + " does not match weight " + weight.str() + " (expected [out, " + std::to_string(in) + "])");
  require(!bias.defined() || (bias.shape().rank() == 1 && bias.shape()[0] == weight[0]), "linear",
          "bias " + (bias.defined() ? bias.shape().str() : std::string()) + " does not match weight " + weight.str());
  return weight[0];
}
// Fills y [rows, out] with the bias rows and returns the beta that accumulates the product on top
// (1), or returns 0 without a bias.
template <class T, class B>
T start_from_bias(const var<T, B>& bias, index rows, index out, T* y) {
  if (!bias.defined()) return T(0);
  B::copy_2d(rows, out, bias.value().data(), 0, y, out, T(0));
  return T(1);
}
template <class T, class B>
void bias_backward(const grad_ref<T, B>& bias, const tensor<T, B>& g, index rows, index out) {
  if (bias.requires_grad())
    B::accumulate_reduced(rows, out, T(1), g.data(), static_cast<const T*>(nullptr), broadcast::row, bias.buffer().data());
}
// The gradient buffer for a product that overwrites on the first write of a pass (beta 0); with
// an empty inner dimension the product adds nothing, so the zero-filled buffer is kept then.
template <class T, class B>
T* grad_for_product(const grad_ref<T, B>& x, index inner, T& beta) {
  if (inner > 0) return x.for_write(beta);
  beta = T(1);
  return x.buffer().data();
}
}  // namespace detail

// x [..., in], weight [out, in], bias [out] or undefined  ->  [..., out]
template <class T, class B>
var<T, B> linear(const var<T, B>& x, const var<T, B>& weight, const var<T, B>& bias = {}) {
  const index in = x.shape().cols(), rows = x.shape().rows();
  const index out_features = detail::check_linear(x, weight.shape(), bias);
  tensor<T, B> y(x.shape().with_last(out_features));
  const T beta = detail::start_from_bias(bias, rows, out_features, y.data());
  B::gemm(false, true, rows, out_features, in, T(1), x.value().data(), in, weight.value().data(), in, beta, y.data(), out_features);
  // dx reads the weight, dW reads x: a frozen weight's input (Faster-VTrans) is not kept
  const bool need_dx = x.requires_grad(), need_dw = weight.requires_grad();
  const var<T, B> x_value = need_dw ? x : var<T, B>(), w_value = need_dx ? weight : var<T, B>();
  return record(std::move(y), {&x, &weight, &bias}, [gx = x.grad_handle(), gw = weight.grad_handle(), gb = bias.grad_handle(), x_value, w_value,
                                                      need_dx, need_dw, rows, in, out_features](const tensor<T, B>& g) {
    T beta;
    if (need_dx && gx.requires_grad()) {
      T* dx = detail::grad_for_product(gx, out_features, beta);
      B::gemm(false, false, rows, in, out_features, T(1), g.data(), out_features, w_value.value().data(), in, beta, dx, in);
    }
    if (need_dw && gw.requires_grad()) {
      T* dw = detail::grad_for_product(gw, rows, beta);
      B::gemm(true, false, out_features, in, rows, T(1), g.data(), out_features, x_value.value().data(), in, beta, dw, in);
    }
    detail::bias_backward(gb, g, rows, out_features);
  });
}

namespace detail {
// A frozen 16-bit weight is widened a panel of rows at a time, at most this many elements per
// panel (16 MiB of float: the whole weight for BERT-base, a tenth of a LLaMA-7B FFN matrix), so
// that only one panel's fp32 copy exists at a time. Fewer, larger panels keep the backward
// product's inner dimension long; bench_linear16 measures the trade (--panel).
inline index widen_panel_elements = index(1) << 22;

// For each panel of rows [o0, o0 + n) of a 16-bit weight [out, in]: widen it into scratch and
// call f(o0, n, widened panel).
template <class T, class B, class H, class F>
void for_each_widened_panel(const tensor<H, B>& w, F f) {
  const index out = w.shape()[0], in = w.shape()[1];
  const index panel = std::max<index>(1, std::min<index>(out, widen_panel_elements / std::max<index>(1, in)));
  tensor<T, B> scratch(shape{panel, in});  // from the backend's allocator: the same block every call
  for (index o0 = 0; o0 < out; o0 += panel) {
    const index n = std::min(panel, out - o0);
    B::widen(n * in, w.data() + o0 * in, scratch.data());
    f(o0, n, static_cast<const T*>(scratch.data()));
  }
}

// Whether backend B may multiply a frozen 16-bit matrix in its own type (B::gemm16: the CUDA
// system, when switched on); other backends always widen.
template <class B, class T, class H, class = void>
struct has_gemm16 : std::false_type {};
template <class B, class T, class H>
struct has_gemm16<B, T, H, std::void_t<decltype(B::template gemm16<T, H>(false, false, index{}, index{}, index{}, (const T*)nullptr, index{},
                                                                          (const H*)nullptr, index{}, T{}, (T*)nullptr, index{}))>>
    : std::true_type {};
template <class T, class B, class H>
bool gemm16(bool ta, bool tb, index m, index n, index k, const T* a, index lda, const H* b, index ldb, T beta, T* c, index ldc) {
  if constexpr (has_gemm16<B, T, H>::value) return B::gemm16(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
  else return false;
}
}  // namespace detail

// x [..., in] times a frozen 16-bit weight [out, in] (+ bias [out]) -> [..., out], computed in T.
// The weight is widened panel by panel for the forward product and again for dx in the backward
// pass (or, where the backend multiplies 16-bit operands and is told to, x and dy are rounded to
// the weight's type instead); no gradient reaches it and no widened copy outlives the op.
template <class T, class B, class H>
var<T, B> linear(const var<T, B>& x, const frozen<H, B>& weight, const var<T, B>& bias = {}) {
  const index in = x.shape().cols(), rows = x.shape().rows();
  const index out_features = detail::check_linear(x, weight.shape(), bias);
  tensor<T, B> y(x.shape().with_last(out_features));
  const T beta = detail::start_from_bias(bias, rows, out_features, y.data());
  const T* xv = x.value().data();
  T* yv = y.data();
  const H* wv = weight.value().data();
  if (!detail::gemm16<T, B>(false, true, rows, out_features, in, xv, in, wv, in, beta, yv, out_features))
    detail::for_each_widened_panel<T>(weight.value(), [&](index o0, index n, const T* w) {
      B::gemm(false, true, rows, n, in, T(1), xv, in, w, in, beta, yv + o0, out_features);
    });
  return record(std::move(y), {&x, &bias}, [gx = x.grad_handle(), gb = bias.grad_handle(), weight, rows, in, out_features](const tensor<T, B>& g) {
    if (gx.requires_grad()) {
      T beta;
      T* dx = detail::grad_for_product(gx, out_features, beta);
      if (!detail::gemm16<T, B>(false, false, rows, in, out_features, g.data(), out_features, weight.value().data(), in, beta, dx, in))
        detail::for_each_widened_panel<T>(weight.value(), [&](index o0, index n, const T* w) {
          B::gemm(false, false, rows, in, n, T(1), g.data() + o0, out_features, w, in, o0 == 0 ? beta : T(1), dx, in);
        });
    }
    detail::bias_backward(gb, g, rows, out_features);
  });
}

namespace detail {
struct matmul_dims { index batch, m, n, k, lda, ldb; };

template <class T, class B>
matmul_dims check_matmul(const char* op, const var<T, B>& a, const var<T, B>& b, bool ta, bool tb, int rank) {
  require(a.shape().rank() == rank && b.shape().rank() == rank, op,
          "expects rank-" + std::to_string(rank) + " operands, got " + a.shape().str() + " and " + b.shape().str());
  const int r = rank - 2;
  const index batch = rank == 3 ? a.shape()[0] : 1;
  if (rank == 3 && b.shape()[0] != batch) throw shape_mismatch(op, "batch sizes differ", a.shape(), b.shape());
  const index am = a.shape()[r], ak = a.shape()[r + 1], bk = b.shape()[r], bn = b.shape()[r + 1];
  const index m = ta ? ak : am, k = ta ? am : ak, k2 = tb ? bn : bk, n = tb ? bk : bn;
  if (k != k2) throw shape_mismatch(op, "inner dimensions differ (" + std::to_string(k) + " vs " + std::to_string(k2) + ")", a.shape(), b.shape());
  return {batch, m, n, k, ak, bn};
}

template <class T, class B>
var<T, B> matmul_impl(const char* op, const var<T, B>& a, const var<T, B>& b, bool ta, bool tb, int rank) {
  const matmul_dims d = check_matmul(op, a, b, ta, tb, rank);
  const index sa = a.numel() / d.batch, sb = b.numel() / d.batch, sc = d.m * d.n;
  tensor<T, B> c(rank == 3 ? shape{d.batch, d.m, d.n} : shape{d.m, d.n});
  B::gemm_batched(ta, tb, d.m, d.n, d.k, T(1), a.value().data(), d.lda, sa, b.value().data(), d.ldb, sb, T(0), c.data(), d.n, sc, d.batch);
  const bool need_da = a.requires_grad(), need_db = b.requires_grad();
  const var<T, B> a_value = need_db ? a : var<T, B>(), b_value = need_da ? b : var<T, B>();
  return record(std::move(c), {&a, &b}, [ga = a.grad_handle(), gb = b.grad_handle(), a_value, b_value, need_da, need_db, ta, tb, d, sa, sb,
                                         sc](const tensor<T, B>& g) {
    // C = op(A) op(B):  d op(A) = dC op(B)^T,  d op(B) = op(A)^T dC
    const var<T, B>& a = a_value;
    const var<T, B>& b = b_value;
    if (need_da && ga.requires_grad()) {
      T* da = ga.buffer().data();
      if (!ta) B::gemm_batched(false, !tb, d.m, d.k, d.n, T(1), g.data(), d.n, sc, b.value().data(), d.ldb, sb, T(1), da, d.lda, sa, d.batch);
      else B::gemm_batched(tb, true, d.k, d.m, d.n, T(1), b.value().data(), d.ldb, sb, g.data(), d.n, sc, T(1), da, d.lda, sa, d.batch);
    }
    if (need_db && gb.requires_grad()) {
      T* db = gb.buffer().data();
      if (!tb) B::gemm_batched(!ta, false, d.k, d.n, d.m, T(1), a.value().data(), d.lda, sa, g.data(), d.n, sc, T(1), db, d.ldb, sb, d.batch);
      else B::gemm_batched(true, ta, d.n, d.k, d.m, T(1), g.data(), d.n, sc, a.value().data(), d.lda, sa, T(1), db, d.ldb, sb, d.batch);
    }
  });
}
}  // namespace detail

// [m, k] x [k, n] -> [m, n]  (op(a), op(b) with the transpose flags)
template <class T, class B>
var<T, B> matmul(const var<T, B>& a, const var<T, B>& b, bool trans_a = false, bool trans_b = false) {
  return detail::matmul_impl("matmul", a, b, trans_a, trans_b, 2);
}
// [batch, m, k] x [batch, k, n] -> [batch, m, n]
template <class T, class B>
var<T, B> batched_matmul(const var<T, B>& a, const var<T, B>& b, bool trans_a = false, bool trans_b = false) {
  return detail::matmul_impl("batched_matmul", a, b, trans_a, trans_b, 3);
}

}  // namespace vtrans::autodiff
