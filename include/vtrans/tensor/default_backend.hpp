#pragma once
// The backend the model templates use when none is named: vtrans::cpu, declared here and defined
// in tensor/cpu.hpp. nn/, masks/, prune/ and train/ include no concrete backend, so the same
// templates compile under nvcc with vtrans::cuda; a program that keeps the default includes
// "vtrans/tensor/cpu.hpp" (or "vtrans/vtrans.hpp"), and so chooses the backend.
namespace vtrans {
struct cpu;
}  // namespace vtrans
