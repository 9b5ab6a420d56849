// GEMM through the CPU backend (vtrans::cpu::gemm<float>) against a direct cblas_sgemm call on
// the same buffers: GFLOP/s of each and their ratio. The backend adds nothing but a call, so the
// ratio should sit at 1.0 within timing noise; what matters is that both use fast kernels.
//
//   build/bin/bench_gemm [repetitions]      (default 15; the median is reported)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <omp.h>

#include "vtrans/tensor/cpu.hpp"
#include "vtrans/tensor/openblas_runtime.hpp"

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct result { double backend_s, cblas_s; };

// C[m, n] = A[m, k] B[k, n]^T... as the linear layer does it: A row-major [m, k], B [n, k] (transposed).
result run(long m, long n, long k, int reps) {
  std::vector<float> a(static_cast<std::size_t>(m * k)), b(static_cast<std::size_t>(n * k)), c(static_cast<std::size_t>(m * n));
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(vtrans::math::uniform(1, i) - 0.5);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>(vtrans::math::uniform(2, i) - 0.5);
  auto backend = [&] { vtrans::cpu::gemm<float>(false, true, m, n, k, 1.f, a.data(), k, b.data(), k, 0.f, c.data(), n); };
  auto direct = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(m), static_cast<blasint>(n),
                static_cast<blasint>(k), 1.f, a.data(), static_cast<blasint>(k), b.data(), static_cast<blasint>(k), 0.f,
                c.data(), static_cast<blasint>(n));
  };
  for (int w = 0; w < 2; ++w) { backend(); direct(); }  // warm-up: pages, thread pool, caches
  std::vector<double> tb, td;
  for (int r = 0; r < reps; ++r) {  // interleaved, so load from other processes hits both alike
    double t0 = now(); backend(); double t1 = now(); direct(); double t2 = now();
    tb.push_back(t1 - t0); td.push_back(t2 - t1);
  }
  return {median(tb), median(td)};
}

}  // namespace

int main(int argc, char** argv) {
  vtrans::blas::ensure_fast_kernels(argv);
  const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 15;
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  std::printf("%s (OPENBLAS_CORETYPE=%s), OpenMP max threads %d\n", vtrans::blas::kernel_report().c_str(),
              coretype ? coretype : "unset", omp_get_max_threads());
  std::printf("OpenBLAS config: %s\n", vtrans::blas::config().c_str());
  std::printf("C[m,n] = A[m,k] * B[n,k]^T, fp32, median of %d runs\n", reps);
  std::printf("%6s %6s %6s  %12s %12s  %8s\n", "m", "n", "k", "backend GF/s", "cblas GF/s", "ratio");
  const long shapes[][3] = {{768, 768, 768}, {4096, 768, 3072}};
  for (const auto& s : shapes) {
    const result r = run(s[0], s[1], s[2], reps);
    const double flops = 2.0 * double(s[0]) * double(s[1]) * double(s[2]);
    const double gb = flops / r.backend_s * 1e-9, gd = flops / r.cblas_s * 1e-9;
    std::printf("%6ld %6ld %6ld  %12.1f %12.1f  %8.3f\n", s[0], s[1], s[2], gb, gd, gb / gd);
  }
  return 0;
}
