#pragma once
// Final selection: the masks' own keep decision (VIB: mu^2 / sigma^2 > 1), taken where the
// pruning loop stopped, i.e. at a step whose expected size is inside a narrow window around the
// budget. It stands when its exact size uses between (1 - fill) and all of the budget. Otherwise
// the correction moves only the boundary of each structure (the hidden size, one layer's heads,
// one layer's FFN neurons): each keeps round(g * k) of the k units its masks keep, with one common
// factor g (the largest that fits), dropping its lowest-scored kept units (g < 1) or adding its
// highest-scored removed ones (g > 1); then the units next in line at each boundary are added
// while they fit, so the budget is used up to less than one unit. Scores are only ever compared within a structure. Whole attention/FFN sub-layers always
// follow the keep rule. The report counts the units that went against the masks' decision and
// the share of parameters they carry. Kept widths may be rounded to a multiple (8, 64, 128) for
// faster matrix kernels, re-ranking by score.
#include <algorithm>
#include <numeric>

#include "vtrans/prune/budget.hpp"

namespace vtrans::prune {

struct selection_options {
  index round_to = 1;  // round hidden and FFN widths to this multiple (1: off)
  double fill = 0.01;  // the masks' decision stands if it uses at least (1 - fill) of the budget
};

struct selection_report {
  double threshold_size = 0;          // size (budget measure) of the masks' own decision
  double final_size = 0;
  double scale = 1;                   // common factor on the kept counts (1: no scaling)
  index flipped_units = 0;            // units whose final decision differs from the masks'
  double flipped_param_fraction = 0;  // their parameters, as a fraction of the final model's
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

// One structure's units ordered by how far a boundary move reaches them: the kept units from the
// lowest score up, and the removed ones from the highest score down.
struct boundary {
  std::vector<bool> rule;            // the masks' decision
  std::vector<std::size_t> kept_up;  // kept units, lowest score first
  std::vector<std::size_t> removed_down;  // removed units, highest score first
  index minimum = 0;                 // units that must stay (one hidden unit)

  boundary(std::vector<bool> keep, const std::vector<double>& score, index min_kept) : rule(std::move(keep)), minimum(min_kept) {
    for (std::size_t i = 0; i < rule.size(); ++i) (rule[i] ? kept_up : removed_down).push_back(i);
    std::stable_sort(kept_up.begin(), kept_up.end(), [&](std::size_t a, std::size_t b) { return score[a] < score[b]; });
    std::stable_sort(removed_down.begin(), removed_down.end(), [&](std::size_t a, std::size_t b) { return score[a] > score[b]; });
  }
  index rule_count() const { return index(kept_up.size()); }
  // the rule moved by `delta` units: drop the lowest kept (delta < 0) or add the best removed
  std::vector<bool> moved(index delta) const {
    std::vector<bool> k = rule;
    delta = std::clamp<index>(delta, std::min<index>(0, minimum - rule_count()), index(removed_down.size()));
    for (index i = 0; i < -delta; ++i) k[kept_up[std::size_t(i)]] = false;
    for (index i = 0; i < delta; ++i) k[removed_down[std::size_t(i)]] = true;
    return k;
  }
};

inline index count_kept(const std::vector<bool>& k) { return index(std::count(k.begin(), k.end(), true)); }
}  // namespace detail

template <class Model>
selection_report select_to_budget(Model& m, const budget& b, const cost_numbers<double>& full, const selection_options& opt = {}) {
  auto& masks = m.masks();
  using unit_t = typename std::decay_t<decltype(masks.hidden)>;
  struct unit_ref { unit_t* u; std::vector<bool> rule; bool scaled; };
  std::vector<unit_ref> units;
  std::vector<detail::boundary> bounds;  // for the scaled units, in order
  masks.for_each([&](masks::structure s, index, unit_t& u) {
    const auto k = u.keep();
    u.force_keep(k);
    const bool whole_layers = s == masks::structure::attention || s == masks::structure::mlp;
    units.push_back({&u, k, !whole_layers});
    if (!whole_layers) bounds.emplace_back(k, u.score(), s == masks::structure::hidden ? 1 : 0);
  });
  const double limit = target_size(b, full);
  auto size = [&] {
    const auto c = predicted_cost(m, b.seq_len, b.count_embeddings);
    return b.on_flops() ? c.flops : c.params;
  };
  // per scaled unit, how far its boundary has moved
  std::vector<index> delta(bounds.size(), 0);
  auto set_deltas = [&] {
    std::size_t g = 0;
    for (auto& r : units)
      if (r.scaled) r.u->force_keep(bounds[g].moved(delta[g])), ++g;
    return size();
  };
  selection_report r;
  r.threshold_size = size();
  if (r.threshold_size > limit || r.threshold_size < (1 - opt.fill) * limit) {
    auto apply = [&](double gamma) {
      for (std::size_t g = 0; g < bounds.size(); ++g) {
        const index k = bounds[g].rule_count();
        delta[g] = index(std::llround(gamma * double(k))) - k;
      }
      return set_deltas();
    };
    const bool over = r.threshold_size > limit;
    double lo = over ? 0.0 : 1.0, hi = 1.0;
    if (!over)
      for (const auto& bd : bounds)
        if (bd.rule_count() > 0) hi = std::max(hi, double(bd.rule.size()) / double(bd.rule_count()) + 1.0);
    if (over || apply(hi) > limit) {
      for (int it = 0; it < 60; ++it) {
        const double mid = 0.5 * (lo + hi);
        (apply(mid) <= limit ? lo : hi) = mid;
      }
    } else {
      lo = hi;
    }
    apply(lo);
    r.scale = lo;
    // then units next in line at a boundary while they fit, one per structure in turn: a dropped
    // unit back, or the best removed unit beyond the masks' decision (never in a structure its
    // masks emptied)
    for (bool added = true; added;) {
      added = false;
      for (std::size_t g = 0; g < bounds.size(); ++g) {
        if (delta[g] >= 0 && (bounds[g].rule_count() == 0 || delta[g] >= index(bounds[g].removed_down.size()))) continue;
        ++delta[g];
        if (set_deltas() <= limit) added = true;
        else --delta[g];
      }
    }
    set_deltas();
  }
  if (opt.round_to > 1) {
    detail::round_width(masks.hidden, opt.round_to);
    for (auto& u : masks.intermediate) detail::round_width(u, opt.round_to);
  }
  r.final_size = size();

  // units against the masks' decision, and the parameters they carry: the size of the union of
  // both decisions minus the size of their intersection, over the final size
  std::vector<std::vector<bool>> final_keep;
  for (auto& ref : units) {
    final_keep.push_back(ref.u->keep());
    for (std::size_t i = 0; i < ref.rule.size(); ++i) r.flipped_units += final_keep.back()[i] != ref.rule[i];
  }
  auto params_with = [&](bool uni) {
    for (std::size_t i = 0; i < units.size(); ++i) {
      std::vector<bool> k(units[i].rule.size());
      for (std::size_t j = 0; j < k.size(); ++j) k[j] = uni ? (units[i].rule[j] || final_keep[i][j]) : (units[i].rule[j] && final_keep[i][j]);
      units[i].u->force_keep(k);
    }
    return predicted_cost(m, b.seq_len, b.count_embeddings).params;
  };
  const double flipped_params = params_with(true) - params_with(false);
  for (std::size_t i = 0; i < units.size(); ++i) units[i].u->force_keep(final_keep[i]);
  const double final_params = predicted_cost(m, b.seq_len, b.count_embeddings).params;
  r.flipped_param_fraction = final_params > 0 ? flipped_params / final_params : 0.0;
  return r;
}

}  // namespace vtrans::prune
