#pragma once
// Pruned copies of a model for the export tests: fixed keep sets (structural pruning, no mask
// values folded in), then compaction into the smaller dense model.
#include <vector>

#include "vtrans/masks/fixed.hpp"
#include "vtrans/prune/compact.hpp"
#include "vtrans/tensor/cpu.hpp"

namespace vtrans_test {

// Keeps n of size units, spread out.
inline std::vector<bool> keep_n(vtrans::index size, vtrans::index n) {
  std::vector<bool> k(std::size_t(size), false);
  for (vtrans::index i = 0; i < n; ++i) k[std::size_t(i * size / n)] = true;
  return k;
}

// What each structure keeps; empty vectors keep everything.
struct prune_plan {
  vtrans::index hidden = 0;                     // 0: all
  std::vector<std::vector<bool>> heads;         // per layer, per key/value head
  std::vector<vtrans::index> intermediate;      // per layer; 0: all
  std::vector<bool> attention, mlp;             // per layer
};

template <class Model>
auto pruned_copy(const Model& teacher, const prune_plan& plan) {
  using F = typename Model::family_type;
  vtrans::nn::transformer<F, vtrans::masks::fixed, typename Model::backend, typename Model::value_type> masked(teacher.config(), teacher.head());
  for (const auto& [name, p] : teacher.parameters()) masked.assign(name, p.value().clone());
  auto& m = masked.masks();
  const auto& c = teacher.config();
  if (plan.hidden) m.hidden.force_keep(keep_n(c.hidden_size, plan.hidden));
  for (std::size_t l = 0; l < plan.heads.size(); ++l)
    if (!plan.heads[l].empty()) m.heads[l].force_keep(plan.heads[l]);
  for (std::size_t l = 0; l < plan.intermediate.size(); ++l)
    if (plan.intermediate[l]) m.intermediate[l].force_keep(keep_n(c.layers[l].intermediate, plan.intermediate[l]));
  if (!plan.attention.empty()) m.attention.force_keep(plan.attention);
  if (!plan.mlp.empty()) m.mlp.force_keep(plan.mlp);
  return vtrans::prune::compact(masked);
}

}  // namespace vtrans_test
