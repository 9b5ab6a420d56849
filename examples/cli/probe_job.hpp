#pragma once
// vtrans probe's model work on backend B (device.hpp): attention statistics of every head.
#include <cstdint>
#include <string>
#include <vector>

#include "load_model.hpp"
#include "vtrans/prune/probe.hpp"

namespace vtrans::cli {

template <class B>
prune::attention_probe probe_model(const std::string& model_dir, const std::vector<nn::batch_input>& batches,
                                   const std::vector<std::int32_t>& special_ids, const std::vector<std::int32_t>& keyword_ids) {
  return prune::probe_attention(load_model<B>(model_dir), batches, special_ids, keyword_ids);
}

// The same on vtrans::cuda (cuda/jobs_eval.cu; cuda/no_cuda.cpp in a build without nvcc).
prune::attention_probe probe_on_cuda(const std::string& model_dir, const std::vector<nn::batch_input>& batches,
                                     const std::vector<std::int32_t>& special_ids, const std::vector<std::int32_t>& keyword_ids);

}  // namespace vtrans::cli
