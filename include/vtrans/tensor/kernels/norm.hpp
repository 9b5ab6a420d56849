#pragma once
// Layer norm and RMS norm of one row, and their gradients: the one implementation every backend
// runs. Statistics and gradient sums accumulate in double. RMS norm is layer norm without the
// mean: the backward functions take mean == null for it.
#include <cmath>

#include "vtrans/tensor/host_device.hpp"
#include "vtrans/tensor/shape.hpp"

namespace vtrans::kernels {

// y = (x - mean) * rstd * gamma + beta over n values (gamma, beta may be null); returns mean, rstd.
template <class T>
VTRANS_HD void layer_norm_row(index n, const T* x, const T* gamma, const T* beta, double eps, T* y, T& mean, T& rstd) {
  double s = 0, ss = 0;
  VTRANS_SIMD_REDUCE(+, s)
  for (index c = 0; c < n; ++c) s += x[c];
  const double mu = s / double(n);
  VTRANS_SIMD_REDUCE(+, ss)
  for (index c = 0; c < n; ++c) {
    const double d = x[c] - mu;
    ss += d * d;
  }
  const double rs = 1.0 / std::sqrt(ss / double(n) + eps);
  mean = static_cast<T>(mu);
  rstd = static_cast<T>(rs);
  const T m = mean, q = rstd;
  if (gamma && beta) {
    VTRANS_SIMD
    for (index c = 0; c < n; ++c) y[c] = (x[c] - m) * q * gamma[c] + beta[c];
  } else {
    VTRANS_SIMD
    for (index c = 0; c < n; ++c) {
      const T v = (x[c] - m) * q;
      y[c] = v * (gamma ? gamma[c] : T(1)) + (beta ? beta[c] : T(0));
    }
  }
}

// y = x * rstd * gamma with rstd = 1 / sqrt(mean(x^2) + eps); returns rstd.
template <class T>
VTRANS_HD void rms_norm_row(index n, const T* x, const T* gamma, double eps, T* y, T& rstd) {
  double ss = 0;
  for (index c = 0; c < n; ++c) ss += double(x[c]) * x[c];
  const T q = static_cast<T>(1.0 / std::sqrt(ss / double(n) + eps));
  rstd = q;
  for (index c = 0; c < n; ++c) y[c] = x[c] * q * (gamma ? gamma[c] : T(1));
}

// Input gradient of one row: with xhat = (x - mean) * rstd and g = dy * gamma,
// dx += rstd * (g - [mean(g)] - xhat * mean(g * xhat)); the bracket only for layer norm.
// mean_ptr: this row's mean, null for RMS norm.
template <class T>
VTRANS_HD void norm_backward_row(index n, const T* x, const T* gamma, const T* mean_ptr, T rstd, const T* dy, T* dx) {
  const double m = mean_ptr ? double(*mean_ptr) : 0.0, q = rstd;
  double sg = 0, sgx = 0;
  if (gamma) {
    VTRANS_SIMD_REDUCE(+, sg, sgx)
    for (index c = 0; c < n; ++c) {
      const double xh = (x[c] - m) * q, g = double(dy[c]) * gamma[c];
      sg += g;
      sgx += g * xh;
    }
  } else {
    VTRANS_SIMD_REDUCE(+, sg, sgx)
    for (index c = 0; c < n; ++c) {
      const double xh = (x[c] - m) * q, g = double(dy[c]);
      sg += g;
      sgx += g * xh;
    }
  }
  const double mg = mean_ptr ? sg / double(n) : 0.0, mgx = sgx / double(n);
  if (gamma) {
    VTRANS_SIMD
    for (index c = 0; c < n; ++c) {
      const double xh = (x[c] - m) * q, g = double(dy[c]) * gamma[c];
      dx[c] += static_cast<T>(q * (g - mg - xh * mgx));
    }
  } else {
    VTRANS_SIMD
    for (index c = 0; c < n; ++c) {
      const double xh = (x[c] - m) * q, g = double(dy[c]);
      dx[c] += static_cast<T>(q * (g - mg - xh * mgx));
    }
  }
}

// Parameter gradients dgamma[c] = sum over rows of dy * xhat, dbeta[c] = sum of dy, gathered in
// one of two orders: a row at a time into per-column partial sums (host threads, each over its
// own rows), or a column at a time over all rows (one device thread per column).
template <class T>
VTRANS_HD void norm_param_grads_add_row(index n, const T* x, const T* mean_ptr, T rstd, const T* dy, double* dgamma,
                                        double* dbeta) {
  const double m = mean_ptr ? double(*mean_ptr) : 0.0, q = rstd;
  if (dgamma) {
    VTRANS_SIMD
    for (index c = 0; c < n; ++c) dgamma[c] += double(dy[c]) * ((x[c] - m) * q);
  }
  if (dbeta) {
    VTRANS_SIMD
    for (index c = 0; c < n; ++c) dbeta[c] += dy[c];
  }
}
template <class T>
VTRANS_HD void norm_param_grads_column(index rows, index cols, index c, const T* x, const T* mean, const T* rstd,
                                       const T* dy, T* dgamma, T* dbeta) {
  double sg = 0, sb = 0;
  for (index r = 0; r < rows; ++r) {
    const double g = dy[r * cols + c];
    sg += g * ((x[r * cols + c] - (mean ? double(mean[r]) : 0.0)) * double(rstd[r]));
    sb += g;
  }
  if (dgamma) dgamma[c] += static_cast<T>(sg);
  if (dbeta) dbeta[c] += static_cast<T>(sb);
}

}  // namespace vtrans::kernels
