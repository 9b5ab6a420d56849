#pragma once
// float -> IEEE binary16 and bfloat16 bits for writing 16-bit weight files, rounded to nearest with
// ties to even (what numpy's astype(float16), PyTorch and ggml give): the storage types of
// tensor/half.hpp, as raw bits. The widening direction (f16_to_float, bf16_to_float) lives in
// dtype.hpp with the readers.
#include <cstdint>

#include "vtrans/tensor/half.hpp"

namespace vtrans::io {

inline std::uint16_t float_to_f16(float f) { return f16::from_float(f).bits; }
inline std::uint16_t float_to_bf16(float f) { return bf16::from_float(f).bits; }

}  // namespace vtrans::io
