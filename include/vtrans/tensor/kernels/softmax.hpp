#pragma once
// Softmax and log-softmax of one row, forward and backward: the one implementation every backend
// runs (cpu inside its OpenMP loops, thrust_backend one row per thread). Sums accumulate in double.
#include <cmath>

#include "vtrans/tensor/host_device.hpp"
#include "vtrans/tensor/shape.hpp"

namespace vtrans::kernels {

// v[j] = exp(v[j] - shift) for j < n. The default exponential; a backend may pass a faster one
// with the same call (cpu passes its vectorised fp32 exp).
struct exp_shifted {
  template <class T>
  VTRANS_HD void operator()(index n, T* v, T shift) const {
    for (index j = 0; j < n; ++j) v[j] = std::exp(v[j] - shift);
  }
};

// y = softmax(x) over n values (y may be x)
template <class T, class Exp = exp_shifted>
VTRANS_HD void softmax_row(index n, const T* x, T* y, Exp exp_shift = {}) {
  T mx = n ? x[0] : T(0);
  VTRANS_SIMD_REDUCE(max, mx)
  for (index c = 1; c < n; ++c) mx = max_of(mx, x[c]);
  if (y != x)
    for (index c = 0; c < n; ++c) y[c] = x[c];
  exp_shift(n, y, mx);
  double s = 0;
  VTRANS_SIMD_REDUCE(+, s)
  for (index c = 0; c < n; ++c) s += y[c];
  const T inv = static_cast<T>(1.0 / s);
  VTRANS_SIMD
  for (index c = 0; c < n; ++c) y[c] *= inv;
}

// dx += y * (dy - sum(dy * y))
template <class T>
VTRANS_HD void softmax_backward_row(index n, const T* y, const T* dy, T* dx) {
  double s = 0;
  VTRANS_SIMD_REDUCE(+, s)
  for (index c = 0; c < n; ++c) s += double(dy[c]) * y[c];
  const T st = static_cast<T>(s);
  VTRANS_SIMD
  for (index c = 0; c < n; ++c) dx[c] += y[c] * (dy[c] - st);
}

// y = x - log(sum(exp(x)))
template <class T>
VTRANS_HD void log_softmax_row(index n, const T* x, T* y) {
  T mx = n ? x[0] : T(0);
  VTRANS_SIMD_REDUCE(max, mx)
  for (index c = 1; c < n; ++c) mx = max_of(mx, x[c]);
  double s = 0;
  for (index c = 0; c < n; ++c) s += std::exp(double(x[c] - mx));
  const T lse = mx + static_cast<T>(std::log(s));
  VTRANS_SIMD
  for (index c = 0; c < n; ++c) y[c] = x[c] - lse;
}

// dx += dy - exp(y) * sum(dy)
template <class T>
VTRANS_HD void log_softmax_backward_row(index n, const T* y, const T* dy, T* dx) {
  double s = 0;
  for (index c = 0; c < n; ++c) s += dy[c];
  for (index c = 0; c < n; ++c) dx[c] += dy[c] - std::exp(y[c]) * static_cast<T>(s);
}

}  // namespace vtrans::kernels
