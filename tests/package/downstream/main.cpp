// Trains one linear unit for a step through the installed headers and prints its gradient.
#include <cstdio>

#include <vtrans/vtrans.hpp>

int main(int, char** argv) {
  vtrans::blas::ensure_fast_kernels(argv);
  using namespace vtrans;
  autodiff::param<double, cpu> w(tensor<double, cpu>::from_host(shape{1, 2}, {0.5, -1.0}));
  autodiff::var<double, cpu> x(tensor<double, cpu>::from_host(shape{1, 2}, {2.0, 3.0}));
  autodiff::backward(autodiff::sum(autodiff::linear(x, w)));  // d/dw (w . x) = x
  const auto g = w.grad().to_host();
  std::printf("vtrans %s grad %.1f %.1f\n", VTRANS_VERSION_STRING, g[0], g[1]);
  return g[0] == 2.0 && g[1] == 3.0 ? 0 : 1;
}
