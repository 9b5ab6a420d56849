#pragma once
// Final selection: deterministic keep decisions that meet the budget. The policy's own decision
// (VIB: mu^2 / sigma^2 > 1) stands when it lands within `fill` of the budget. Otherwise each
// structure (the hidden size, one layer's heads, one layer's FFN neurons, ...) keeps the number of
// units its keep-probabilities expect, all scaled by one common factor, the largest that fits;
// within a structure the units of highest score (log alpha) stay (whole attention/FFN sub-layers,
// too coarse to scale, keep their expected count). Scores are never compared
// across structures (their KL weights and costs differ), so the split of the budget between
// hidden size, heads and FFN widths that training arrived at is kept. Slack left by rounding is
// filled with the best removed units. Kept widths may be rounded to a multiple (8, 64, 128) for
// faster matrix kernels, re-ranking by score.
#include <algorithm>
#include <numeric>

#include "vtrans/prune/budget.hpp"

namespace vtrans::prune {

struct selection_options {
  index round_to = 1;          // round hidden and FFN widths to this multiple (1: off)
  double fill = 0.01;          // the threshold's decision stands if it uses at least (1 - fill) of the budget
};

struct selection_report {
  double threshold_size = 0;   // predicted size with the policy's own decisions
  double final_size = 0;
  double scale = 0;            // common factor on the expected kept counts (0: the threshold's decision stood)
  index removed_by_rank = 0, added_by_rank = 0;
};

namespace detail {
// The `count` units of highest score.
inline std::vector<bool> top_units(const std::vector<double>& score, index count) {
  std::vector<std::size_t> order(score.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return score[a] > score[b]; });
  std::vector<bool> k(score.size(), false);
  for (index i = 0; i < std::min<index>(count, index(score.size())); ++i) k[order[std::size_t(i)]] = true;
  return k;
}

template <class Unit>
void round_width(Unit& u, index multiple) {
  if (multiple <= 1) return;
  const auto keep = u.keep();
  const index n = index(keep.size());
  index kept = 0;
  for (bool b : keep) kept += b;
  const index target = std::clamp<index>(((kept + multiple / 2) / multiple) * multiple, std::min<index>(multiple, n), n);
  u.force_keep(top_units(u.score(), target));
}

template <class Unit>
double expected_kept(const Unit& u) {
  autodiff::no_record guard;
  double e = 0;
  for (auto p : u.keep_probability().value().to_host()) e += double(p);
  return e;
}
}  // namespace detail

template <class Model>
selection_report select_to_budget(Model& m, const budget& b, const cost_numbers<double>& full, const selection_options& opt = {}) {
  auto& masks = m.masks();
  using unit_t = typename std::decay_t<decltype(masks.hidden)>;
  struct group { unit_t* u; std::vector<bool> threshold; std::vector<double> score; double expected; bool whole_layers; };
  std::vector<group> groups;
  masks.for_each([&](masks::structure s, index, unit_t& u) {
    const auto k = u.keep();
    u.force_keep(k);
    groups.push_back({&u, k, u.score(), detail::expected_kept(u), s == masks::structure::attention || s == masks::structure::mlp});
  });
  const double limit = target_size(b, full);
  auto size = [&] {
    const auto c = predicted_cost(m, b.seq_len, b.count_embeddings);
    return b.on_flops() ? c.flops : c.params;
  };
  auto kept_count = [](const std::vector<bool>& k) { index n = 0; for (bool x : k) n += x; return n; };
  selection_report r;
  r.threshold_size = size();

  if (r.threshold_size > limit || r.threshold_size < (1 - opt.fill) * limit) {
    // counts = round(gamma * expected), at most the structure's size; the largest gamma that fits.
    // Whole sub-layers are too coarse to scale (one of two layers is half the model): they keep
    // round(expected) units.
    auto apply = [&](double gamma) {
      for (auto& g : groups) {
        const double e = g.whole_layers ? g.expected : gamma * g.expected;
        index n = std::min<index>(index(std::llround(e)), index(g.score.size()));
        if (g.u == &masks.hidden) n = std::max<index>(n, 1);
        g.u->force_keep(detail::top_units(g.score, n));
      }
      return size();
    };
    double lo = 0, hi = 1;
    for (auto& g : groups)
      if (g.expected > 0) hi = std::max(hi, double(g.score.size()) / g.expected);
    for (int it = 0; it < 50; ++it) {
      const double mid = 0.5 * (lo + hi);
      (apply(mid) <= limit ? lo : hi) = mid;
    }
    apply(lo);
    r.scale = lo;
    for (auto& g : groups) {
      const index before = kept_count(g.threshold), after = kept_count(g.u->keep());
      r.removed_by_rank += std::max<index>(0, before - after);
      r.added_by_rank += std::max<index>(0, after - before);
    }
  }
  // slack: add back the best removed units while they fit
  struct candidate { group* g; std::size_t i; };
  std::vector<candidate> removed;
  for (auto& g : groups) {
    const auto k = g.u->keep();
    for (std::size_t i = 0; i < k.size(); ++i)
      if (!k[i]) removed.push_back({&g, i});
  }
  // highest score first: this only spends the slack the rounding of counts left
  std::stable_sort(removed.begin(), removed.end(), [](const candidate& a, const candidate& c) { return a.g->score[a.i] > c.g->score[c.i]; });
  for (auto& c : removed) {
    auto k = c.g->u->keep();
    k[c.i] = true;
    c.g->u->force_keep(k);
    if (size() > limit) {
      k[c.i] = false;
      c.g->u->force_keep(k);
    } else {
      ++r.added_by_rank;
    }
  }
  if (opt.round_to > 1) {
    detail::round_width(masks.hidden, opt.round_to);
    for (auto& u : masks.intermediate) detail::round_width(u, opt.round_to);
  }
  r.final_size = size();
  return r;
}

}  // namespace vtrans::prune
