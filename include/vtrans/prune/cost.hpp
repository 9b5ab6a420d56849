#pragma once
// The size and compute of a model as one formula over its sizes, read off the family's layout
// (nn/families/): parameters per part (embeddings, layers, head) and FLOPs per token at a sequence
// length. The formula is generic in its number type: evaluated on integer sizes it is exact (cost(),
// and the budgets' exact_cost), evaluated on the masks' keep-probabilities it is the expected
// size on the autodiff tape (prune/budget.hpp). Multiply-accumulates count twice; element-wise
// work (norms, activations, softmax) is left out. The tests check the exact counts against the
// parameters a built model really has.
#include <algorithm>
#include <optional>
#include <vector>

#include "vtrans/io/model_config.hpp"
#include "vtrans/nn/heads.hpp"

namespace vtrans::prune {

// Sizes of one layer as numbers (double) or expectations (vars on the tape).
template <class N>
struct layer_numbers {
  N attention;    // 1/0 (or P(kept)) for the whole attention sub-layer
  N kv_heads;     // number (or expected number) of key/value heads
  N mlp;          // 1/0 (or P(kept)) for the whole FFN sub-layer
  N intermediate; // FFN width
};

template <class N>
struct cost_parts {
  N embedding_params;  // token, position and segment tables (+ embedding norm)
  N layer_params;      // every transformer layer
  N head_params;       // final norm, pooler, classifier or LM-head parameters of their own
  N layer_flops;       // per token
  N head_flops;        // per token (sequence-level heads: spread over the sequence)
  N params;            // what a budget counts: every part, the embeddings only when asked
  N flops;             // layer_flops + head_flops
};

// The cost formula. `Ops` supplies add(a, b), mul(a, b), scale(a, double) and constant(double)
// for N; `hidden` is the (expected) hidden size, `layers` the (expected) per-layer sizes. Each
// term goes to its part and to the totals, which are summed in one fixed order (so float
// evaluations on the tape are reproducible).
template <class N, class Ops>
cost_parts<N> cost_formula(const io::model_config& c, nn::head_kind head, index seq_len, bool count_embeddings, const N& hidden,
                           const std::vector<layer_numbers<N>>& layers, const Ops& o) {
  const nn::family_spec& f = c.spec();
  const auto has = [&](const nn::role& r) { return r.present() ? 1.0 : 0.0; };
  const auto biased = [&](const nn::role& r) { return r.present() && io::has_bias(c, r.bias) ? 1.0 : 0.0; };
  const auto vectors = [&](const nn::role& r) { return has(r) + biased(r); };  // a norm's weight and bias
  const double hd = double(c.head_dim), V = double(c.vocab_size), L = double(c.num_labels), n_seq = double(seq_len);
  cost_parts<N> p{o.constant(0), o.constant(0), o.constant(0), o.constant(0), o.constant(0), o.constant(0), o.constant(0)};

  const nn::model_roles& m = f.model;
  const double rows = V + has(m.position_embedding) * double(c.max_positions) +
                      has(m.token_type_embedding) * double(std::max<index>(1, c.type_vocab_size)) + vectors(m.embedding_norm);
  p.embedding_params = o.scale(hidden, rows);
  if (count_embeddings) p.params = o.add(p.params, p.embedding_params);

  const nn::layer_roles& r = f.layer;
  const double mats = f.gated_mlp() ? 3.0 : 2.0;
  // biases on the matrices' outputs: per key/value head (q, k, v), per FFN unit (gate, up), per hidden unit (o, down)
  const auto biases = [&](const N& per_unit, double unit_coefficient, double hidden_coefficient) {
    std::optional<N> b;
    if (unit_coefficient > 0) b = o.scale(per_unit, unit_coefficient);
    if (hidden_coefficient > 0) b = b ? o.add(*b, hidden) : hidden;
    return b;
  };
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const auto& s = c.layers[l];
    const auto& n = layers[l];
    const double g = s.kv_heads > 0 ? double(s.heads) / double(s.kv_heads) : 1.0;
    // attention: D * hd * H * (2g + 2) weights, the biases, the norm
    const N dh = o.mul(hidden, n.kv_heads);
    N att = o.scale(dh, hd * (2 * g + 2));
    const double kv_bias = hd * (f.fused_qkv() ? biased(r.qkv) * (g + 2) : biased(r.q) * g + biased(r.k) + biased(r.v));
    if (auto b = biases(n.kv_heads, kv_bias, biased(r.o))) att = o.add(att, *b);
    att = o.add(att, o.scale(hidden, vectors(r.attn_norm)));
    // FFN: two or three matrices, the biases, the norm
    N mlp = o.scale(o.mul(hidden, n.intermediate), mats);
    if (auto b = biases(n.intermediate, biased(r.gate) + biased(r.up), biased(r.down))) mlp = o.add(mlp, *b);
    mlp = o.add(mlp, o.scale(hidden, vectors(r.mlp_norm)));
    const N layer = o.add(o.mul(n.attention, att), o.mul(n.mlp, mlp));
    p.layer_params = o.add(p.layer_params, layer);
    p.params = o.add(p.params, layer);
    // projections, then Q K^T and P V over seq_len keys
    const N att_flops = o.add(o.scale(dh, 2 * hd * (2 * g + 2)), o.scale(n.kv_heads, 4.0 * n_seq * g * hd));
    p.layer_flops = o.add(p.layer_flops, o.add(o.mul(n.attention, att_flops), o.mul(n.mlp, o.scale(o.mul(hidden, n.intermediate), 2 * mats))));
  }

  const nn::head_roles& h = f.heads;
  const auto add_params = [&](const N& x) {
    p.head_params = o.add(p.head_params, x);
    p.params = o.add(p.params, x);
  };
  const auto add_flops = [&](const N& x) { p.head_flops = o.add(p.head_flops, x); };
  // a linear output over the hidden units: weight, and its bias as a constant
  const auto output = [&](const nn::role& role, double outputs) {
    const N w = o.scale(hidden, outputs);
    return biased(role) > 0 ? o.add(w, o.constant(outputs)) : w;
  };
  if (m.final_norm.present()) add_params(o.scale(hidden, vectors(m.final_norm)));
  switch (head) {
    case nn::head_kind::base: break;
    case nn::head_kind::sequence_classification: {
      // dense layers (pooler, RoBERTa's dense) and the output, once per sequence
      const double dense = has(h.pooler) + has(h.classifier_dense);
      if (dense > 0) {
        const N dd = o.mul(hidden, hidden);
        const N out = o.scale(hidden, biased(h.pooler) + biased(h.classifier_dense) + L);
        add_params(o.add(o.scale(dd, dense), biased(h.classifier) > 0 ? o.add(out, o.constant(L)) : out));
        add_flops(o.scale(o.add(o.scale(dd, 2 * dense), o.scale(hidden, 2 * L)), 1.0 / n_seq));
      } else {
        add_params(output(h.classifier, L));
        add_flops(o.scale(hidden, 2 * L / n_seq));
      }
      break;
    }
    case nn::head_kind::token_classification:
      add_params(output(h.token_classifier, L));
      add_flops(o.scale(hidden, 2 * L));
      break;
    case nn::head_kind::masked_lm: {  // transform dense + norm + output bias (the decoder is the word embeddings)
      const N dd = o.mul(hidden, hidden);
      add_params(o.add(dd, o.add(o.scale(hidden, biased(h.mlm_dense) + vectors(h.mlm_norm)), o.constant(V))));
      add_flops(o.add(o.scale(dd, 2), o.scale(hidden, 2 * V)));
      break;
    }
    case nn::head_kind::causal_lm:
      if (!c.tie_word_embeddings) add_params(o.scale(hidden, V));
      add_flops(o.scale(hidden, 2 * V));
      break;
  }
  p.flops = o.add(p.layer_flops, p.head_flops);
  return p;
}

struct double_ops {
  double add(double a, double b) const { return a + b; }
  double mul(double a, double b) const { return a * b; }
  double scale(double a, double f) const { return a * f; }
  double constant(double v) const { return v; }
};

// The integer sizes of a config as formula inputs.
inline std::vector<layer_numbers<double>> layer_sizes_of(const io::model_config& c) {
  std::vector<layer_numbers<double>> layers;
  for (const auto& s : c.layers)
    layers.push_back({s.has_attention ? 1.0 : 0.0, double(s.kv_heads), s.has_mlp ? 1.0 : 0.0, double(s.intermediate)});
  return layers;
}

struct model_cost {
  index embedding_params = 0;  // token, position and segment tables (+ embedding norm)
  index layer_params = 0;      // every transformer layer
  index head_params = 0;       // final norm, pooler, classifier or LM-head parameters of their own
  index total_params() const { return embedding_params + layer_params + head_params; }
  double layer_flops_per_token = 0;
  double head_flops_per_token = 0;
  double flops_per_token() const { return layer_flops_per_token + head_flops_per_token; }
};

// Exact size and compute of a model of the given (possibly per-layer) sizes, per part.
inline model_cost cost(const io::model_config& c, nn::head_kind head, index seq_len) {
  const auto p = cost_formula(c, head, seq_len, true, double(c.hidden_size), layer_sizes_of(c), double_ops{});
  model_cost m;
  m.embedding_params = index(p.embedding_params);  // integers below 2^53: exact in double
  m.layer_params = index(p.layer_params);
  m.head_params = index(p.head_params);
  m.layer_flops_per_token = p.layer_flops;
  m.head_flops_per_token = p.head_flops;
  return m;
}

}  // namespace vtrans::prune
