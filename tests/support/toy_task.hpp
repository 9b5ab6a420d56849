#pragma once
// A learnable classification task for pruning tests: eleven tokens, the label says whether token 5
// occurs. Plain C++ (no doctest), so that the nvcc-compiled tests share it.
#include <cstdint>
#include <vector>

#include "vtrans/data/encode.hpp"
#include "vtrans/tensor/math.hpp"

namespace vtrans_test {

inline std::vector<vtrans::data::sequence> toy_classification(std::size_t n, std::uint64_t seed, std::int64_t vocab) {
  std::vector<vtrans::data::sequence> out;
  for (std::size_t i = 0; i < n; ++i) {
    vtrans::data::sequence s;
    s.ids.push_back(1);
    bool has = false;
    for (int t = 0; t < 10; ++t) {
      const auto id = std::int32_t(3 + vtrans::math::uniform(seed, i * 16 + std::size_t(t)) * double(vocab - 3));
      s.ids.push_back(id);
      has = has || id == 5;
    }
    s.label = has ? 1 : 0;
    out.push_back(s);
  }
  return out;
}

}  // namespace vtrans_test
