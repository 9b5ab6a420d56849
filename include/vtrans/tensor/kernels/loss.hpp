#pragma once
// Negative log-likelihood of one row of log-probabilities, and its gradient: the one
// implementation every backend runs per row. Rows whose target is `ignore` count 0.
#include <cstdint>

#include "vtrans/tensor/host_device.hpp"
#include "vtrans/tensor/shape.hpp"

namespace vtrans::kernels {

// -logp[target], or 0 where target == ignore
template <class T>
VTRANS_HD T nll_row(const T* logp, std::int32_t target, std::int32_t ignore) {
  return target == ignore ? T(0) : -logp[target];
}
// dlogp[target] -= g, where target != ignore
template <class T>
VTRANS_HD void nll_backward_row(std::int32_t target, std::int32_t ignore, T g, T* dlogp) {
  if (target != ignore) dlogp[target] -= g;
}

}  // namespace vtrans::kernels
