#pragma once
// Budgets: what a pruned model may cost, and the model's cost as one formula evaluated two ways:
// exactly from integer sizes, and in expectation from the masks' keep-probabilities as a
// differentiable expression on the tape (the Lagrangian pushes that expectation to the target).
// Both share size_formula(), so the prediction from deterministic masks equals the compacted
// model's exact count.
#include <cmath>
#include <stdexcept>
#include <string>

#include "vtrans/autodiff/autodiff.hpp"
#include "vtrans/io/model_config.hpp"
#include "vtrans/nn/heads.hpp"

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

// Sizes of one layer as numbers (double) or expectations (vars on the tape).
template <class N>
struct layer_numbers {
  N attention;    // 1/0 (or P(kept)) for the whole attention sub-layer
  N kv_heads;     // number (or expected number) of key/value heads
  N mlp;          // 1/0 (or P(kept)) for the whole FFN sub-layer
  N intermediate; // FFN width
};

template <class N>
struct cost_numbers {
  N params;  // counted parameters (embeddings included when the budget counts them)
  N flops;   // per token
};

// The cost formula. `Ops` supplies add(a, b), mul(a, b), scale(a, double) and constant(double)
// for N; `hidden` is the (expected) hidden size.
template <class N, class Ops>
cost_numbers<N> size_formula(const io::model_config& c, nn::head_kind head, index seq_len, bool count_embeddings, const N& hidden,
                             const std::vector<layer_numbers<N>>& layers, const Ops& o) {
  const bool llama = c.family == io::family::llama, encoder = c.family == io::family::bert || c.family == io::family::roberta;
  const double hd = double(c.head_dim), norm = llama ? 1.0 : 2.0;
  N params = o.constant(0), flops = o.constant(0);
  if (count_embeddings) {
    double rows = double(c.vocab_size);
    if (encoder) rows += double(c.max_positions + std::max<index>(1, c.type_vocab_size)) + 2.0;  // tables + embedding LayerNorm
    if (c.family == io::family::gpt2) rows += double(c.max_positions);
    params = o.add(params, o.scale(hidden, rows));
  }
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const auto& s = c.layers[l];
    const auto& n = layers[l];
    const double g = s.kv_heads > 0 ? double(s.heads) / double(s.kv_heads) : 1.0;
    const bool bias_a = !llama || c.attention_bias, bias_m = !llama || c.mlp_bias;
    const double mats = llama ? 3.0 : 2.0;
    // attention: D * hd * H * (2g + 2) weights, hd * H * (g + 2) + D biases, one or two norm vectors
    const N dh = o.mul(hidden, n.kv_heads);
    N att = o.scale(dh, hd * (2 * g + 2));
    if (bias_a) att = o.add(att, o.add(o.scale(n.kv_heads, hd * (g + 2)), hidden));
    att = o.add(att, o.scale(hidden, norm));
    N mlp = o.scale(o.mul(hidden, n.intermediate), mats);
    if (bias_m) mlp = o.add(mlp, o.add(o.scale(n.intermediate, mats - 1), hidden));
    mlp = o.add(mlp, o.scale(hidden, norm));
    params = o.add(params, o.add(o.mul(n.attention, att), o.mul(n.mlp, mlp)));
    const N att_flops = o.add(o.scale(dh, 2 * hd * (2 * g + 2)), o.scale(n.kv_heads, 4.0 * double(seq_len) * g * hd));
    flops = o.add(flops, o.add(o.mul(n.attention, att_flops), o.mul(n.mlp, o.scale(o.mul(hidden, n.intermediate), 2 * mats))));
  }
  // heads (and the decoders' final norm)
  const double V = double(c.vocab_size), L = double(c.num_labels), n_seq = double(seq_len);
  if (c.family == io::family::gpt2) params = o.add(params, o.scale(hidden, 2));
  if (llama) params = o.add(params, hidden);
  switch (head) {
    case nn::head_kind::base: break;
    case nn::head_kind::sequence_classification:
      if (encoder) {
        const N dd = o.mul(hidden, hidden);
        params = o.add(params, o.add(dd, o.add(o.scale(hidden, 1 + L), o.constant(L))));
        flops = o.add(flops, o.scale(o.add(o.scale(dd, 2), o.scale(hidden, 2 * L)), 1.0 / n_seq));
      } else {
        params = o.add(params, o.scale(hidden, L));
        flops = o.add(flops, o.scale(hidden, 2 * L / n_seq));
      }
      break;
    case nn::head_kind::token_classification:
      params = o.add(params, o.add(o.scale(hidden, L), o.constant(L)));
      flops = o.add(flops, o.scale(hidden, 2 * L));
      break;
    case nn::head_kind::masked_lm: {
      const N dd = o.mul(hidden, hidden);
      params = o.add(params, o.add(dd, o.add(o.scale(hidden, 3), o.constant(V))));
      flops = o.add(flops, o.add(o.scale(dd, 2), o.scale(hidden, 2 * V)));
      break;
    }
    case nn::head_kind::causal_lm:
      if (llama && !c.tie_word_embeddings) params = o.add(params, o.scale(hidden, V));
      flops = o.add(flops, o.scale(hidden, 2 * V));
      break;
  }
  return {params, flops};
}

struct double_ops {
  double add(double a, double b) const { return a + b; }
  double mul(double a, double b) const { return a * b; }
  double scale(double a, double f) const { return a * f; }
  double constant(double v) const { return v; }
};

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
  std::vector<layer_numbers<double>> layers;
  for (const auto& s : c.layers)
    layers.push_back({s.has_attention ? 1.0 : 0.0, double(s.kv_heads), s.has_mlp ? 1.0 : 0.0, double(s.intermediate)});
  return size_formula(c, head, seq_len, count_embeddings, double(c.hidden_size), layers, double_ops{});
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
