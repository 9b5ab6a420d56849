#pragma once
// Matrix products: linear (Y = X W^T + b, W stored [out, in] like torch.nn.Linear), matmul and
// batched matmul with optional transposes.
#include "vtrans/autodiff/ops_elementwise.hpp"
#include "vtrans/autodiff/tape.hpp"

namespace vtrans::autodiff {

// x [..., in], weight [out, in], bias [out] or undefined  ->  [..., out]
template <class T, class B>
var<T, B> linear(const var<T, B>& x, const var<T, B>& weight, const var<T, B>& bias = {}) {
  const index in = x.shape().cols(), rows = x.shape().rows();
  require(weight.shape().rank() == 2 && weight.shape()[1] == in, "linear",
          "input " + x.shape().str() + " does not match weight " + weight.shape().str() + " (expected [out, " + std::to_string(in) + "])");
  const index out_features = weight.shape()[0];
  require(!bias.defined() || (bias.shape().rank() == 1 && bias.shape()[0] == out_features), "linear",
          "bias " + (bias.defined() ? bias.shape().str() : std::string()) + " does not match weight " + weight.shape().str());
  tensor<T, B> y(x.shape().with_last(out_features));
  T beta = T(0);
  if (bias.defined()) {  // start from the bias rows, then accumulate the product on top
    B::copy_2d(rows, out_features, bias.value().data(), 0, y.data(), out_features, T(0));
    beta = T(1);
  }
  B::gemm(false, true, rows, out_features, in, T(1), x.value().data(), in, weight.value().data(), in, beta, y.data(), out_features);
  return record(std::move(y), {&x, &weight, &bias}, [x, weight, bias, rows, in, out_features](const tensor<T, B>& g) {
    // the first write of a pass overwrites (beta 0) instead of accumulating into zeros; with an
    // empty inner dimension the product adds nothing, so keep the zero-filled buffer then
    T beta;
    if (x.requires_grad()) {
      T* dx = out_features > 0 ? detail::grad_for_write(x, beta) : (beta = T(1), x.grad_buffer().data());
      B::gemm(false, false, rows, in, out_features, T(1), g.data(), out_features, weight.value().data(), in, beta, dx, in);
    }
    if (weight.requires_grad()) {
      T* dw = rows > 0 ? detail::grad_for_write(weight, beta) : (beta = T(1), weight.grad_buffer().data());
      B::gemm(true, false, out_features, in, rows, T(1), g.data(), out_features, x.value().data(), in, beta, dw, in);
    }
    if (bias.requires_grad())
      B::accumulate_reduced(rows, out_features, T(1), g.data(), static_cast<const T*>(nullptr), broadcast::row, bias.grad_buffer().data());
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
  return record(std::move(c), {&a, &b}, [a, b, ta, tb, d, sa, sb, sc](const tensor<T, B>& g) {
    // C = op(A) op(B):  d op(A) = dC op(B)^T,  d op(B) = op(A)^T dC
    if (a.requires_grad()) {
      T* da = a.grad_buffer().data();
      if (!ta) B::gemm_batched(false, !tb, d.m, d.k, d.n, T(1), g.data(), d.n, sc, b.value().data(), d.ldb, sb, T(1), da, d.lda, sa, d.batch);
      else B::gemm_batched(tb, true, d.k, d.m, d.n, T(1), b.value().data(), d.ldb, sb, g.data(), d.n, sc, T(1), da, d.lda, sa, d.batch);
    }
    if (b.requires_grad()) {
      T* db = b.grad_buffer().data();
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
