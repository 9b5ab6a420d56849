// BERT-base encoder layer, forward + backward, float: vtrans::cuda against vtrans::cpu.
//   bench_cuda_encoder [--iters N] [--cpu-iters N] [--batch B] [--seq S] [--no-cpu] [--tf32]
// Prints one "| backend | ms/step | checksum |" row per run. Exits 0 with a note when no GPU.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "encoder_layer.hpp"
#include "vtrans/tensor/openblas_runtime.hpp"

int main(int argc, char** argv) {
  vtrans::blas::ensure_fast_kernels(argv);
  vtrans::bench::encoder_config c;
  int cpu_iters = 2;
  bool run_cpu = true, tf32 = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::atol(argv[++i]) : 0L; };
    if (a == "--iters") c.iters = int(next());
    else if (a == "--cpu-iters") cpu_iters = int(next());
    else if (a == "--batch") c.batch = next();
    else if (a == "--seq") c.seq = next();
    else if (a == "--no-cpu") run_cpu = false;
    else if (a == "--tf32") tf32 = true;
    else { std::fprintf(stderr, "unknown argument %s\n", a.c_str()); return 2; }
  }
  std::printf("encoder layer fwd+bwd: batch %ld, seq %ld, hidden %ld, heads %ld, ffn %ld, float\n", long(c.batch),
              long(c.seq), long(c.hidden), long(c.heads), long(c.ffn));
  std::printf("| backend | ms/step | checksum |\n|---|---|---|\n");
  try {
    if (!vtrans::bench::cuda_device_available()) {
      std::printf("| cuda | no GPU: skipped | |\n");
    } else {
      auto t = vtrans::bench::time_encoder_cuda(c, false);
      std::printf("| vtrans cuda | %.3f | %.6g |\n", t.ms_per_step, t.checksum);
      if (tf32) {
        t = vtrans::bench::time_encoder_cuda(c, true);
        std::printf("| vtrans cuda tf32 | %.3f | %.6g |\n", t.ms_per_step, t.checksum);
      }
    }
    if (run_cpu) {
      vtrans::bench::encoder_config cc = c;
      cc.warmup = 1;
      cc.iters = cpu_iters;
      auto t = vtrans::bench::time_encoder_cpu(cc);
      std::printf("| vtrans cpu (%s) | %.3f | %.6g |\n", vtrans::blas::kernel_report().c_str(), t.ms_per_step, t.checksum);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cuda_encoder: %s\n", e.what());
    return 1;
  }
  return 0;
}
