#pragma once
// float -> IEEE binary16 and bfloat16, rounded to nearest with ties to even (what numpy's
// astype(float16), PyTorch and ggml give), for writing 16-bit weight files. The widening direction
// (f16_to_float, bf16_to_float) lives in dtype.hpp with the readers.
#include <cstdint>
#include <cstring>

namespace vtrans::io {

inline std::uint16_t float_to_f16(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
  const std::uint32_t a = x & 0x7fffffffu;
  if (a >= 0x7f800000u) return static_cast<std::uint16_t>(sign | (a > 0x7f800000u ? 0x7e00u : 0x7c00u));  // NaN stays NaN
  if (a >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // >= 65520 rounds past 65504: infinity
  // keeps the top `keep` bits of m, rounding the dropped ones to nearest, ties to even
  const auto round_shift = [](std::uint32_t m, unsigned shift) {
    const std::uint32_t q = m >> shift, rest = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    return q + ((rest > half || (rest == half && (q & 1u))) ? 1u : 0u);
  };
  if (a >= 0x38800000u) {  // normal half: rebias the exponent, round 23 -> 10 mantissa bits (a carry bumps the exponent)
    const std::uint32_t e = (a >> 23) - 127 + 15;
    return static_cast<std::uint16_t>(sign | round_shift(((e << 23) | (a & 0x7fffffu)), 13));
  }
  // subnormal half: value * 2^24 rounded to an integer; below 2^-25 everything rounds to zero
  const std::uint32_t e = a >> 23;
  if (e < 102) return sign;
  const std::uint32_t m = (a & 0x7fffffu) | 0x800000u;
  return static_cast<std::uint16_t>(sign | round_shift(m, 126 - e));
}

inline std::uint16_t float_to_bf16(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((x >> 16) | 0x0040u);  // quiet NaN
  return static_cast<std::uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

}  // namespace vtrans::io
