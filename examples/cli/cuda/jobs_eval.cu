// vtrans eval, logits and probe on vtrans::cuda: the *_job.hpp templates compiled by nvcc.
#include "../eval_job.hpp"
#include "../logits_job.hpp"
#include "../probe_job.hpp"
#include "vtrans/tensor/thrust_backend.hpp"

namespace vtrans::cli {

std::map<std::string, double> evaluate_prepared_on_cuda(prepared_split p, const std::string& model_dir, long batch_size, bool quiet,
                                                        nn::matrix_dtype matrices) {
  return evaluate_prepared<vtrans::cuda>(std::move(p), model_dir, batch_size, quiet, matrices);
}

logits_output logits_on_cuda(const std::string& model_dir, const nn::load_options& load, const nn::batch_input& in) {
  return compute_logits<vtrans::cuda>(model_dir, load, in);
}

prune::attention_probe probe_on_cuda(const std::string& model_dir, const std::vector<nn::batch_input>& batches,
                                     const std::vector<std::int32_t>& special_ids, const std::vector<std::int32_t>& keyword_ids) {
  return probe_model<vtrans::cuda>(model_dir, batches, special_ids, keyword_ids);
}

}  // namespace vtrans::cli
