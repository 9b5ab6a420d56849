#pragma once
// Deterministic data fractions (Fast-VTrans trains on e.g. 3% of a task): stratified by label,
// seeded, at least one item of every label present; unlabelled/regression data is sampled
// uniformly. Result indices are sorted, so the subset keeps the dataset's order.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "vtrans/data/example.hpp"
#include "vtrans/data/shuffle.hpp"
#include "vtrans/error.hpp"

namespace vtrans::data {

namespace detail {
inline void check_fraction(double f) {
  if (!(f >= 0.0 && f <= 1.0)) throw usage_error("vtrans::data: subset fraction must be in [0, 1]");
}
}  // namespace detail

// round(fraction * n) items chosen uniformly.
inline std::vector<std::size_t> random_subset(std::size_t n, double fraction, std::uint64_t seed) {
  detail::check_fraction(fraction);
  std::mt19937_64 rng(seed);
  auto idx = shuffled_indices(n, rng);
  idx.resize(static_cast<std::size_t>(std::llround(fraction * static_cast<double>(n))));
  std::sort(idx.begin(), idx.end());
  return idx;
}

// Per label (ascending label order): floor(fraction * n_label) items, at least 1; then the items
// still missing to reach round(fraction * n) go one each to the labels with the largest
// remainders (ties: smaller label). The at-least-one rule may make the total exceed the target.
// fraction 0 gives nothing. Each label draws from its own seeded shuffle.
inline std::vector<std::size_t> stratified_subset(const std::vector<int>& labels, double fraction, std::uint64_t seed) {
  detail::check_fraction(fraction);
  if (fraction == 0.0) return {};
  std::map<int, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < labels.size(); ++i) groups[labels[i]].push_back(i);
  struct quota { int label; std::size_t take; double rest; std::size_t size; };
  std::vector<quota> q;
  std::size_t total = 0;
  for (const auto& [label, items] : groups) {
    const double exact = fraction * static_cast<double>(items.size());
    auto take = static_cast<std::size_t>(std::floor(exact));
    take = std::min(items.size(), std::max<std::size_t>(take, 1));
    q.push_back({label, take, exact - std::floor(exact), items.size()});
    total += take;
  }
  const auto target = static_cast<std::size_t>(std::llround(fraction * static_cast<double>(labels.size())));
  std::vector<std::size_t> order(q.size());
  for (std::size_t i = 0; i < q.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return q[a].rest > q[b].rest; });
  for (std::size_t k = 0; total < target && k < order.size(); ++k) {
    auto& g = q[order[k]];
    if (g.take < g.size) {
      ++g.take;
      ++total;
    }
  }
  std::vector<std::size_t> out;
  for (const auto& g : q) {
    auto items = groups[g.label];
    // Seeded by the label value, so a label's pick does not depend on which other labels exist.
    std::mt19937_64 rng(derive_seed(seed, static_cast<std::uint64_t>(static_cast<std::int64_t>(g.label))));
    fisher_yates(items, rng);
    out.insert(out.end(), items.begin(), items.begin() + static_cast<std::ptrdiff_t>(g.take));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Subset of examples: stratified by label when every example has one, else uniform.
inline std::vector<example> subset_examples(const std::vector<example>& data, double fraction, std::uint64_t seed) {
  const bool labelled = !data.empty() && std::all_of(data.begin(), data.end(), [](const example& e) { return e.label.has_value(); });
  std::vector<std::size_t> idx;
  if (labelled) {
    std::vector<int> labels;
    labels.reserve(data.size());
    for (const auto& e : data) labels.push_back(*e.label);
    idx = stratified_subset(labels, fraction, seed);
  } else {
    idx = random_subset(data.size(), fraction, seed);
  }
  std::vector<example> out;
  out.reserve(idx.size());
  for (auto i : idx) out.push_back(data[i]);
  return out;
}

}  // namespace vtrans::data
