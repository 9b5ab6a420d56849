#pragma once
// Final selection: deterministic keep decisions that meet the budget. The policy's own decision
// (VIB: mu^2 / sigma^2 > 1) comes first; when that misses the budget, units are removed (or added
// back) in order of their score (log alpha) until the predicted size fits. Kept widths may be
// rounded to a multiple (8, 64, 128) for faster matrix kernels, re-ranking by score.
#include <algorithm>
#include <numeric>

#include "vtrans/prune/budget.hpp"

namespace vtrans::prune {

struct selection_options {
  index round_to = 1;          // round hidden and FFN widths to this multiple (1: off)
};

struct selection_report {
  double threshold_size = 0;   // predicted size with the policy's own decisions
  double final_size = 0;
  index removed_by_rank = 0, added_by_rank = 0;
};

namespace detail {
template <class Unit>
void round_width(Unit& u, index multiple) {
  if (multiple <= 1) return;
  auto keep = u.keep();
  const index n = index(keep.size());
  index kept = 0;
  for (bool b : keep) kept += b;
  index target = ((kept + multiple / 2) / multiple) * multiple;
  target = std::clamp<index>(target, std::min<index>(multiple, n), n);
  const auto s = u.score();
  std::vector<std::size_t> order(keep.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return s[a] > s[b]; });
  std::vector<bool> k(keep.size(), false);
  for (index i = 0; i < target; ++i) k[order[std::size_t(i)]] = true;
  u.force_keep(k);
}
}  // namespace detail

template <class Model>
selection_report select_to_budget(Model& m, const budget& b, const cost_numbers<double>& full, const selection_options& opt = {}) {
  auto& masks = m.masks();
  using unit_t = typename std::decay_t<decltype(masks.hidden)>;
  // fix every unit's current decision, then adjust
  std::vector<unit_t*> units;
  masks.for_each([&](masks::structure, index, unit_t& u) {
    u.force_keep(u.keep());
    units.push_back(&u);
  });
  const double limit = target_size(b, full);
  auto size = [&] {
    const auto c = predicted_cost(m, b.seq_len, b.count_embeddings);
    return b.on_flops() ? c.flops : c.params;
  };
  selection_report r;
  r.threshold_size = size();

  struct candidate { unit_t* u; std::size_t i; double score; };
  std::vector<candidate> all;
  for (auto* u : units) {
    const auto s = u->score();
    for (std::size_t i = 0; i < s.size(); ++i) all.push_back({u, i, s[i]});
  }
  std::stable_sort(all.begin(), all.end(), [](const candidate& a, const candidate& c) { return a.score < c.score; });
  auto set = [](candidate& c, bool on) {
    auto k = c.u->keep();
    k[c.i] = on;
    c.u->force_keep(k);
  };
  auto kept_count = [](unit_t* u) { index n = 0; for (bool x : u->keep()) n += x; return n; };
  // too big: drop the lowest-scored kept units (never the last hidden unit)
  for (auto& c : all) {
    if (size() <= limit) break;
    if (!c.u->keep()[c.i]) continue;
    if (c.u == &masks.hidden && kept_count(c.u) <= 1) continue;
    set(c, false);
    ++r.removed_by_rank;
  }
  // much too small: add back the best removed units while the budget allows
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (it->u->keep()[it->i]) continue;
    set(*it, true);
    if (size() > limit) set(*it, false);
    else ++r.added_by_rank;
  }
  if (opt.round_to > 1) {
    detail::round_width(masks.hidden, opt.round_to);
    for (auto& u : masks.intermediate) detail::round_width(u, opt.round_to);
  }
  r.final_size = size();
  return r;
}

}  // namespace vtrans::prune
