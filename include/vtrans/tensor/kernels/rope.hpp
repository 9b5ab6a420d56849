#pragma once
// Rotary position embedding of one (row, head), Hugging Face's rotate-half convention: the pair
// (i, i + rotary_dim / 2) turns by position * theta^(-2i / rotary_dim); the rest of the head passes
// through. One implementation for every backend (cpu per head, thrust_backend per pair).
#include <cmath>
#include <cstdint>

#include "vtrans/tensor/host_device.hpp"
#include "vtrans/tensor/kernel_args.hpp"

namespace vtrans::kernels {

// y = R(pos) x on pair i of one head (inverse: R(-pos) x, the backward pass), plus beta * y.
// xh and yh point at the head's first value; x == y (in place) is safe.
template <class T>
VTRANS_HD void rope_pair(const rope_dims& d, const T* xh, std::int32_t pos, index i, bool inverse, T beta, T* yh) {
  const index half = d.rotary_dim / 2;
  const double angle = double(pos) * std::pow(d.theta, -2.0 * double(i) / double(d.rotary_dim));
  const double c = std::cos(angle), s = inverse ? -std::sin(angle) : std::sin(angle);
  const T x0 = xh[i], x1 = xh[i + half];
  const T y0 = static_cast<T>(x0 * c - x1 * s), y1 = static_cast<T>(x1 * c + x0 * s);
  yh[i] = y0 + (beta == T(0) ? T(0) : beta * yh[i]);
  yh[i + half] = y1 + (beta == T(0) ? T(0) : beta * yh[i + half]);
}

// The unrotated value i >= rotary_dim of one head: y = x + beta * y.
template <class T>
VTRANS_HD void rope_pass(const T* xh, index i, T beta, T* yh) {
  yh[i] = xh[i] + (beta == T(0) ? T(0) : beta * yh[i]);
}

}  // namespace vtrans::kernels
