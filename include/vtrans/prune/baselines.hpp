#pragma once
// Baselines at the same budget: structured magnitude pruning (units ranked by the L2 norm of the
// weights that read or write them) and random pruning. Every structure keeps the same fraction of
// its units (found by bisection so that the exact size meets the budget); selection, compaction
// and fine-tuning are VTrans's own (select_compact_finetune).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "vtrans/masks/fixed.hpp"
#include "vtrans/prune/vtrans.hpp"

namespace vtrans::prune {

enum class baseline { magnitude, random };
inline const char* baseline_name(baseline b) { return b == baseline::magnitude ? "magnitude" : "random"; }

namespace detail {
// sum of squares of rows [r0, r1) x columns [c0, c1) of a host matrix with `cols` columns
inline double block_sq(const std::vector<double>& a, index cols, index r0, index r1, index c0, index c1) {
  double s = 0;
  for (index r = r0; r < r1; ++r)
    for (index c = c0; c < c1; ++c) s += a[std::size_t(r * cols + c)] * a[std::size_t(r * cols + c)];
  return s;
}

// Importance of every unit from the magnitudes of the student's own (float) weights.
template <class Masked>
void magnitude_scores(Masked& student) {
  const auto& c = student.config();
  const index D = c.hidden_size, hd = c.head_dim;
  std::vector<double> hidden(std::size_t(D), 0.0);
  for (const auto& [name, p] : student.parameters()) {
    if (p.shape().rank() != 2) continue;
    const index rows = p.shape()[0], cols = p.shape()[1];
    const auto h = p.value().to_host();
    const std::vector<double> a(h.begin(), h.end());
    if (cols == D) for (index j = 0; j < D; ++j) hidden[std::size_t(j)] += block_sq(a, cols, 0, rows, j, j + 1);
    if (rows == D) for (index j = 0; j < D; ++j) hidden[std::size_t(j)] += block_sq(a, cols, j, j + 1, 0, cols);
  }
  student.masks().hidden.set_score(hidden);
  for (std::size_t l = 0; l < student.layers().size(); ++l) {
    const auto& L = student.layers()[l];
    const index group = L.size.kv_heads > 0 ? L.size.heads / L.size.kv_heads : 1;
    if (L.size.has_attention) {
      const auto o = L.o_w.value().to_host();
      const std::vector<double> ow(o.begin(), o.end());
      std::vector<double> s(std::size_t(L.size.kv_heads), 0.0);
      for (index g = 0; g < L.size.kv_heads; ++g) s[std::size_t(g)] = block_sq(ow, L.o_w.shape()[1], 0, D, g * group * hd, (g + 1) * group * hd);
      student.masks().heads[l].set_score(s);
    }
    if (L.size.has_mlp) {
      const auto u = L.up_w.value().to_host(), d = L.down_w.value().to_host();
      const std::vector<double> uw(u.begin(), u.end()), dw(d.begin(), d.end());
      const index I = L.size.intermediate;
      std::vector<double> s(std::size_t(I), 0.0);
      for (index i = 0; i < I; ++i) s[std::size_t(i)] = block_sq(uw, D, i, i + 1, 0, D) + block_sq(dw, I, 0, D, i, i + 1);
      student.masks().intermediate[l].set_score(s);
    }
  }
}

template <class Unit>
void keep_top_fraction(Unit& u, double f) {
  const auto s = u.score();
  const index n = index(s.size());
  if (n == 0) return;
  const index k = std::clamp<index>(index(std::ceil(f * double(n))), 1, n);
  std::vector<std::size_t> order(s.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return s[a] > s[b]; });
  std::vector<bool> keep(s.size(), false);
  for (index i = 0; i < k; ++i) keep[order[std::size_t(i)]] = true;
  u.force_keep(keep);
}
}  // namespace detail

template <class Family, class B, class T>
prune_result<nn::transformer<Family, masks::none, B, T>> baseline_prune(const nn::transformer<Family, masks::none, B, T>& teacher, baseline kind,
                                                                        train::task_kind task, const std::vector<data::sequence>& train_set,
                                                                        const data::collate_options& collate, const prune_options& o) {
  using masked_t = nn::transformer<Family, masks::fixed, B, T>;
  auto t0 = std::chrono::steady_clock::now();
  masked_t student(teacher.config(), teacher.head(), nn::for_loading, o.seed);  // in float: scored, then fine-tuned
  nn::copy_weights(teacher, student);
  if (kind == baseline::magnitude) {
    detail::magnitude_scores(student);
  } else {
    std::uint64_t stream = o.seed;
    student.masks().for_each([&](masks::structure, index, auto& u) {
      std::vector<double> s(std::size_t(u.size()));
      ++stream;
      for (std::size_t i = 0; i < s.size(); ++i) s[i] = math::uniform(math::mix64(stream), i);
      u.set_score(s);
    });
  }
  const cost_numbers<double> full = exact_cost(teacher.config(), teacher.head(), o.target.seq_len, o.target.count_embeddings);
  const double limit = target_size(o.target, full);
  auto apply = [&](double f) {
    auto& m = student.masks();
    detail::keep_top_fraction(m.hidden, f);
    for (auto& u : m.heads) detail::keep_top_fraction(u, f);
    for (auto& u : m.intermediate) detail::keep_top_fraction(u, f);
    const auto c = predicted_cost(student, o.target.seq_len, o.target.count_embeddings);
    return o.target.on_flops() ? c.flops : c.params;
  };
  double lo = 0, hi = 1;  // largest uniform fraction that fits: the baseline's decision
  for (int it = 0; it < 40; ++it) {
    const double mid = 0.5 * (lo + hi);
    (apply(mid) <= limit ? lo : hi) = mid;
  }
  apply(lo);

  prune_result<nn::transformer<Family, masks::none, B, T>> result(nn::transformer<Family, masks::none, B, T>(teacher.config(), teacher.head()));
  result.full = full;
  result.pruning_examples = train_set.size();
  result.times.prune_s = detail::seconds_since(t0);  // scoring
  select_compact_finetune(student, teacher, task, train_set, collate, o, variant::vtrans, result);
  return result;
}

}  // namespace vtrans::prune
