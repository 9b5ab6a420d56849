#pragma once
// Scaled dot-product attention over the projection layout [batch, seq, heads * head_dim], with
// key padding and causal masks and grouped-query heads, in one fused kernel per (batch, head);
// and rotary position embedding in Hugging Face's rotate-half convention.
#include <cmath>
#include <optional>

#include "vtrans/autodiff/ids.hpp"
#include "vtrans/autodiff/tape.hpp"

namespace vtrans::autodiff {

struct attention_options {
  index heads = 1;
  index kv_heads = 0;             // 0: same as heads
  bool causal = false;
  std::optional<double> scale;    // default 1 / sqrt(head_dim)
  index window = 0;               // > 0: each query sees at most this many keys, ending at itself
};

// q [batch, q_len, heads * d], k and v [batch, k_len, kv_heads * d], key_mask [batch, k_len]
// (1 = attend, 0 = padding; null for none). Returns [batch, q_len, heads * d]. When `probs` is
// given it receives the attention weights [batch, heads, q_len, k_len] (for probing).
template <class T, class B>
var<T, B> attention(const var<T, B>& q, const var<T, B>& k, const var<T, B>& v, const id_tensor<B>* key_mask,
                    const attention_options& opt, tensor<T, B>* probs = nullptr) {
  const shape &qs = q.shape(), &ks = k.shape();
  require(qs.rank() == 3 && ks.rank() == 3 && v.shape() == ks, "attention",
          "expects q [batch, seq, width] and k, v of one shape; got " + qs.str() + ", " + ks.str() + ", " + v.shape().str());
  attention_dims d;
  d.batch = qs[0]; d.q_len = qs[1]; d.k_len = ks[1]; d.heads = opt.heads; d.kv_heads = opt.kv_heads ? opt.kv_heads : opt.heads;
  require(d.heads > 0 && qs[2] % d.heads == 0 && d.heads % d.kv_heads == 0, "attention",
          std::to_string(d.heads) + " query heads, " + std::to_string(d.kv_heads) + " key/value heads do not fit width " + std::to_string(qs[2]));
  d.head_dim = qs[2] / d.heads;
  if (ks[0] != d.batch || ks[2] != d.kv_heads * d.head_dim)
    throw shape_mismatch("attention", "keys do not match queries (" + std::to_string(d.kv_heads) + " kv heads)", qs, ks);
  require(!key_mask || key_mask->shape() == shape{d.batch, d.k_len}, "attention",
          "key mask " + (key_mask ? key_mask->shape().str() : std::string()) + " is not [batch, k_len] = " + shape{d.batch, d.k_len}.str());
  d.ldq = qs[2]; d.ldk = ks[2]; d.ldv = ks[2]; d.ldo = qs[2];
  d.causal = opt.causal;
  d.window = opt.window;
  d.scale = opt.scale ? *opt.scale : 1.0 / std::sqrt(double(d.head_dim));

  tensor<T, B> p(shape{d.batch, d.heads, d.q_len, d.k_len}), y(qs);
  B::attention_forward(d, q.value().data(), k.value().data(), v.value().data(), key_mask ? key_mask->data() : nullptr, p.data(), y.data());
  if (probs) *probs = p.clone();
  return record(std::move(y), {&q, &k, &v}, [q, k, v, d, p = std::move(p)](const tensor<T, B>& g) {
    B::attention_backward(d, q.value().data(), k.value().data(), v.value().data(), p.data(), g.data(),
                          q.requires_grad() ? q.grad_buffer().data() : nullptr,
                          k.requires_grad() ? k.grad_buffer().data() : nullptr,
                          v.requires_grad() ? v.grad_buffer().data() : nullptr);
  });
}

// x [batch, seq, heads * head_dim]; positions [batch * seq]; rotates the first rotary_dim
// (default: all) of every head.
template <class T, class B>
var<T, B> rope(const var<T, B>& x, const id_tensor<B>& positions, index heads, double theta, index rotary_dim = 0) {
  const shape& s = x.shape();
  require(s.rank() == 3 && heads > 0 && s[2] % heads == 0, "rope", "expects [batch, seq, heads * head_dim], got " + s.str());
  require(positions.numel() == s[0] * s[1], "rope", "needs one position per token: " + positions.shape().str() + " for " + s.str());
  rope_dims d;
  d.rows = s[0] * s[1]; d.heads = heads; d.head_dim = s[2] / heads; d.rotary_dim = rotary_dim ? rotary_dim : d.head_dim;
  d.ldx = d.ldy = s[2]; d.theta = theta;
  require(d.rotary_dim % 2 == 0 && d.rotary_dim <= d.head_dim, "rope", "rotary dimension " + std::to_string(d.rotary_dim) + " must be even and at most the head size");
  tensor<T, B> y(s);
  B::rope(d, x.value().data(), positions.data(), false, T(0), y.data());
  return record(std::move(y), {&x}, [gx = x.grad_handle(), positions, d](const tensor<T, B>& g) {
    B::rope(d, g.data(), positions.data(), true, T(1), gx.buffer().data());  // R^T = R(-angle)
  });
}

}  // namespace vtrans::autodiff
