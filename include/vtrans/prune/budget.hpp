#pragma once
// Budgets: what a pruned model may cost, and the model's cost (the one formula of prune/cost.hpp)
// evaluated two ways: exactly from integer sizes, and in expectation from the masks'
// keep-probabilities as a differentiable expression on the tape (the Lagrangian pushes that
// expectation to the target). Both evaluate the same formula, so the prediction from
// deterministic masks equals the compacted model's exact count.
#include <cmath>
#include <stdexcept>
#include <string>

#include "vtrans/autodiff/autodiff.hpp"
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
  // "flops=0.2" (keep 20% of the FLOPs per token)
  static budget parse(const std::string& text) {
    const auto eq = text.find('=');
    if (eq == std::string::npos) throw std::invalid_argument("budget \"" + text + "\": expected params=FRACTION, params=COUNT or flops=FRACTION");
    const std::string what = text.substr(0, eq), amount = text.substr(eq + 1);
    double v = 0;
    std::size_t used = 0;
    try {
      v = std::stod(amount, &used);
    } catch (const std::exception&) {
      throw std::invalid_argument("budget \"" + text + "\": \"" + amount + "\" is not a number");
    }
    double mult = 1;
    const std::string suffix = amount.substr(used);
    if (suffix == "k" || suffix == "K") mult = 1e3;
    else if (suffix == "M" || suffix == "m") mult = 1e6;
    else if (suffix == "G" || suffix == "B") mult = 1e9;
    else if (!suffix.empty()) throw std::invalid_argument("budget \"" + text + "\": unknown suffix \"" + suffix + "\" (k, M, G)");
    budget b;
    if (what == "params" && suffix.empty() && v > 0 && v <= 1) {
      b.kind = budget_kind::param_fraction;
    } else if (what == "params" && v * mult > 1) {
      b.kind = budget_kind::param_count;
      v *= mult;
    } else if (what == "flops" && suffix.empty() && v > 0 && v <= 1) {
      b.kind = budget_kind::flops_fraction;
    } else {
      throw std::invalid_argument("budget \"" + text + "\": use params=FRACTION in (0, 1], params=COUNT (e.g. 30M) or flops=FRACTION in (0, 1]");
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

}  // namespace vtrans::prune
