// Trains one linear unit for a step through the installed headers and prints its gradient; then
// loads a SentencePiece tokenizer directory, which works when built with vtrans::sentencepiece and
// otherwise fails with a message that says so.
#include <cstdio>
#include <exception>
#include <string>

#include <vtrans/vtrans.hpp>

int main(int argc, char** argv) {
  vtrans::blas::ensure_fast_kernels(argv);
  using namespace vtrans;
  autodiff::param<double, cpu> w(tensor<double, cpu>::from_host(shape{1, 2}, {0.5, -1.0}));
  autodiff::var<double, cpu> x(tensor<double, cpu>::from_host(shape{1, 2}, {2.0, 3.0}));
  autodiff::backward(autodiff::sum(autodiff::linear(x, w)));  // d/dw (w . x) = x
  const auto g = w.grad().to_host();
  std::printf("vtrans %s grad %.1f %.1f\n", VTRANS_VERSION_STRING, g[0], g[1]);
  if (g[0] != 2.0 || g[1] != 3.0) return 1;
  if (argc < 2) return 0;
  try {
    const auto tok = text::load_tokenizer(argv[1]);
    std::printf("sentencepiece: %s, %zu pieces for \"Hello world\"\n", tok->kind().c_str(), tok->encode("Hello world").size());
  } catch (const std::exception& e) {
    std::printf("sentencepiece: unavailable: %s\n", e.what());
  }
  return 0;
}
