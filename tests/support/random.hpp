#pragma once
// Seeded random tensors and vars for tests.
#include <cstdint>
#include <vector>

#include "vtrans/autodiff/var.hpp"
#include "vtrans/tensor/math.hpp"

namespace vtrans::testing {

template <class T>
std::vector<T> random_values(index n, std::uint64_t seed, double scale = 1.0, double shift = 0.0) {
  std::vector<T> v(static_cast<std::size_t>(n));
  for (index i = 0; i < n; ++i) v[std::size_t(i)] = static_cast<T>(shift + scale * math::normal(seed, std::uint64_t(i)));
  return v;
}

template <class T, class B>
autodiff::var<T, B> random_var(const shape& s, std::uint64_t seed, bool requires_grad = true, double scale = 1.0, double shift = 0.0) {
  return autodiff::var<T, B>(tensor<T, B>::from_host(s, random_values<T>(s.numel(), seed, scale, shift)), requires_grad);
}

}  // namespace vtrans::testing
