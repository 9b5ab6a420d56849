// vtrans train on vtrans::cuda: train_job.hpp compiled by nvcc.
#include "../train_job.hpp"
#include "vtrans/tensor/thrust_backend.hpp"

namespace vtrans::cli {

int train_on_cuda(const train_args& a, io::family f, task_source& src, std::unique_ptr<text::tokenizer> tok, io::folder_writer& folder) {
  return train_model<vtrans::cuda>(a, f, src, std::move(tok), folder);
}

}  // namespace vtrans::cli
