#pragma once
// 16-bit floating-point storage types, for frozen weights kept as their checkpoint stored them:
//   bf16  bfloat16, the upper half of an IEEE binary32 (8 exponent bits, 7 mantissa bits)
//   f16   IEEE binary16 (5 exponent bits, 10 mantissa bits)
// They hold bits only; arithmetic happens in float after widening. Widening is exact for every
// input; narrowing rounds to nearest, ties to even, keeps NaN a (quiet) NaN and overflows to inf.
// widen()/narrow() convert arrays with loops the compiler vectorises (plain shifts and selects).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "vtrans/tensor/math.hpp"  // VTRANS_HD

namespace vtrans {

namespace half_detail {
VTRANS_HD inline std::uint32_t bits_of(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
VTRANS_HD inline float float_of(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
}  // namespace half_detail

struct bf16 {
  std::uint16_t bits = 0;

  VTRANS_HD static bf16 from_bits(std::uint16_t b) { bf16 h; h.bits = b; return h; }
  VTRANS_HD float to_float() const { return half_detail::float_of(std::uint32_t(bits) << 16); }
  VTRANS_HD static bf16 from_float(float f) {
    const std::uint32_t u = half_detail::bits_of(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return from_bits(std::uint16_t((u >> 16) | 0x40u));  // NaN: keep it quiet
    // round to nearest even on the 16 bits dropped; a carry into the exponent is the right rounding
    return from_bits(std::uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16));
  }
};

struct f16 {
  std::uint16_t bits = 0;

  VTRANS_HD static f16 from_bits(std::uint16_t b) { f16 h; h.bits = b; return h; }
  // Normal numbers: move the exponent and mantissa fields into place and rescale by 2^112 (the
  // bias difference); subnormals: mantissa * 2^-24 computed in float; inf/NaN: exponent all ones.
  VTRANS_HD float to_float() const {
    const std::uint32_t sign = std::uint32_t(bits & 0x8000u) << 16, rest = bits & 0x7fffu;
    float magnitude;
    if (rest >= 0x7c00u) magnitude = half_detail::float_of(0x7f800000u | (rest & 0x3ffu) << 13);  // inf / NaN
    else if (rest >= 0x0400u) magnitude = half_detail::float_of(rest << 13) * 5.192296858534828e33f;  // 2^112
    else magnitude = float(rest) * 5.9604644775390625e-8f;                                          // 2^-24
    return half_detail::float_of(half_detail::bits_of(magnitude) | sign);
  }
  VTRANS_HD static f16 from_float(float f) {
    const std::uint32_t u = half_detail::bits_of(f);
    const std::uint16_t sign = std::uint16_t((u >> 16) & 0x8000u);
    const std::uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return from_bits(std::uint16_t(sign | 0x7e00u | ((a >> 13) & 0x3ffu)));  // NaN
    if (a >= 0x477ff000u) return from_bits(std::uint16_t(sign | 0x7c00u));  // rounds to >= 65520: inf
    if (a < 0x38800000u) {  // below 2^-14: a subnormal (or zero) of f16, step 2^-24
      // adding 0.5 pushes the value's top bits into the fixed position of 2^-24 steps, and the
      // float addition rounds to nearest even exactly as wanted
      const float shifted = half_detail::float_of(a) + 0.5f;
      return from_bits(std::uint16_t(sign | (half_detail::bits_of(shifted) - 0x3f000000u)));
    }
    // normal: rebias the exponent (127 -> 15) and round away the 13 low mantissa bits
    const std::uint32_t rebiased = a - 0x38000000u;
    return from_bits(std::uint16_t(sign | ((rebiased + 0xfffu + ((rebiased >> 13) & 1u)) >> 13)));
  }
};

template <class H>
inline constexpr bool is_half_v = std::is_same_v<H, bf16> || std::is_same_v<H, f16>;

// y[i] = T(x[i]) for n values (T float or double; both exact)
template <class H, class T>
inline void widen(std::size_t n, const H* x, T* y) {
  static_assert(is_half_v<H> && std::is_floating_point_v<T>, "widen: bf16 or f16 to float or double");
  if constexpr (std::is_same_v<H, bf16> && std::is_same_v<T, float>) {
    // a shift per value: the compiler turns this into unpack instructions
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint32_t u = std::uint32_t(x[i].bits) << 16;
      std::memcpy(y + i, &u, sizeof u);
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) y[i] = static_cast<T>(x[i].to_float());
  }
}

// y[i] = H(x[i]) for n values, rounded to nearest even
template <class H>
inline void narrow(std::size_t n, const float* x, H* y) {
  static_assert(is_half_v<H>, "narrow: bf16 or f16");
  for (std::size_t i = 0; i < n; ++i) y[i] = H::from_float(x[i]);
}

}  // namespace vtrans
