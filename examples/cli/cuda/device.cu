// open_cuda_device (device.hpp) for the CUDA build of the program: the first GPU, checked against
// the architectures this program was compiled for (VTRANS_CUDA_ARCHITECTURES, from CMake).
#include <cuda_runtime.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <sstream>
#include <string>

#include "../device.hpp"
#include "vtrans/tensor/cuda/system.hpp"

namespace vtrans::cli {

namespace {
// The oldest compute capability among CMAKE_CUDA_ARCHITECTURES ("90", "80;90", "90-real"), as 10*major+minor.
int oldest_compiled_architecture() {
  const std::string list = VTRANS_CUDA_ARCHITECTURES;
  int oldest = 0;
  for (std::size_t i = 0; i < list.size();) {
    if (!std::isdigit(static_cast<unsigned char>(list[i]))) {
      ++i;
      continue;
    }
    int v = 0;
    while (i < list.size() && std::isdigit(static_cast<unsigned char>(list[i]))) v = 10 * v + (list[i++] - '0');
    oldest = oldest == 0 ? v : std::min(oldest, v);
    while (i < list.size() && list[i] != ';') ++i;  // skip "-real" / "-virtual"
  }
  return oldest;
}
}  // namespace

std::string open_cuda_device(const device_args& d) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();
    throw error(std::string("--device cuda: no usable CUDA device (") + cudaGetErrorName(e) + ": " + cudaGetErrorString(e) + ")");
  }
  if (count == 0) throw error("--device cuda: no CUDA device found");
  cuda_detail::check(cudaSetDevice(0), "cudaSetDevice");
  cudaDeviceProp p{};
  cuda_detail::check(cudaGetDeviceProperties(&p, 0), "cudaGetDeviceProperties");
  const int have = 10 * p.major + p.minor, oldest = oldest_compiled_architecture();
  if (oldest > 0 && have < oldest)
    throw error("--device cuda: " + std::string(p.name) + " has compute capability " + std::to_string(p.major) + "." + std::to_string(p.minor) +
                ", but this program was compiled for " + VTRANS_CUDA_ARCHITECTURES + " and newer; configure again with -DCMAKE_CUDA_ARCHITECTURES=" +
                std::to_string(have));
  if (d.tf32) thrust_cuda::set_tf32(true);  // else VTRANS_CUDA_TF32 decides, off unless set
  if (d.half_gemm) thrust_cuda::set_half_gemm(true);  // else VTRANS_CUDA_HALF_GEMM decides
  std::ostringstream s;
  s.precision(1);
  s << std::fixed << p.name << ", compute " << p.major << "." << p.minor << ", " << double(p.totalGlobalMem) / double(1ull << 30) << " GiB" << (thrust_cuda::tf32() ? ", TF32 on" : "")
    << (thrust_cuda::half_gemm() ? ", 16-bit products" : "");
  return s.str();
}

}  // namespace vtrans::cli
