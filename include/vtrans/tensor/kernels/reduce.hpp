#pragma once
// Sums of one row, shared by the backends' reductions: sum(x * a) accumulated in double, where
// each product is formed in T first (a null: sum(x)).
#include "vtrans/tensor/host_device.hpp"
#include "vtrans/tensor/shape.hpp"

namespace vtrans::kernels {

template <class T>
VTRANS_HD double row_sum(index n, const T* x, const T* a) {
  double s = 0;
  if (a) {
    VTRANS_SIMD_REDUCE(+, s)
    for (index c = 0; c < n; ++c) s += x[c] * a[c];
  } else {
    VTRANS_SIMD_REDUCE(+, s)
    for (index c = 0; c < n; ++c) s += x[c];
  }
  return s;
}

}  // namespace vtrans::kernels
