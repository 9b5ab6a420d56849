#pragma once
// Seeded randomness that gives the same result on every platform and standard library:
// std::mt19937_64 is fully specified, but std::shuffle and std::uniform_int_distribution are not,
// so the uniform draw and Fisher-Yates are written out here.
#include <cstdint>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "vtrans/error.hpp"

namespace vtrans::data {

// Uniform integer in [0, n) by rejection (no modulo bias). n must be > 0.
inline std::uint64_t uniform_below(std::mt19937_64& rng, std::uint64_t n) {
  if (n == 0) throw usage_error("vtrans::data::uniform_below: n must be positive");
  // Accept only draws below the largest multiple of n that fits in 64 bits.
  const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % n;
  for (;;) {
    const std::uint64_t x = rng();
    if (x < limit) return x % n;
  }
}

// Fisher-Yates, last element first.
template <class T>
void fisher_yates(std::vector<T>& v, std::mt19937_64& rng) {
  for (std::size_t i = v.size(); i > 1; --i) {
    const std::size_t j = static_cast<std::size_t>(uniform_below(rng, i));
    std::swap(v[i - 1], v[j]);
  }
}

// 0..n-1 in a seeded random order.
inline std::vector<std::size_t> shuffled_indices(std::size_t n, std::mt19937_64& rng) {
  std::vector<std::size_t> idx(n);
  for (std::size_t i = 0; i < n; ++i) idx[i] = i;
  fisher_yates(idx, rng);
  return idx;
}

// Derives independent seeds (e.g. one per epoch) from a base seed: splitmix64 of seed ^ stream.
inline std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace vtrans::data
