// The encoder layer on vtrans::cuda (thrust's CUDA system, cuBLAS, fused row kernels): the nvcc
// translation unit. No xtensor here.
#include "encoder_layer.hpp"
#include "vtrans/tensor/thrust_backend.hpp"

namespace vtrans::bench {
bool cuda_device_available() { return cuda_detail::device_available(); }
encoder_timing time_encoder_cuda(const encoder_config& c, bool tf32) {
  thrust_cuda::set_tf32(tf32);
  encoder_timing t = time_encoder<float, cuda>(c);
  thrust_cuda::set_tf32(false);
  return t;
}
}  // namespace vtrans::bench
