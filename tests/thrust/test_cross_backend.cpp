// Every kernel of the backend interface, cpu (the oracle) against thrust_backend<thrust_omp>, on the
// same random inputs of odd sizes, in float and double (the checks live in kernel_checks.hpp,
// shared with the CUDA test).
#include <doctest/doctest.h>

#include <string>

#include "thrust/kernel_checks.hpp"
#include "vtrans/tensor/backend.hpp"
#include "vtrans/tensor/cpu.hpp"
#include "vtrans/tensor/thrust_backend.hpp"

using omp_backend = vtrans::thrust_backend<vtrans::thrust_omp>;
static_assert(vtrans::is_backend_v<omp_backend>, "thrust_backend<thrust_omp> must implement the backend contract");
static_assert(vtrans::is_backend_v<vtrans::thrust_backend<vtrans::thrust_cpp>>, "thrust_backend<thrust_cpp> too");
// The host systems offer no hooks: every kernel runs the shared row functions of tensor/kernels/.
static_assert(!vtrans::hooks::offered<vtrans::thrust_omp, vtrans::hooks::softmax, vtrans::index, vtrans::index, const float*, float*>);

namespace kc = vtrans::kernel_checks;

namespace {
const kc::checker doctest_check = [](bool ok, const std::string& message) { CHECK_MESSAGE(ok, message); };
}

TEST_CASE_TEMPLATE("cross-backend: element-wise, broadcast and reduction kernels", T, float, double) {
  kc::elementwise<vtrans::cpu, omp_backend, T>(doctest_check);
}
TEST_CASE_TEMPLATE("cross-backend: gemm and batched gemm", T, float, double) {
  kc::gemm<vtrans::cpu, omp_backend, T>(doctest_check);
}
TEST_CASE_TEMPLATE("cross-backend: softmax family, losses, norms, embeddings", T, float, double) {
  kc::rows<vtrans::cpu, omp_backend, T>(doctest_check);
}
TEST_CASE_TEMPLATE("cross-backend: attention (padding, causal, sliding windows, grouped heads, fused layout) and rope", T, float, double) {
  kc::attention<vtrans::cpu, omp_backend, T>(doctest_check);
}
TEST_CASE_TEMPLATE("cross-backend: random numbers follow the seeding contract exactly", T, float, double) {
  kc::random<vtrans::cpu, omp_backend, T>(doctest_check);
}
TEST_CASE_TEMPLATE("cross-backend: the VIB mask's fused sample-times-x", T, float, double) {
  kc::noisy_masks<vtrans::cpu, omp_backend, T>(doctest_check);
}
TEST_CASE_TEMPLATE("cross-backend: widening of 16-bit storage", T, float, double) {
  kc::widening<vtrans::cpu, omp_backend, T>(doctest_check);
}
TEST_CASE("cross-backend: the single-threaded system agrees too") {
  kc::all<vtrans::cpu, vtrans::thrust_backend<vtrans::thrust_cpp>, float>(doctest_check);
}
TEST_CASE("thrust_backend names its system") {
  CHECK(std::string(omp_backend::name()) == "thrust_omp");
  CHECK(std::string(vtrans::thrust_backend<vtrans::thrust_cpp>::name()) == "thrust_cpp");
}
