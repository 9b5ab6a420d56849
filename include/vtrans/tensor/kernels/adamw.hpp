#pragma once
// One AdamW step of one parameter value (decoupled weight decay), the one implementation every
// backend runs per element. m and v are the moments; c1 = 1 - beta1^t and c2 = 1 - beta2^t the
// bias corrections. The update is computed in double.
#include <cmath>

#include "vtrans/tensor/host_device.hpp"

namespace vtrans::kernels {

struct adamw_step {
  double lr, beta1, beta2, eps, weight_decay, c1, c2;

  template <class T>
  VTRANS_HD void operator()(T& param, T grad, T& m, T& v) const {
    const double g = grad;
    const double mi = beta1 * m + (1 - beta1) * g, vi = beta2 * v + (1 - beta2) * g * g;
    m = static_cast<T>(mi);
    v = static_cast<T>(vi);
    const double update = (mi / c1) / (std::sqrt(vi / c2) + eps) + weight_decay * param;
    param = static_cast<T>(param - lr * update);
  }
};

}  // namespace vtrans::kernels
