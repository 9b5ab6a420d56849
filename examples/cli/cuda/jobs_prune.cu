// vtrans prune on vtrans::cuda: prune_job.hpp compiled by nvcc (its own file: the longest to compile).
#include "../prune_job.hpp"
#include "vtrans/tensor/thrust_backend.hpp"

namespace vtrans::cli {

int prune_on_cuda(const prune_args& a) { return prune_model<vtrans::cuda>(a); }

}  // namespace vtrans::cli
