// What keeping frozen weights in 16 bits costs: linear over a frozen bf16 weight (widened panel
// by panel into a reused scratch buffer, then an fp32 GEMM) against linear over the fp32 weight,
// forward and forward + backward into the input, at BERT-base and LLaMA-2-7B layer sizes.
//
//   build/bin/bench_linear16 [--reps N] [--threads N] [--cpu-clock] [--panel ELEMENTS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <omp.h>
#include <time.h>

#include "vtrans/tensor/cpu.hpp"  // first: the autodiff headers expect a backend to be declared
#include "vtrans/autodiff/autodiff.hpp"
#include "vtrans/tensor/openblas_runtime.hpp"
#include "measure.hpp"

extern "C" void openblas_set_num_threads(int);

using namespace vtrans;
using namespace vtrans::autodiff;

using namespace vtrans_bench;

namespace {

template <class F>
double time_ms(int reps, F f) {
  f();  // warm-up: the scratch and outputs come from the allocator's cache afterwards
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const double t0 = now();
    f();
    t.push_back(now() - t0);
  }
  return 1e3 * median(t);
}

struct layer_shape {
  const char* model;
  const char* name;
  vtrans::index rows, in, out;
};

}  // namespace

int main(int argc, char** argv) {
  vtrans::blas::ensure_fast_kernels(argv);
  int reps = 5, threads = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--reps" && i + 1 < argc) reps = std::max(1, std::atoi(argv[++i]));
    else if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (a == "--cpu-clock") use_cpu_clock() = true;
    else if (a == "--panel" && i + 1 < argc) detail::widen_panel_elements = std::atol(argv[++i]);
    else { std::fprintf(stderr, "unknown argument %s\n", argv[i]); return 2; }
  }
  if (threads > 0) { omp_set_num_threads(threads); openblas_set_num_threads(threads); }
  std::printf("bench_linear16: %s, OpenMP threads %d, median of %d (%s)\n", blas::kernel_report().c_str(), omp_get_max_threads(), reps,
              use_cpu_clock() ? "process CPU time" : "wall clock");
  std::printf("%-10s %-6s %-18s | %9s %9s %6s | %9s %9s %6s | %8s %8s\n", "model", "layer", "x [rows,in] W [out,in]", "fp32 fwd",
              "bf16 fwd", "ratio", "fp32 f+b", "bf16 f+b", "ratio", "widen", "W MiB");
  const layer_shape shapes[] = {{"BERT-base", "qkvo", 1024, 768, 768},      {"BERT-base", "up", 1024, 768, 3072},
                                {"BERT-base", "down", 1024, 3072, 768},     {"LLaMA-7B", "qkvo", 128, 4096, 4096},
                                {"LLaMA-7B", "up", 128, 4096, 11008},       {"LLaMA-7B", "down", 128, 11008, 4096}};
  for (const auto& s : shapes) {
    std::vector<float> w(static_cast<std::size_t>(s.out * s.in)), xv(static_cast<std::size_t>(s.rows * s.in));
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = 0.02f * float(math::bulk_normal(1, i));
    for (std::size_t i = 0; i < xv.size(); ++i) xv[i] = float(math::bulk_normal(2, i));
    std::vector<bf16> w16(w.size());
    narrow(w.size(), w.data(), w16.data());
    widen(w16.size(), w16.data(), w.data());  // both sides multiply the same values
    const var<float, cpu> w32(tensor<float, cpu>::from_host(shape{s.out, s.in}, w));
    const frozen<bf16, cpu> wf(tensor<bf16, cpu>::from_host(shape{s.out, s.in}, w16));
    w.clear();
    w.shrink_to_fit();
    const var<float, cpu> x_const(tensor<float, cpu>::from_host(shape{s.rows, s.in}, xv));
    var<float, cpu> x(x_const.value().clone(), true);

    auto fwd = [&](const auto& weight) {
      return time_ms(reps, [&] {
        no_record guard;
        linear(x_const, weight);
      });
    };
    auto fwdbwd = [&](const auto& weight) {
      return time_ms(reps, [&] {
        x.zero_grad();
        backward(sum(linear(x, weight)));
      });
    };
    const double f32 = fwd(w32), f16 = fwd(wf), b32 = fwdbwd(w32), b16 = fwdbwd(wf);
    tensor<float, cpu> scratch(shape{s.out, s.in});
    const double widen_ms = time_ms(reps, [&] { cpu::widen(wf.numel(), wf.value().data(), scratch.data()); });
    std::printf("%-10s %-6s [%5ld,%5ld] [%5ld] | %7.2fms %7.2fms %5.2fx | %7.2fms %7.2fms %5.2fx | %6.2fms %4.0f->%3.0f\n", s.model, s.name,
                long(s.rows), long(s.in), long(s.out), f32, f16, f16 / f32, b32, b16, b16 / b32, widen_ms,
                double(s.out * s.in) * 4 / (1 << 20), double(s.out * s.in) * 2 / (1 << 20));
  }
  std::printf("\nratio: bf16 time / fp32 time; widen: the whole weight widened once (a panel of %ld floats at a time in linear)\n",
              long(detail::widen_panel_elements));
  return 0;
}
