// Pruning steps on the GPU through prune::vtrans_prune itself, the loop `vtrans prune --device
// cuda` runs: each step is timed from the loop's per-step hook (prune_options::stop_requested)
// after a device synchronisation, so nothing of the step is re-implemented here. The teacher runs
// every step (no teacher cache), as in the paper's loop. Run by scripts/gpu-check on the
// random-weight checkpoints `bench_prune_step --write-checkpoint` writes; prints one JSON line.
// A BF16 checkpoint's layer matrices stay in 16 bits (shared by a Faster student, widened for
// each product, or with --half-gemm multiplied in BF16 by cublasGemmEx), as `vtrans prune --dtype
// auto` keeps them.
//   bench_cuda_prune_step --model DIR [--variant faster|vtrans] [--batch 32] [--seq 128]
//                         [--steps 10] [--warmup 3] [--tf32] [--half-gemm]
// step_tflops counts the model's FLOPs of a step: the teacher's forward pass, the student's, and
// its backward pass (one forward's worth for Faster-VTrans, which needs no weight gradients; two
// for VTrans), from the cost formula (prune/cost.hpp) at the full size.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vtrans/masks/policies.hpp"
#include "vtrans/nn/load.hpp"
#include "vtrans/prune/vtrans.hpp"
#include "vtrans/tensor/thrust_backend.hpp"

using namespace vtrans;
using gpu = vtrans::cuda;  // a bare `cuda` meets the CUDA runtime's namespace
using idx = vtrans::index;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

int usage(const std::string& what) {
  std::fprintf(stderr, "bench_cuda_prune_step: %s\nusage: bench_cuda_prune_step --model DIR [--variant faster|vtrans] [--batch N] [--seq N] "
                       "[--steps N] [--warmup N] [--tf32] [--half-gemm]\n", what.c_str());
  return 2;
}

// batch * steps sequences of `seq` random tokens (no padding), with random labels for classification.
std::vector<data::sequence> random_sequences(std::size_t count, idx seq, idx vocab, bool classification) {
  std::vector<data::sequence> out(count);
  for (std::size_t i = 0; i < count; ++i) {
    for (idx t = 0; t < seq; ++t)
      out[i].ids.push_back(std::int32_t(1 + math::mix64(0x5eed + i * std::uint64_t(seq) + std::uint64_t(t)) % std::uint64_t(vocab - 1)));
    if (classification) out[i].label = int(math::mix64(0x1abe1 + i) % 2);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model, variant = "faster";
  idx batch = 32, seq = 128;
  int steps = 10, warmup = 3;
  bool tf32 = false, half_gemm = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw usage_error(a + " needs a value");
      return argv[++i];
    };
    try {
      if (a == "--model") model = value();
      else if (a == "--variant") variant = value();
      else if (a == "--batch") batch = std::stol(value());
      else if (a == "--seq") seq = std::stol(value());
      else if (a == "--steps") steps = std::stoi(value());
      else if (a == "--warmup") warmup = std::stoi(value());
      else if (a == "--tf32") tf32 = true;
      else if (a == "--half-gemm") half_gemm = true;
      else return usage("unknown option " + a);
    } catch (const std::exception& e) {
      return usage(e.what());
    }
  }
  if (model.empty() || steps < 1 || warmup < 1 || batch < 1 || seq < 2) return usage("--model is required; sizes must be positive");
  if (!cuda_detail::device_available()) {
    std::printf("{\"error\": \"no usable CUDA device\"}\n");
    return 77;
  }
  if (tf32) thrust_cuda::set_tf32(true);
  if (half_gemm) thrust_cuda::set_half_gemm(true);
  cudaDeviceProp prop{};
  cuda_detail::check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");

  nlohmann::json r{{"model", model}, {"variant", variant}, {"batch", batch}, {"seq", seq}, {"gpu", prop.name}, {"tf32", thrust_cuda::tf32()},
                 {"half_gemm", thrust_cuda::half_gemm()}};
  try {
    double t = now();
    nn::load_options lo;
    lo.matrices = nn::matrix_dtype::as_stored;  // a BF16 checkpoint's matrices stay 16-bit, as `vtrans prune --dtype auto`
    const auto teacher = nn::load_pretrained<nn::any_family, gpu, float>(model, lo);
    gpu::synchronize();
    r["load_s"] = now() - t;
    r["matrices"] = teacher.matrices() == nn::matrix_dtype::compute ? "float32" : "16-bit";
    r["parameters"] = teacher.parameter_count();
    const bool classification = teacher.head() == nn::head_kind::sequence_classification;
    const auto task = classification ? train::task_kind::sequence_classification : train::task_kind::causal_lm;
    // one timed interval per step after the warm-up: the hook's stamps bound warmup + steps + 1 steps
    const int total = warmup + steps + 1;
    const auto data = random_sequences(std::size_t(batch) * std::size_t(total), seq, teacher.config().vocab_size, classification);
    prune::prune_options o;
    o.kind = prune::parse_variant(variant);
    o.target = prune::budget::parse("params=0.5");
    o.target.seq_len = seq;
    o.prune_steps = total;
    o.max_extra_steps = 0;
    o.finetune_steps = 0;
    o.batch_size = batch;
    o.data_fraction = 1.0;  // every step a full batch, whatever the variant
    o.teacher_cache_mb = 0;
    o.progress = train::progress_style::silent;
    std::vector<double> stamps;
    o.stop_requested = [&] {
      gpu::synchronize();
      stamps.push_back(now());
      return false;
    };
    data::collate_options col;
    col.max_length = seq;
    t = now();
    const auto result = prune::vtrans_prune<masks::vib>(teacher, task, data, col, o);
    gpu::synchronize();
    r["run_s"] = now() - t;
    std::vector<double> times;
    for (std::size_t i = std::size_t(warmup) + 1; i < stamps.size(); ++i) times.push_back(stamps[i] - stamps[i - 1]);
    if (times.empty()) throw error("the pruning loop took " + std::to_string(stamps.size()) + " steps, fewer than the warm-up");
    std::sort(times.begin(), times.end());
    const double step_s = times[times.size() / 2];
    const double backward = o.kind == prune::variant::faster ? 1.0 : 2.0;
    const double step_flops = double(batch * seq) * result.full.flops * (2.0 + backward);
    std::size_t free_b = 0, total_b = 0;
    cuda_detail::check(cudaMemGetInfo(&free_b, &total_b), "cudaMemGetInfo");
    r["steps_timed"] = times.size();
    r["step_s"] = step_s;
    r["step_min_s"] = times.front();
    r["step_max_s"] = times.back();
    r["step_tflops"] = step_flops / step_s / 1e12;
    // tensors freed during the run stay in vtrans' caching pool, so this is the run's peak (plus the CUDA context)
    r["device_used_mib"] = double(total_b - free_b) / double(1 << 20);
    r["pruned_params_fraction"] = result.pruned.params / result.full.params;
  } catch (const std::exception& e) {
    r["error"] = e.what();
    std::printf("%s\n", r.dump().c_str());
    return 1;
  }
  std::printf("%s\n", r.dump().c_str());
  return 0;
}
