#pragma once
// The rows of attention's probabilities [batch, heads, q_len, k_len]: which keys a query sees
// (causal and sliding-window limits), the masked softmax, and the gradient of the scores. One
// implementation for every backend (cpu per head, thrust_backend one row per thread; the CUDA
// kernel of tensor/cuda/ uses visible_keys for its limits).
#include <cstdint>

#include "vtrans/tensor/host_device.hpp"
#include "vtrans/tensor/kernel_args.hpp"
#include "vtrans/tensor/kernels/softmax.hpp"

namespace vtrans::kernels {

// Keys [first, last) of query row i: with shift = k_len - q_len, key j is visible iff
// (not causal or j <= i + shift) and (window == 0 or j > i + shift - window). Key padding is
// applied on top of this range.
struct key_range {
  index first, last;
};
VTRANS_HD inline key_range visible_keys(const attention_dims& d, index i) {
  const index own = i + (d.k_len - d.q_len);  // the key at the query's own position
  const index last = d.causal ? clamp_to<index>(own + 1, 0, d.k_len) : d.k_len;
  const index first = d.window > 0 ? clamp_to<index>(own - d.window + 1, 0, last) : 0;
  return {first, last};
}

// Softmax of the scores row of query i over the keys it may see; every other entry becomes
// exactly 0, and a query that sees no key at all gets a row of zeros (instead of NaN).
// key_mask: this batch row's [k_len] padding mask (1 = attend), or null.
template <class T, class Exp = exp_shifted>
VTRANS_HD void attention_softmax_row(const attention_dims& d, index i, const std::int32_t* key_mask, T* row, Exp exp_shift = {}) {
  const key_range keys = visible_keys(d, i);
  const index n = keys.last - keys.first;
  T* v = row + keys.first;
  T mx = minus_infinity<T>();
  double s = 0;
  if (key_mask) {
    const std::int32_t* km = key_mask + keys.first;
    for (index j = 0; j < n; ++j) mx = km[j] ? max_of(mx, v[j]) : mx;
    if (mx == minus_infinity<T>()) mx = T(0);  // no visible key: all become 0 below
    exp_shift(n, v, mx);
    for (index j = 0; j < n; ++j) {
      v[j] = km[j] ? v[j] : T(0);
      s += v[j];
    }
  } else {
    VTRANS_SIMD_REDUCE(max, mx)
    for (index j = 0; j < n; ++j) mx = max_of(mx, v[j]);
    exp_shift(n, v, mx);
    VTRANS_SIMD_REDUCE(+, s)
    for (index j = 0; j < n; ++j) s += v[j];
  }
  const T inv = s > 0 ? static_cast<T>(1.0 / s) : T(0);
  VTRANS_SIMD
  for (index j = 0; j < n; ++j) v[j] *= inv;
  for (index j = 0; j < keys.first; ++j) row[j] = T(0);
  for (index j = keys.last; j < d.k_len; ++j) row[j] = T(0);
}

// Gradient of the scaled scores from the gradient of the probabilities, in place over dp:
// dS = P * (dP - sum(dP * P)) * scale (masked entries have P = 0, so their dS is 0).
template <class T>
VTRANS_HD void attention_scores_grad_row(index k_len, T scale, const T* p, T* dp) {
  double s = 0;
  VTRANS_SIMD_REDUCE(+, s)
  for (index j = 0; j < k_len; ++j) s += double(dp[j]) * p[j];
  const T st = static_cast<T>(s);
  VTRANS_SIMD
  for (index j = 0; j < k_len; ++j) dp[j] = p[j] * (dp[j] - st) * scale;
}

}  // namespace vtrans::kernels
