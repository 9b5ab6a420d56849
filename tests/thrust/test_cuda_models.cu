// The model, mask and pruning templates (nn/, masks/, prune/, train/) on vtrans::cuda, compiled
// by nvcc: every golden checkpoint's logits and hidden states against the independent reference
// (tests/data/models), BF16 layer matrices multiplied in BF16 (--half-gemm) against the same
// matrices widened, and short Faster-VTrans and VTrans runs on the GPU (Faster-VTrans also on BF16
// matrices in BF16 products) that must meet their budget, stay finite, and read nothing from the
// device once warm. Compiling this file
// is the proof that nothing in those folders needs a concrete host backend; running it needs a GPU
// (exit code 77, skipped, without one). No doctest, no xtensor.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "reference/golden_models.hpp"
#include "support/toy_task.hpp"
#include "vtrans/io/npy.hpp"
#include "vtrans/masks/policies.hpp"
#include "vtrans/nn/load.hpp"
#include "vtrans/prune/vtrans.hpp"
#include "vtrans/tensor/thrust_backend.hpp"

using namespace vtrans;
using idx = vtrans::index;  // a bare `index` meets glibc's index()
using gpu = vtrans::cuda;   // a bare `cuda` meets the CUDA runtime's namespace

namespace {
int checks = 0, failures = 0;
void check(bool ok, const std::string& what) {
  ++checks;
  if (!ok) {
    ++failures;
    std::fprintf(stderr, "FAILED: %s\n", what.c_str());
  }
}

std::vector<std::int32_t> read_ints(const std::string& path, idx& rows) {
  std::vector<std::int32_t> out;
  std::ifstream in(path);
  rows = 0;
  for (std::string line; std::getline(in, line);) {
    std::istringstream s(line);
    bool any = false;
    for (long v; s >> v;) out.push_back(std::int32_t(v)), any = true;
    rows += any ? 1 : 0;
  }
  return out;
}

double worst_scaled_error(const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size()) return INFINITY;
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(double(got[i]) - want[i]) / (1.0 + std::abs(want[i])));
  return worst;
}

double worst_scaled_error(const std::vector<float>& got, const io::npy_array<float>& want) { return worst_scaled_error(got, want.data); }

nn::batch_input golden_input(const std::string& dir) {
  nn::batch_input in;
  in.ids = read_ints(dir + "/input_ids.txt", in.batch);
  in.seq = in.batch ? idx(in.ids.size()) / in.batch : 0;
  idx rows = 0;
  in.attention_mask = read_ints(dir + "/attention_mask.txt", rows);
  if (std::ifstream(dir + "/token_type_ids.txt")) in.token_type_ids = read_ints(dir + "/token_type_ids.txt", rows);
  return in;
}

void golden(const std::string& name) {
  const std::string dir = vtrans_test::models_dir() + name;
  nn::with_family(io::load_config(dir).family, [&](auto family) {
    const auto model = nn::load_pretrained<decltype(family), gpu, float>(dir);
    const nn::batch_input in = golden_input(dir);
    autodiff::no_record guard;
    const auto out = model.forward(in);
    const double logits = worst_scaled_error(out.logits.value().to_host(), io::read_npy<float>(dir + "/expected.npy"));
    const double hidden = worst_scaled_error(out.hidden.value().to_host(), io::read_npy<float>(dir + "/expected_hidden.npy"));
    std::printf("golden %-22s logits %.2e  hidden %.2e\n", name.c_str(), logits, hidden);
    check(logits <= 1e-4 && hidden <= 1e-4, name + ": outputs differ from the reference");
    return 0;
  });
}

// The frozen-matrix products reach the CUDA system's 16-bit GEMM (checked where it compiles; the
// run below shows that it changes the result when switched on).
static_assert(autodiff::detail::has_gemm16<gpu, float, bf16>::value && autodiff::detail::has_gemm16<gpu, float, f16>::value);
static_assert(hooks::offered<thrust_cuda, hooks::gemm16, bool, bool, idx, idx, idx, const float*, idx, const bf16*, idx, float, float*, idx>);
static_assert(!hooks::offered<thrust_cuda, hooks::gemm16, bool, bool, idx, idx, idx, const double*, idx, const bf16*, idx, double, double*, idx>);

// The layer matrices rounded to BF16 on loading, multiplied widened to float and then in BF16
// (cublasGemmEx, activations rounded to BF16, float accumulation): the logits move by the
// activations' rounding, and only by that.
void half_products(const std::string& name) {
  const std::string dir = vtrans_test::models_dir() + name;
  nn::load_options o;
  o.matrices = nn::matrix_dtype::bf16;
  nn::with_family(io::load_config(dir).family, [&](auto family) {
    const auto model = nn::load_pretrained<decltype(family), gpu, float>(dir, o);
    const nn::batch_input in = golden_input(dir);
    autodiff::no_record guard;
    thrust_cuda::set_half_gemm(false);
    const auto widened = model.forward(in).logits.value().to_host();
    thrust_cuda::set_half_gemm(true);
    const auto half = model.forward(in).logits.value().to_host();
    thrust_cuda::set_half_gemm(false);
    const double d = worst_scaled_error(half, widened);
    std::printf("bf16 products %-15s logits against the widened bf16 matrices: scaled difference %.2e\n", name.c_str(), d);
    check(d > 0, name + ": --half-gemm did not change the products (the 16-bit path did not run)");
    check(d <= 0.05, name + ": BF16 products differ from the widened ones by more than the activations' rounding");
    return 0;
  });
}

void short_prune(prune::variant v, bool half = false) {
  nn::load_options lo;
  if (half) lo.matrices = nn::matrix_dtype::bf16;
  thrust_cuda::set_half_gemm(half);
  const auto teacher = nn::load_pretrained<nn::bert, gpu, float>(vtrans_test::models_dir() + "bert-cls", lo);
  const auto task = vtrans_test::toy_classification(64, 11, teacher.config().vocab_size);
  prune::prune_options o;
  o.kind = v;
  o.data_fraction = 1.0;
  o.target = prune::budget::parse("params=0.7");
  o.target.seq_len = 11;
  o.prune_steps = 12;
  o.max_extra_steps = 0;
  o.finetune_steps = v == prune::variant::faster ? 0 : 4;
  o.batch_size = 16;
  o.progress = train::progress_style::silent;
  o.sync_every = o.trajectory_every = 1000;  // the host reads at step 0 only
  std::int64_t step = 0;
  transfer_counts warm{}, end{};
  o.stop_requested = [&] {
    ++step;
    if (step == 4) warm = gpu::transfers().read();
    if (step == 12) end = gpu::transfers().read();
    return false;
  };
  const auto r = prune::vtrans_prune<masks::vib>(teacher, train::task_kind::sequence_classification, task, data::collate_options{}, o);
  const double uploads = double(end.uploads - warm.uploads) / 8, downloads = double(end.downloads - warm.downloads) / 8;
  thrust_cuda::set_half_gemm(false);
  std::printf("%s%s prune: %lld steps, final expected sparsity %.3f, %.0f of %.0f parameters kept, per warm step %.1f uploads, %.1f downloads\n",
              prune::variant_name(v), half ? " (bf16 matrices, bf16 products)" : "", (long long)r.pruning_steps, r.final_expected_sparsity, r.pruned.params, r.full.params, uploads, downloads);
  check(downloads == 0, std::string(prune::variant_name(v)) + ": a warm pruning step reads from the device");
  check(uploads == 0, std::string(prune::variant_name(v)) + ": a warm pruning step uploads (the pruning set is not resident)");
  check(r.pruned.params <= 0.7 * r.full.params + 1, std::string(prune::variant_name(v)) + ": the pruned model exceeds its budget");
  bool finite = true;
  for (const auto& p : r.trajectory) finite = finite && std::isfinite(p.loss);
  check(finite, std::string(prune::variant_name(v)) + ": a loss is not finite");
}
}  // namespace

int main() {
  if (!cuda_detail::device_available()) {
    std::puts("test_cuda_models: no usable CUDA device (cudaGetDeviceCount failed or found none): skipped");
    return 77;
  }
  try {
    for (const auto& name : vtrans_test::golden_models()) golden(name);
    short_prune(prune::variant::faster);
    short_prune(prune::variant::vtrans);
    for (const auto& name : vtrans_test::golden_models()) half_products(name);
    short_prune(prune::variant::faster, true);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "FAILED with an exception: %s\n", e.what());
    return 1;
  }
  std::printf("test_cuda_models: %d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
