#pragma once
// --device of the commands that run a model: cpu (vtrans::cpu) or cuda (vtrans::cuda, an NVIDIA
// GPU). Each command's model work is a template over the backend in a *_job.hpp header; the cpu
// instance is compiled with the command, the cuda one by nvcc in cuda/*.cu when the build found
// nvcc. A build without it links cuda/no_cuda.cpp instead, whose open_cuda_device() refuses with
// the reason, so `--device cuda` always answers in one clear line.
#include <string>

#include "vtrans/error.hpp"

namespace vtrans::cli {

enum class device_kind { cpu, cuda };

struct device_args {
  std::string name = "cpu";
  bool tf32 = false;       // TF32 tensor-core products on the GPU (10-bit mantissa inputs, float accumulation)
  bool half_gemm = false;  // frozen BF16/F16 weights multiplied in their own type on the GPU (float accumulation)
};

inline constexpr const char* device_help = "where the model runs: cpu, or cuda (the first NVIDIA GPU; a build made with nvcc)";
inline constexpr const char* tf32_help = "--device cuda: multiply float32 matrices in TF32 on tensor cores (faster, ~3 digits; default off)";
inline constexpr const char* half_gemm_help =
    "--device cuda: multiply frozen BF16/F16 weights in their own type on tensor cores, activations rounded to it, float "
    "accumulation (faster; default off: widened to float32)";

inline device_kind parse_device(const device_args& d) {
  if (d.name != "cpu" && d.name != "cuda") throw usage_error("--device must be cpu or cuda, not \"" + d.name + "\"");
  if (d.tf32 && d.name != "cuda") throw usage_error("--tf32 applies to --device cuda only");
  if (d.half_gemm && d.name != "cuda") throw usage_error("--half-gemm applies to --device cuda only");
  return d.name == "cuda" ? device_kind::cuda : device_kind::cpu;
}

// Makes the first CUDA device current, sets TF32 and 16-bit products as asked and describes it in
// one line ("NVIDIA H200, compute 9.0, 139.8 GiB", with ", TF32 on" / ", 16-bit products" when
// they are); throws vtrans::error saying why when the program cannot run on it: built without
// CUDA, no device or driver, or a GPU older than the architectures compiled.
std::string open_cuda_device(const device_args& d);

// The device a command runs on, opened and announced on stderr when it is the GPU.
device_kind choose_device(const device_args& d);

}  // namespace vtrans::cli
