#pragma once
// Inverted dropout with counter-based randomness: the mask depends only on (seed, offset), so a
// run is reproducible and every backend draws the same mask.
#include <cstdint>

#include "vtrans/autodiff/tape.hpp"

namespace vtrans::autodiff {

// Returns x unchanged when p == 0 (evaluation), else x * mask / (1 - p).
template <class T, class B>
var<T, B> dropout(const var<T, B>& x, double p, std::uint64_t seed, std::uint64_t offset = 0) {
  require(p >= 0.0 && p < 1.0, "dropout", "probability " + std::to_string(p) + " outside [0, 1)");
  if (p == 0.0) return x;
  const index n = x.numel();
  tensor<T, B> mask(x.shape()), y(x.shape());
  B::dropout_mask(n, p, seed, offset, mask.data());
  B::binary(math::binary_op::mul, 1, n, x.value().data(), mask.data(), broadcast::none, y.data());
  return record(std::move(y), {&x}, [gx = x.grad_handle(), n, mask = std::move(mask)](const tensor<T, B>& g) {
    B::accumulate(1, n, T(1), g.data(), mask.data(), broadcast::none, gx.buffer().data());
  });
}

}  // namespace vtrans::autodiff
