// The CUDA side of the program in a build made without nvcc: every --device cuda entry point
// refuses with the reason and the remedy (device.hpp). Linked instead of cuda/*.cu.
#include "../device.hpp"
#include "../eval_job.hpp"
#include "../logits_job.hpp"
#include "../probe_job.hpp"
#include "../prune_job.hpp"
#include "../train_job.hpp"

namespace vtrans::cli {

namespace {
[[noreturn]] void refuse() {
  throw usage_error(
      "--device cuda: this vtrans was built without CUDA (nvcc was not found when it was configured); install the CUDA toolkit, "
      "configure again with -DVTRANS_CUDA=ON, or use --device cpu");
}
}  // namespace

std::string open_cuda_device(const device_args&) { refuse(); }
std::map<std::string, double> evaluate_prepared_on_cuda(prepared_split, const std::string&, long, bool, nn::matrix_dtype) { refuse(); }
logits_output logits_on_cuda(const std::string&, const nn::load_options&, const nn::batch_input&) { refuse(); }
prune::attention_probe probe_on_cuda(const std::string&, const std::vector<nn::batch_input>&, const std::vector<std::int32_t>&,
                                     const std::vector<std::int32_t>&) {
  refuse();
}
int prune_on_cuda(const prune_args&) { refuse(); }
int train_on_cuda(const train_args&, io::family, task_source&, std::unique_ptr<text::tokenizer>, io::folder_writer&) { refuse(); }

}  // namespace vtrans::cli
