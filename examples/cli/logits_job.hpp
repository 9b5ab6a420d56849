#pragma once
// vtrans logits' model work on backend B (device.hpp): one no-record forward pass, its output on the host.
#include <cstdint>
#include <string>
#include <vector>

#include "load_model.hpp"

namespace vtrans::cli {

struct logits_output {
  std::vector<std::int64_t> dims;
  std::vector<float> values;
};

template <class B>
logits_output compute_logits(const std::string& model_dir, const nn::load_options& load, const nn::batch_input& in) {
  const auto model = load_model<B>(model_dir, load);
  autodiff::no_record guard;
  const auto out = model.forward(in);
  logits_output r;
  for (int i = 0; i < out.logits.shape().rank(); ++i) r.dims.push_back(out.logits.shape()[i]);
  r.values = out.logits.value().to_host();
  return r;
}

// The same on vtrans::cuda (cuda/jobs_eval.cu; cuda/no_cuda.cpp in a build without nvcc).
logits_output logits_on_cuda(const std::string& model_dir, const nn::load_options& load, const nn::batch_input& in);

}  // namespace vtrans::cli
