// Every kernel of vtrans::cuda (thrust_backend<thrust_cuda>: cuBLAS, fused row kernels, thrust
// element-wise kernels) against thrust_backend<thrust_cpp> computed on the host from the same
// inputs (which test_thrust_cross ties to cpu), in float and double; plus the error paths.
// Compiled by nvcc: no xtensor, no doctest. Exit code 77 (skipped) when no GPU can be used.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "thrust/kernel_checks.hpp"
#include "vtrans/tensor/backend.hpp"
#include "vtrans/tensor/thrust_backend.hpp"

namespace kc = vtrans::kernel_checks;
using reference = vtrans::thrust_backend<vtrans::thrust_cpp>;
static_assert(vtrans::is_backend_v<vtrans::cuda>, "vtrans::cuda must implement the backend contract");

// The CUDA system's block-per-row kernels are found as hooks (else the generic one-thread-per-row
// path would run, correct but slow).
namespace hooks = vtrans::hooks;
using idx = vtrans::index;  // a bare `index` meets glibc's index()
template <class Hook, class... A>
constexpr bool offered = hooks::offered<vtrans::thrust_cuda, Hook, A...>;
template <class T>
constexpr bool all_hooks_offered =
    offered<hooks::softmax, idx, idx, const T*, T*> && offered<hooks::log_softmax, idx, idx, const T*, T*> &&
    offered<hooks::softmax_backward, idx, idx, const T*, const T*, T*> &&
    offered<hooks::log_softmax_backward, idx, idx, const T*, const T*, T*> &&
    offered<hooks::layer_norm, idx, idx, const T*, const T*, const T*, double, T*, T*, T*> &&
    offered<hooks::rms_norm, idx, idx, const T*, const T*, double, T*, T*> &&
    offered<hooks::norm_backward_dx, idx, idx, const T*, const T*, const T*, const T*, const T*, T*> &&
    offered<hooks::attention_softmax, const vtrans::attention_dims&, const std::int32_t*, T*> &&
    offered<hooks::attention_scores_grad, const vtrans::attention_dims&, const T*, T*>;
static_assert(all_hooks_offered<float> && all_hooks_offered<double>, "thrust_cuda must offer its nine row kernels as hooks");

int main() {
  if (!vtrans::cuda_detail::device_available()) {
    std::puts("test_cuda_kernels: no usable CUDA device (cudaGetDeviceCount failed or found none): skipped");
    return 77;
  }
  int checks = 0, failures = 0;
  const kc::checker check = [&](bool ok, const std::string& message) {
    ++checks;
    if (!ok) {
      ++failures;
      std::fprintf(stderr, "FAILED: %s\n", message.c_str());
    }
  };
  try {
    kc::all<reference, vtrans::cuda, float>(check);
    kc::all<reference, vtrans::cuda, double>(check);
    vtrans::cuda::synchronize();

    // TF32 GEMMs: 10-bit mantissas, so only a loose agreement
    vtrans::thrust_cuda::set_tf32(true);
    kc::compare<reference, vtrans::cuda, float>(check, "gemm with TF32", [&](auto t) {
      using B = typename decltype(t)::type;
      kc::dev<B, float> a(kc::rnd<float>(33 * 65, 1)), b(kc::rnd<float>(65 * 17, 2)), c(kc::rnd<float>(33 * 17, 3));
      B::gemm(false, false, 33, 17, 65, 1.0f, a.p(), 65, b.p(), 17, 0.0f, c.p(), 17);
      return kc::outputs{kc::widen(c.host())};
    }, false, 200.0);
    vtrans::thrust_cuda::set_tf32(false);

    // Small uploads are queued from pinned slots (cuda_detail::upload_ring) without a host wait:
    // the host buffer may change right after the call, the ring wraps around several times, a
    // kernel queued between two uploads into one buffer sees the first, and a large upload takes
    // the synchronous path; every value arrives.
    {
      using gpu = vtrans::cuda;
      const std::size_t n = 1000, rounds = 3 * vtrans::cuda_detail::upload_ring::count;
      std::vector<float> host(n);
      std::vector<gpu::storage<float>> x, y;
      for (std::size_t r = 0; r < rounds; ++r) {
        for (std::size_t i = 0; i < n; ++i) host[i] = float(r * n + i);
        x.push_back(gpu::allocate<float>(idx(n)));
        y.push_back(gpu::allocate<float>(idx(n)));
        gpu::upload(host.data(), idx(n), gpu::data(x.back()));
        std::fill(host.begin(), host.end(), -1.0f);  // the queued copy must not read this
        gpu::axpby(idx(n), 2.0f, gpu::data(x.back()), 0.0f, gpu::data(y.back()));
        for (std::size_t i = 0; i < n; ++i) host[i] = -float(r * n + i);
        gpu::upload(host.data(), idx(n), gpu::data(x.back()));  // after the kernel has read the first
      }
      std::vector<float> big(std::size_t(1) << 20);
      for (std::size_t i = 0; i < big.size(); ++i) big[i] = float(i % 4099);
      auto big_dev = gpu::allocate<float>(idx(big.size()));
      gpu::upload(big.data(), idx(big.size()), gpu::data(big_dev));
      bool ok = true;
      std::vector<float> got(n);
      for (std::size_t r = 0; r < rounds; ++r) {
        gpu::download(gpu::data(y[r]), idx(n), got.data());
        for (std::size_t i = 0; i < n; ++i) ok = ok && got[i] == 2.0f * float(r * n + i);
        gpu::download(gpu::data(x[r]), idx(n), got.data());
        for (std::size_t i = 0; i < n; ++i) ok = ok && got[i] == -float(r * n + i);
      }
      std::vector<float> big_back(big.size());
      gpu::download(gpu::data(big_dev), idx(big.size()), big_back.data());
      check(ok && big_back == big, "queued uploads: every value arrives, in order with the kernels");
    }

    // Failures surface as vtrans::cuda_error naming the call.
    auto expect_error = [&](const char* what, auto&& f) {
      try {
        f();
        check(false, std::string(what) + ": no exception");
      } catch (const vtrans::cuda_error& e) {
        check(std::string(e.what()).find("vtrans::cuda") != std::string::npos, std::string(what) + ": " + e.what());
      }
    };
    auto buf = vtrans::cuda::allocate<float>(16);
    float* p = vtrans::cuda::data(buf);
    expect_error("cuBLAS rejects lda < k", [&] { vtrans::cuda::gemm(false, false, 4, 4, 4, 1.0f, p, 1, p, 4, 0.0f, p, 4); });
    expect_error("allocation beyond the device", [&] { vtrans::cuda::allocate<float>(vtrans::index(1) << 45); });
  } catch (const std::exception& e) {
    std::fprintf(stderr, "test_cuda_kernels: unexpected exception: %s\n", e.what());
    return 1;
  }
  std::printf("test_cuda_kernels: %d checks, %d failed\n", checks, failures);
  return failures ? 1 : 0;
}
