// The encoder layer on vtrans::cpu (xtensor storage, OpenBLAS): a host translation unit.
#include "encoder_layer.hpp"
#include "vtrans/tensor/cpu.hpp"

namespace vtrans::bench {
encoder_timing time_encoder_cpu(const encoder_config& c) { return time_encoder<float, cpu>(c); }
}  // namespace vtrans::bench
