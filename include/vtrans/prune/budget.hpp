#pragma once
// Budgets: what a pruned model may cost, and the model's cost (the one formula of prune/cost.hpp)
// evaluated two ways: exactly from integer sizes, and in expectation from the masks'
// keep-probabilities as a differentiable expression on the tape (the Lagrangian pushes that
// expectation to the target). Both evaluate the same formula, so the prediction from
// deterministic masks equals the compacted model's exact count.
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "vtrans/autodiff/autodiff.hpp"
#include "vtrans/error.hpp"
#include "vtrans/io/model_config.hpp"
#include "vtrans/nn/heads.hpp"
#include "vtrans/prune/cost.hpp"

namespace vtrans::prune {

enum class budget_kind { param_fraction, param_count, flops_fraction };

struct budget {
  budget_kind kind = budget_kind::param_fraction;
  double value = 0.5;             // fraction kept, or an absolute parameter count
  bool count_embeddings = true;   // VTrans counts the embedding tables; CoFi does not
  index seq_len = 128;            // for FLOPs per token

  // "params=0.3" (keep 30% of the parameters), "params=30M" (or 30000000, 1.5G, 800k),
  // "flops=0.2" (keep 20% of the FLOPs per token). A number without suffix is a fraction when in
  // (0, 1] and a count when a whole number above 1; anything else (params=1.5) is refused rather
  // than guessed. check_budget() then checks it against the model.
  static budget parse(const std::string& text) {
    const std::string forms = "use params=FRACTION in (0, 1], params=COUNT (e.g. 30M) or flops=FRACTION in (0, 1]";
    const auto bad = [&](const std::string& why) { return usage_error("budget \"" + text + "\": " + why); };
    const auto eq = text.find('=');
    if (eq == std::string::npos) throw bad("expected params=FRACTION, params=COUNT or flops=FRACTION");
    const std::string what = text.substr(0, eq), amount = text.substr(eq + 1);
    if (what != "params" && what != "flops") throw bad("unknown measure \"" + what + "\"; " + forms);
    double v = 0;
    std::size_t used = 0;
    try {
      v = std::stod(amount, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || amount[0] == ' ' || !std::isfinite(v)) throw bad("\"" + amount + "\" is not a number");
    double mult = 1;
    const std::string suffix = amount.substr(used);
    if (suffix == "k" || suffix == "K") mult = 1e3;
    else if (suffix == "M" || suffix == "m") mult = 1e6;
    else if (suffix == "G" || suffix == "B") mult = 1e9;
    else if (!suffix.empty()) throw bad("unknown suffix \"" + suffix + "\" (k, M, G)");
    if (v <= 0) throw bad("a budget must keep something (read " + amount + "); " + forms);
    budget b;
    const bool fraction = suffix.empty() && v <= 1;
    if (what == "flops") {
      if (!fraction) throw bad("flops takes the fraction of FLOPs kept, in (0, 1], not " + amount);
      b.kind = budget_kind::flops_fraction;
    } else if (fraction) {
      b.kind = budget_kind::param_fraction;
    } else {
      v *= mult;
      if (v != std::floor(v))
        throw bad(amount + " is neither a fraction in (0, 1] nor a whole parameter count; for " + amount +
                  " million parameters write params=" + amount + "M");
      b.kind = budget_kind::param_count;
    }
    b.value = v;
    return b;
  }
  std::string str() const {
    switch (kind) {
      case budget_kind::param_fraction: return "params=" + std::to_string(value);
      case budget_kind::param_count: return "params=" + std::to_string(static_cast<long long>(value));
      case budget_kind::flops_fraction: return "flops=" + std::to_string(value);
    }
    return "?";
  }
  bool on_flops() const { return kind == budget_kind::flops_fraction; }
};

template <class N>
struct cost_numbers {
  N params;  // counted parameters (embeddings included when the budget counts them)
  N flops;   // per token
};

// The cost formula (prune/cost.hpp) as a budget counts it: parameters with or without the
// embedding tables, FLOPs per token.
template <class N, class Ops>
cost_numbers<N> size_formula(const io::model_config& c, nn::head_kind head, index seq_len, bool count_embeddings, const N& hidden,
                             const std::vector<layer_numbers<N>>& layers, const Ops& o) {
  const cost_parts<N> p = cost_formula(c, head, seq_len, count_embeddings, hidden, layers, o);
  return {p.params, p.flops};
}

template <class T, class B>
struct var_ops {
  using V = autodiff::var<T, B>;
  V add(const V& a, const V& b) const { return autodiff::add(a, b); }
  V mul(const V& a, const V& b) const { return autodiff::mul(a, b); }
  V scale(const V& a, double f) const { return autodiff::scale(a, static_cast<T>(f)); }
  V constant(double v) const { return V(tensor<T, B>::filled(shape{}, static_cast<T>(v))); }
};

// Exact cost of a model of the given (possibly per-layer) sizes.
inline cost_numbers<double> exact_cost(const io::model_config& c, nn::head_kind head, index seq_len, bool count_embeddings = true) {
  return size_formula(c, head, seq_len, count_embeddings, double(c.hidden_size), layer_sizes_of(c), double_ops{});
}

// The cost a masked model will have after compaction, from its deterministic keep decisions.
template <class Model>
cost_numbers<double> predicted_cost(const Model& m, index seq_len, bool count_embeddings = true) {
  const auto& masks = m.masks();
  auto count = [](const std::vector<bool>& k) { double n = 0; for (bool b : k) n += b; return n; };
  const auto att = masks.attention.keep(), mlp = masks.mlp.keep();
  std::vector<layer_numbers<double>> layers;
  for (std::size_t l = 0; l < m.layers().size(); ++l) {
    const auto& s = m.layers()[l].size;
    const double h = s.has_attention ? count(masks.heads[l].keep()) : 0, i = s.has_mlp ? count(masks.intermediate[l].keep()) : 0;
    layers.push_back({s.has_attention && att[l] && h > 0 ? 1.0 : 0.0, h, s.has_mlp && mlp[l] && i > 0 ? 1.0 : 0.0, i});
  }
  return size_formula(m.config(), m.head(), seq_len, count_embeddings, count(masks.hidden.keep()), layers, double_ops{});
}

// The expected cost under the masks' keep-probabilities, differentiable in the mask parameters.
template <class Model>
cost_numbers<autodiff::var<typename Model::value_type, typename Model::backend>> expected_cost(const Model& m, index seq_len,
                                                                                                 bool count_embeddings = true) {
  using T = typename Model::value_type;
  using B = typename Model::backend;
  using V = autodiff::var<T, B>;
  const auto& masks = m.masks();
  const V att = masks.attention.keep_probability(), mlp = masks.mlp.keep_probability();
  std::vector<layer_numbers<V>> layers;
  const V zero(tensor<T, B>::zeros(shape{}));
  for (std::size_t l = 0; l < m.layers().size(); ++l) {
    const auto& s = m.layers()[l].size;
    layers.push_back({s.has_attention ? autodiff::columns(att, index(l), 1) : zero,
                      s.has_attention ? autodiff::sum(masks.heads[l].keep_probability()) : zero,
                      s.has_mlp ? autodiff::columns(mlp, index(l), 1) : zero,
                      s.has_mlp ? autodiff::sum(masks.intermediate[l].keep_probability()) : zero});
  }
  return size_formula(m.config(), m.head(), seq_len, count_embeddings, autodiff::sum(masks.hidden.keep_probability()), layers, var_ops<T, B>{});
}

// Absolute target size (parameters or FLOPs) of a budget for a model of the given full cost.
inline double target_size(const budget& b, const cost_numbers<double>& full) {
  switch (b.kind) {
    case budget_kind::param_fraction: return b.value * full.params;
    case budget_kind::param_count: return b.value;
    case budget_kind::flops_fraction: return b.value * full.flops;
  }
  return full.params;
}

// Checks a budget against the model it prunes, before any work: the parameters it keeps must lie
// below the model's own size (a count) and at least at the smallest model pruning can produce
// (every layer removed, hidden size 1; a count or a fraction). Throws usage_error saying what
// was understood. FLOPs fractions were range-checked by parse().
inline void check_budget(const budget& b, const io::model_config& c, nn::head_kind head) {
  if (b.on_flops()) return;
  const auto full = exact_cost(c, head, b.seq_len, b.count_embeddings);
  const std::vector<layer_numbers<double>> none(c.layers.size(), layer_numbers<double>{0, 0, 0, 0});
  const auto floor = size_formula(c, head, b.seq_len, b.count_embeddings, 1.0, none, double_ops{});
  const auto count = [](double v) { return std::to_string(static_cast<long long>(std::llround(v))); };
  const std::string counted = b.count_embeddings ? "embeddings included" : "embeddings not counted";
  const double target = target_size(b, full);
  if (b.kind == budget_kind::param_count && target >= full.params)
    throw usage_error("budget " + b.str() + " asks for " + count(target) + " parameters, but the model has " + count(full.params) + " (" +
                      counted + "): a count must be below the model's size (for a fraction write params=0.5)");
  if (target < floor.params)
    throw usage_error("budget " + b.str() + " asks for " + count(target) + " parameters, fewer than the " + count(floor.params) +
                      " left with every layer removed and hidden size 1 (" + counted + ")");
}

}  // namespace vtrans::prune
