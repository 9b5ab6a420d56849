#pragma once
// Marks for code that every backend compiles, on the host and (under nvcc) on the device:
//   VTRANS_HD                    __host__ __device__ under nvcc, nothing elsewhere
//   VTRANS_SIMD                  `omp simd` for the loop that follows, on host compilers with OpenMP
//   VTRANS_SIMD_REDUCE(op, ...)  the same with a reduction clause, e.g. VTRANS_SIMD_REDUCE(+, s)
// The simd marks let the host compiler vectorise reductions it may not reorder on its own; they
// change nothing on the device, where one thread runs the loop as written.
#include <cmath>

#if defined(__CUDACC__)
#define VTRANS_HD __host__ __device__
#else
#define VTRANS_HD
#endif

#define VTRANS_PRAGMA(x) _Pragma(#x)
#if defined(_OPENMP) && !defined(__CUDACC__)
#define VTRANS_SIMD VTRANS_PRAGMA(omp simd)
#define VTRANS_SIMD_REDUCE(op, ...) VTRANS_PRAGMA(omp simd reduction(op : __VA_ARGS__))
#else
#define VTRANS_SIMD
#define VTRANS_SIMD_REDUCE(op, ...)
#endif

namespace vtrans::kernels {

// std::max / std::min without the host-only std::
template <class T>
VTRANS_HD inline T max_of(T a, T b) { return a < b ? b : a; }
template <class T>
VTRANS_HD inline T min_of(T a, T b) { return b < a ? b : a; }
template <class T>
VTRANS_HD inline T clamp_to(T v, T lo, T hi) { return v < lo ? lo : (hi < v ? hi : v); }
// -infinity of T, usable in device code (std::numeric_limits is not)
template <class T>
VTRANS_HD inline T minus_infinity() { return static_cast<T>(-HUGE_VAL); }

}  // namespace vtrans::kernels
