// Must NOT compile: a backend that lacks attention_backward. The test test_backend_contract builds
// this file and expects the compiler to name the missing function (tensor/backend.hpp) before
// anything else goes wrong.
#include "vtrans/tensor/cpu.hpp"
#include "vtrans/tensor/tensor.hpp"

// Every function of cpu except attention_backward, which this declaration hides.
struct incomplete_backend : vtrans::cpu {
  static void attention_backward() = delete;
};

int main() {
  vtrans::tensor<float, incomplete_backend> t;
  return static_cast<int>(t.numel());
}
