#pragma once
// Moving values around: reshape, column slices, splitting/merging attention heads, and repeating
// key/value heads for grouped-query attention.
#include "vtrans/autodiff/tape.hpp"

namespace vtrans::autodiff {

template <class T, class B>
var<T, B> reshape(const var<T, B>& x, const shape& s) {
  require(s.numel() == x.numel(), "reshape", "cannot view " + x.shape().str() + " as " + s.str());
  tensor<T, B> y = x.value().clone();
  y.reshape(s);
  return record(std::move(y), {&x}, [gx = x.grad_handle()](const tensor<T, B>& g) {
    B::axpby(gx.numel(), T(1), g.data(), T(1), gx.buffer().data());
  });
}

// x[..., begin : begin + count] (e.g. the Q, K, V thirds of a fused projection)
template <class T, class B>
var<T, B> columns(const var<T, B>& x, index begin, index count) {
  const index cols = x.shape().cols(), rows = x.shape().rows();
  require(begin >= 0 && count >= 0 && begin + count <= cols, "columns",
          "range [" + std::to_string(begin) + ", " + std::to_string(begin + count) + ") outside " + x.shape().str());
  tensor<T, B> y(x.shape().with_last(count));
  B::copy_2d(rows, count, x.value().data() + begin, cols, y.data(), count, T(0));
  return record(std::move(y), {&x}, [gx = x.grad_handle(), begin, count, rows, cols](const tensor<T, B>& g) {
    B::copy_2d(rows, count, g.data(), count, gx.buffer().data() + begin, cols, T(1));
  });
}

// [batch, seq, heads * head_dim] -> [batch, heads, seq, head_dim]
template <class T, class B>
var<T, B> split_heads(const var<T, B>& x, index heads) {
  const shape& s = x.shape();
  require(s.rank() == 3 && heads > 0 && s[2] % heads == 0, "split_heads",
          "expects [batch, seq, heads * head_dim] with " + std::to_string(heads) + " heads, got " + s.str());
  const index b = s[0], n = s[1], d = s[2] / heads;
  tensor<T, B> y(shape{b, heads, n, d});
  B::permute_0213(b, n, heads, d, x.value().data(), y.data(), T(0));
  return record(std::move(y), {&x}, [gx = x.grad_handle(), b, n, heads, d](const tensor<T, B>& g) {
    B::permute_0213(b, heads, n, d, g.data(), gx.buffer().data(), T(1));
  });
}
// [batch, heads, seq, head_dim] -> [batch, seq, heads * head_dim]
template <class T, class B>
var<T, B> merge_heads(const var<T, B>& x) {
  const shape& s = x.shape();
  require(s.rank() == 4, "merge_heads", "expects [batch, heads, seq, head_dim], got " + s.str());
  const index b = s[0], h = s[1], n = s[2], d = s[3];
  tensor<T, B> y(shape{b, n, h * d});
  B::permute_0213(b, h, n, d, x.value().data(), y.data(), T(0));
  return record(std::move(y), {&x}, [gx = x.grad_handle(), b, n, h, d](const tensor<T, B>& g) {
    B::permute_0213(b, n, h, d, g.data(), gx.buffer().data(), T(1));
  });
}

// [..., kv_heads * head_dim] -> [..., kv_heads * groups * head_dim]: query head h reads key/value
// head h / groups. (The fused attention reads shared heads in place; this op is for code that
// needs the heads materialised.)
template <class T, class B>
var<T, B> repeat_kv(const var<T, B>& x, index kv_heads, index groups) {
  const index cols = x.shape().cols(), rows = x.shape().rows();
  require(kv_heads > 0 && groups > 0 && cols % kv_heads == 0, "repeat_kv",
          x.shape().str() + " is not a multiple of " + std::to_string(kv_heads) + " heads");
  const index d = cols / kv_heads, out_cols = cols * groups;
  tensor<T, B> y(x.shape().with_last(out_cols));
  for (index h = 0; h < kv_heads * groups; ++h)
    B::copy_2d(rows, d, x.value().data() + (h / groups) * d, cols, y.data() + h * d, out_cols, T(0));
  return record(std::move(y), {&x}, [gx = x.grad_handle(), kv_heads, groups, d, rows, cols, out_cols](const tensor<T, B>& g) {
    for (index h = 0; h < kv_heads * groups; ++h)
      B::copy_2d(rows, d, g.data() + h * d, out_cols, gx.buffer().data() + (h / groups) * d, cols, T(1));
  });
}

}  // namespace vtrans::autodiff
