#pragma once
// Element types found in checkpoint files, their safetensors names and sizes, and decoding of
// little-endian bytes into host numbers (F16 and BF16 widened exactly to float).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>
#include <type_traits>

#include "vtrans/tensor/half.hpp"

namespace vtrans::io {

enum class dtype { boolean, u8, i8, u16, i16, u32, i32, u64, i64, f16, bf16, f32, f64 };

// The safetensors spelling ("F32", "BF16", ...).
inline std::string_view dtype_name(dtype t) {
  switch (t) {
    case dtype::boolean: return "BOOL";
    case dtype::u8: return "U8";
    case dtype::i8: return "I8";
    case dtype::u16: return "U16";
    case dtype::i16: return "I16";
    case dtype::u32: return "U32";
    case dtype::i32: return "I32";
    case dtype::u64: return "U64";
    case dtype::i64: return "I64";
    case dtype::f16: return "F16";
    case dtype::bf16: return "BF16";
    case dtype::f32: return "F32";
    case dtype::f64: return "F64";
  }
  return "?";
}

// Only the types we can decode; FP8, sub-byte floats and complex are deliberately absent.
inline std::optional<dtype> parse_dtype(std::string_view s) {
  for (dtype t : {dtype::boolean, dtype::u8, dtype::i8, dtype::u16, dtype::i16, dtype::u32, dtype::i32, dtype::u64,
                  dtype::i64, dtype::f16, dtype::bf16, dtype::f32, dtype::f64})
    if (dtype_name(t) == s) return t;
  return std::nullopt;
}

inline std::size_t dtype_size(dtype t) {
  switch (t) {
    case dtype::boolean:
    case dtype::u8:
    case dtype::i8: return 1;
    case dtype::u16:
    case dtype::i16:
    case dtype::f16:
    case dtype::bf16: return 2;
    case dtype::u32:
    case dtype::i32:
    case dtype::f32: return 4;
    case dtype::u64:
    case dtype::i64:
    case dtype::f64: return 8;
  }
  return 0;
}

inline bool is_floating(dtype t) { return t == dtype::f16 || t == dtype::bf16 || t == dtype::f32 || t == dtype::f64; }

// IEEE binary16 -> binary32, exact for every input (subnormals, infinities, NaN payloads).
inline float f16_to_float(std::uint16_t h) { return f16::from_bits(h).to_float(); }
inline float bf16_to_float(std::uint16_t b) { return bf16::from_bits(b).to_float(); }

namespace detail {

// Byte-wise little-endian loads: correct on any host, and compiled to plain loads on little-endian ones.
inline std::uint16_t load_le16(const unsigned char* p) {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
inline std::uint32_t load_le32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
inline std::uint64_t load_le64(const unsigned char* p) {
  return static_cast<std::uint64_t>(load_le32(p)) | (static_cast<std::uint64_t>(load_le32(p + 4)) << 32);
}
inline void store_le32(unsigned char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
inline void store_le64(unsigned char* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}

template <class U, class From>
inline U bit_cast_to(From v) {
  static_assert(sizeof(U) == sizeof(From));
  U u;
  std::memcpy(&u, &v, sizeof u);
  return u;
}

// double -> T; a finite double beyond float's range becomes +-inf, as IEEE rounding would give,
// instead of the undefined behaviour of a plain out-of-range cast.
template <class T>
inline T narrow_from_double(double v) {
  if constexpr (std::is_same_v<T, float>) {
    if (std::isfinite(v) && std::fabs(v) > static_cast<double>(std::numeric_limits<float>::max())) {
      float r = static_cast<float>(std::nextafter(std::numeric_limits<float>::max(), 0.0f));
      // Values that round to FLT_MAX stay finite; the rest overflow.
      const double half_ulp_above = static_cast<double>(std::numeric_limits<float>::max()) +
                                    (static_cast<double>(std::numeric_limits<float>::max()) -
                                     static_cast<double>(r)) / 2;
      if (std::fabs(v) < half_ulp_above) return v < 0 ? -std::numeric_limits<float>::max() : std::numeric_limits<float>::max();
      return v < 0 ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
    }
  }
  return static_cast<T>(v);
}

}  // namespace detail

// Decode n elements of type t from little-endian bytes into dst, converting with static_cast.
// The caller has checked that src holds n * dtype_size(t) bytes and that the conversion is wanted.
template <class T>
void decode_le(dtype t, const unsigned char* src, std::size_t n, T* dst) {
  static_assert(std::is_arithmetic_v<T>);
  using detail::bit_cast_to;
  switch (t) {
    case dtype::boolean:
      for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<T>(src[i] != 0);
      break;
    case dtype::u8:
      for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<T>(src[i]);
      break;
    case dtype::i8:
      for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<T>(static_cast<std::int8_t>(src[i]));
      break;
    case dtype::u16:
      for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<T>(detail::load_le16(src + 2 * i));
      break;
    case dtype::i16:
      for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<T>(bit_cast_to<std::int16_t>(detail::load_le16(src + 2 * i)));
      break;
    case dtype::u32:
      for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<T>(detail::load_le32(src + 4 * i));
      break;
    case dtype::i32:
      for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<T>(bit_cast_to<std::int32_t>(detail::load_le32(src + 4 * i)));
      break;
    case dtype::u64:
      for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<T>(detail::load_le64(src + 8 * i));
      break;
    case dtype::i64:
      for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<T>(bit_cast_to<std::int64_t>(detail::load_le64(src + 8 * i)));
      break;
    case dtype::f16:
      for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<T>(f16_to_float(detail::load_le16(src + 2 * i)));
      break;
    case dtype::bf16:
      for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<T>(bf16_to_float(detail::load_le16(src + 2 * i)));
      break;
    case dtype::f32:
      for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<T>(bit_cast_to<float>(detail::load_le32(src + 4 * i)));
      break;
    case dtype::f64:
      for (std::size_t i = 0; i < n; ++i) dst[i] = detail::narrow_from_double<T>(bit_cast_to<double>(detail::load_le64(src + 8 * i)));
      break;
  }
}

}  // namespace vtrans::io
