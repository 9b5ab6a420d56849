#pragma once
// Integer index tensors (token ids, positions, targets) checked on the host before upload, so
// that no kernel ever reads a table out of bounds.
#include <climits>
#include <cstdint>
#include <string>
#include <vector>

#include "vtrans/tensor/tensor.hpp"

namespace vtrans::autodiff {

template <class B>
using id_tensor = tensor<std::int32_t, B>;

// Uploads ids of the given shape after checking 0 <= id < limit (ids equal to `allowed` pass too,
// e.g. an ignore index).
template <class B>
id_tensor<B> upload_ids(const char* what, const shape& s, const std::vector<std::int32_t>& ids, index limit,
                        std::int32_t allowed = INT32_MIN) {
  if (static_cast<index>(ids.size()) != s.numel())
    throw shape_error(std::string("vtrans::") + what + ": " + std::to_string(ids.size()) + " ids for shape " + s.str());
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] != allowed && (ids[i] < 0 || ids[i] >= limit))
      throw std::out_of_range(std::string("vtrans::") + what + ": id " + std::to_string(ids[i]) + " at position " +
                              std::to_string(i) + " is outside [0, " + std::to_string(limit) + ")");
  return id_tensor<B>::from_host(s, ids);
}

}  // namespace vtrans::autodiff
