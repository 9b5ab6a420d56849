#pragma once
// Keeping all but the `drop` lowest scores, decided per unit: a unit's place in the ascending
// order std::stable_sort gives (equal scores: the lower index first) is the number of units
// before it, counted by comparing it with every unit, so each unit is decided on its own (one
// thread each on a GPU; n^2 comparisons: 17 million for a hidden size of 4096).
#include <cmath>

#include "vtrans/tensor/host_device.hpp"
#include "vtrans/tensor/shape.hpp"

namespace vtrans::kernels {

// How many of n units a rule that keeps `kept` of them in expectation drops: round(n - kept),
// halves away from zero as std::llround, clamped to [0, n].
VTRANS_HD inline index drop_count(index n, double kept) {
  const double d = std::floor(double(n) - kept + 0.5);
  return d <= 0 ? 0 : d >= double(n) ? n : index(d);
}

// 1 when unit i is not among the `drop` lowest of score[0..n), else 0.
template <class T>
VTRANS_HD T kept_after_dropping_lowest(index n, const T* score, index i, index drop) {
  const T s = score[i];
  index before = 0;
  for (index j = 0; j < n; ++j) before += (score[j] < s || (score[j] == s && j < i)) ? 1 : 0;
  return before >= drop ? T(1) : T(0);
}

}  // namespace vtrans::kernels
