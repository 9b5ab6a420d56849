#pragma once
// OpenBLAS: the C BLAS interface plus the OpenBLAS extensions vtrans uses to report kernels.
#include <cblas.h>
#include <string>

extern "C" {
char* openblas_get_corename(void);
char* openblas_get_config(void);
int openblas_get_num_threads(void);
}

namespace vtrans::blas {

template <class T> struct gemm_fn;
template <> struct gemm_fn<float> {
  static void call(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint m, blasint n, blasint k, float alpha,
                   const float* a, blasint lda, const float* b, blasint ldb, float beta, float* c, blasint ldc) {
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
};
template <> struct gemm_fn<double> {
  static void call(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint m, blasint n, blasint k, double alpha,
                   const double* a, blasint lda, const double* b, blasint ldb, double beta, double* c, blasint ldc) {
    cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
};

// Row-major C = alpha * op(A) * op(B) + beta * C through OpenBLAS.
template <class T>
inline void gemm(bool trans_a, bool trans_b, long m, long n, long k, T alpha, const T* a, long lda,
                 const T* b, long ldb, T beta, T* c, long ldc) {
  if (m == 0 || n == 0) return;
  gemm_fn<T>::call(trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                   static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
                   static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

inline std::string core_name() { return openblas_get_corename(); }
inline std::string config() { return openblas_get_config(); }

}  // namespace vtrans::blas
