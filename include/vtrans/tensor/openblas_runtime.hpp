#pragma once
// Debian's OpenBLAS 0.3.21 does not recognise recent CPUs and silently falls back to generic
// kernels several times slower. OPENBLAS_CORETYPE is read only when the library loads, so a
// program that finds the fallback re-executes itself once with the variable set.
#include <cstdlib>
#include <cstring>
#include <string>

#include <unistd.h>

#include "vtrans/tensor/blas.hpp"

namespace vtrans::blas {

// Kernel family OpenBLAS should use on this CPU, or "" when its own choice is already right.
inline std::string preferred_coretype() {
  const std::string core = core_name();
  const char* generic[] = {"Prescott", "Core2", "Nehalem", "Atom", "Katmai", "Coppermine", "Northwood",
                           "Banias", "Penryn", "Dunnington", "Unknown", "generic"};
  bool is_generic = false;
  for (const char* g : generic) is_generic |= strcasecmp(core.c_str(), g) == 0;
  if (!is_generic) return "";
#if defined(__x86_64__) || defined(__i386__)
  if (__builtin_cpu_supports("avx512f")) return "SkylakeX";
  if (__builtin_cpu_supports("avx2")) return "Haswell";
#endif
  return "";
}

// Call first thing in main(). Returns normally when the kernels are right (or the user chose
// them with OPENBLAS_CORETYPE); otherwise replaces the process with itself, the variable set.
inline void ensure_fast_kernels(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") || std::getenv("VTRANS_NO_REEXEC")) return;
  const std::string coretype = preferred_coretype();
  if (coretype.empty()) return;
  setenv("OPENBLAS_CORETYPE", coretype.c_str(), 1);
  setenv("VTRANS_NO_REEXEC", "1", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: carry on with the slow kernels
}

// One line for logs and benchmark output: which kernels and how many threads.
inline std::string kernel_report() {
  return "OpenBLAS " + std::string(core_name()) + " kernels, " + std::to_string(openblas_get_num_threads()) + " threads";
}

}  // namespace vtrans::blas
