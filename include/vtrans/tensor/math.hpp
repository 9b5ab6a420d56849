#pragma once
// Scalar functions shared by every backend (host and device), so that all backends compute
// the same formulas: activations with their derivatives, and the counter-based random numbers.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "vtrans/tensor/host_device.hpp"

namespace vtrans::math {

// step (1 where x > 0, else 0), sqrt and reciprocal serve decisions and scalars computed on the
// device (keep decisions, counts, clipping factors) so that they need no trip to the host.
enum class unary_op : int { identity, relu, gelu, gelu_tanh, silu, tanh, sigmoid, exp, log, square, step, sqrt, reciprocal };

template <class T>
VTRANS_HD inline T sigmoid(T x) { return T(1) / (T(1) + std::exp(-x)); }

template <class T>
VTRANS_HD inline T apply(unary_op op, T x) {
  constexpr T inv_sqrt2 = T(0.70710678118654752440);
  constexpr T sqrt_2_over_pi = T(0.79788456080286535588);
  switch (op) {
    case unary_op::identity: return x;
    case unary_op::relu: return x > T(0) ? x : T(0);
    case unary_op::gelu: return T(0.5) * x * (T(1) + std::erf(x * inv_sqrt2));
    case unary_op::gelu_tanh: return T(0.5) * x * (T(1) + std::tanh(sqrt_2_over_pi * (x + T(0.044715) * x * x * x)));
    case unary_op::silu: return x * sigmoid(x);
    case unary_op::tanh: return std::tanh(x);
    case unary_op::sigmoid: return sigmoid(x);
    case unary_op::exp: return std::exp(x);
    case unary_op::log: return std::log(x);
    case unary_op::square: return x * x;
    case unary_op::step: return x > T(0) ? T(1) : T(0);
    case unary_op::sqrt: return std::sqrt(x);
    case unary_op::reciprocal: return T(1) / x;
  }
  return x;
}

// d apply(op, x) / dx, given the input x and the output y = apply(op, x).
template <class T>
VTRANS_HD inline T derivative(unary_op op, T x, T y) {
  constexpr T inv_sqrt2 = T(0.70710678118654752440);
  constexpr T inv_sqrt_2pi = T(0.39894228040143267794);
  constexpr T sqrt_2_over_pi = T(0.79788456080286535588);
  switch (op) {
    case unary_op::identity: return T(1);
    case unary_op::relu: return x > T(0) ? T(1) : T(0);
    case unary_op::gelu: return T(0.5) * (T(1) + std::erf(x * inv_sqrt2)) + x * inv_sqrt_2pi * std::exp(T(-0.5) * x * x);
    case unary_op::gelu_tanh: {
      T u = sqrt_2_over_pi * (x + T(0.044715) * x * x * x);
      T t = std::tanh(u);
      return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * sqrt_2_over_pi * (T(1) + T(3 * 0.044715) * x * x);
    }
    case unary_op::silu: { T s = sigmoid(x); return s * (T(1) + x * (T(1) - s)); }
    case unary_op::tanh: return T(1) - y * y;
    case unary_op::sigmoid: return y * (T(1) - y);
    case unary_op::exp: return y;
    case unary_op::log: return T(1) / x;
    case unary_op::square: return T(2) * x;
    case unary_op::step: return T(0);
    case unary_op::sqrt: return T(0.5) / y;
    case unary_op::reciprocal: return -y * y;
  }
  return T(1);
}

enum class binary_op : int { add, sub, mul };

template <class T>
VTRANS_HD inline T apply(binary_op op, T a, T b) {
  switch (op) {
    case binary_op::add: return a + b;
    case binary_op::sub: return a - b;
    case binary_op::mul: return a * b;
  }
  return a;
}

// Counter-based random numbers: value i of a draw depends only on (seed, i), so every backend
// and every thread count produces the same numbers for the same seed (the seeding contract).
VTRANS_HD inline std::uint64_t mix64(std::uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
// Uniform in (0, 1), never exactly 0 or 1; `mixed_seed` is mix64(seed), hoisted by bulk kernels.
VTRANS_HD inline double uniform_premixed(std::uint64_t mixed_seed, std::uint64_t i) {
  std::uint64_t bits = mix64(mixed_seed ^ (i * 0xD1B54A32D192ED03ull + 0x8CB92BA72F3D8DD7ull));
  return (static_cast<double>(bits >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}
VTRANS_HD inline double uniform(std::uint64_t seed, std::uint64_t i) { return uniform_premixed(mix64(seed), i); }
// Standard normal by Box-Muller on two uniforms of the counter pair (2i, 2i+1).
VTRANS_HD inline double normal(std::uint64_t seed, std::uint64_t i) {
  double u1 = uniform(seed, 2 * i), u2 = uniform(seed, 2 * i + 1);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586476925 * u2);
}
// The polynomials below are templates over the float type F (float, or a GCC/Clang float
// vector with U its same-size unsigned vector): a vectorised caller gets the very bits of the
// scalar code, lane by lane, which keeps every backend's random draws identical.

// ln(u) for u in (0, 1], with only +, -, *, / and no branch: u = m 2^e with m in [1, 2),
// ln(m) = 2 atanh(s) = 2 (s + s^3/3 + ... + s^15/15), s = (m - 1) / (m + 1) in [0, 1/3)
// (truncation error below 1e-8).
template <class F, class U>
VTRANS_HD inline F log_unit(F u) {
  U bits, exponent;
  std::memcpy(&bits, &u, sizeof bits);
  exponent = ((bits >> 23) & 0xffu) | 0x4b000000u;  // 2^23 + e + 127 as a float
  bits = (bits & 0x7fffffu) | 0x3f800000u;
  F e, m;
  std::memcpy(&e, &exponent, sizeof e);
  std::memcpy(&m, &bits, sizeof m);
  e = e - 8388735.0f;
  const F s = (m - 1.0f) / (m + 1.0f), s2 = s * s;
  const F series =
      2.0f + s2 * (0.666666667f + s2 * (0.4f + s2 * (0.285714286f + s2 * (0.222222222f + s2 * (0.181818182f + s2 * (0.153846154f + s2 * 0.133333333f))))));
  return e * 0.693147181f + s * series;
}
// cos and sin of x for x in [-pi, pi]: Taylor polynomials to degree 17 / 18, no branch
// (truncation error below 3e-8, float rounding below 3e-7).
template <class F>
VTRANS_HD inline void cos_sin(F x, F& c, F& s) {
  const F x2 = x * x;
  s = x * (1.0f + x2 * (-1.66666667e-1f + x2 * (8.33333333e-3f + x2 * (-1.98412698e-4f + x2 * (2.75573192e-6f + x2 * (-2.50521084e-8f +
      x2 * (1.60590438e-10f + x2 * (-7.64716373e-13f + x2 * 2.81145725e-15f))))))));
  c = 1.0f + x2 * (-0.5f + x2 * (4.16666667e-2f + x2 * (-1.38888889e-3f + x2 * (2.48015873e-5f + x2 * (-2.75573192e-7f + x2 * (2.08767570e-9f +
      x2 * (-1.14707456e-11f + x2 * (4.77947733e-14f + x2 * -1.56192070e-16f))))))));
}
// The two uniforms of Box-Muller pair k: 32 bits each, cut from one hash of (seed, k), in (0, 1).
VTRANS_HD inline void normal_uniforms(std::uint64_t mixed_seed, std::uint64_t k, float& u1, float& u2) {
  const std::uint64_t h = mix64(mixed_seed ^ (k * 0xD1B54A32D192ED03ull + 0x8CB92BA72F3D8DD7ull));
  u1 = static_cast<float>((double(h >> 32) + 0.5) * 2.3283064365386963e-10);
  u2 = static_cast<float>((double(h & 0xffffffffu) + 0.5) * 2.3283064365386963e-10);
}
// Bulk standard normals (the VIB masks' noise, millions per step): values 2k and 2k+1 are the
// cosine and sine halves of one single-precision Box-Muller pair on normal_uniforms(k), with the
// logarithm, cosine and sine as the polynomials above instead of libm calls (which, with twice
// the hashing, took most of a pruning step's noise time). The radius stops at 6.8 (u1 >= 2^-33).
// normal() stays the generator of initial weights.
VTRANS_HD inline void bulk_normal_pair(std::uint64_t mixed_seed, std::uint64_t k, float& even, float& odd) {
  float u1, u2, c, s;
  normal_uniforms(mixed_seed, k, u1, u2);
  const float r = std::sqrt(-2.0f * log_unit<float, std::uint32_t>(u1));
  cos_sin(6.28318531f * u2 - 3.14159265f, c, s);
  even = r * c;
  odd = r * s;
}
VTRANS_HD inline float bulk_normal(std::uint64_t seed, std::uint64_t i) {
  float even = 0, odd = 0;
  bulk_normal_pair(mix64(seed), i / 2, even, odd);
  return i % 2 == 0 ? even : odd;
}
// Value i of inverted dropout's mask: `keep` (= 1 / (1 - p)) where the uniform draw is >= p, else 0.
template <class T>
VTRANS_HD inline T dropout_value(double p, T keep, std::uint64_t seed, std::uint64_t i) {
  return uniform(seed, i) >= p ? keep : T(0);
}

}  // namespace vtrans::math
