#pragma once
// Exact size and compute of a model from its (possibly per-layer) sizes: parameter counts and
// FLOPs per token at a sequence length. The pruning budget is stated in these units, and the
// tests check them against the parameters a built model really has.
#include "vtrans/io/model_config.hpp"
#include "vtrans/nn/heads.hpp"

namespace vtrans::prune {

struct model_cost {
  index embedding_params = 0;  // token, position and segment tables (+ embedding norm)
  index layer_params = 0;      // every transformer layer
  index head_params = 0;       // final norm, pooler, classifier or LM-head parameters of their own
  index total_params() const { return embedding_params + layer_params + head_params; }
  // Multiply-accumulates counted twice; element-wise work (norms, activations, softmax) left out.
  double layer_flops_per_token = 0;
  double head_flops_per_token = 0;
  double flops_per_token() const { return layer_flops_per_token + head_flops_per_token; }
};

namespace detail {
inline bool has_biases(const io::model_config& c) { return c.family != io::family::llama; }
inline index norm_params(const io::model_config& c, index d) { return c.family == io::family::llama ? d : 2 * d; }
}  // namespace detail

// One layer: parameters and FLOPs per token when attending over `seq_len` keys.
inline index layer_params(const io::model_config& c, const io::layer_sizes& l) {
  const index D = c.hidden_size, qw = l.heads * c.head_dim, kw = l.kv_heads * c.head_dim, I = l.intermediate;
  const bool llama = c.family == io::family::llama;
  index n = 0;
  if (l.has_attention) {
    n += D * (qw + 2 * kw) + qw * D + detail::norm_params(c, D);
    if (detail::has_biases(c) || c.attention_bias) n += qw + 2 * kw + D;
  }
  if (l.has_mlp) {
    n += (llama ? 3 : 2) * D * I + detail::norm_params(c, D);
    if (detail::has_biases(c) || c.mlp_bias) n += (llama ? 2 : 1) * I + D;
  }
  return n;
}
inline double layer_flops_per_token(const io::model_config& c, const io::layer_sizes& l, index seq_len) {
  const double D = double(c.hidden_size), qw = double(l.heads * c.head_dim), kw = double(l.kv_heads * c.head_dim), I = double(l.intermediate);
  double f = 0;
  if (l.has_attention) f += 2 * D * (qw + 2 * kw) + 2 * qw * D + 4 * double(seq_len) * qw;  // projections, QK^T and PV
  if (l.has_mlp) f += 2 * (c.family == io::family::llama ? 3 : 2) * D * I;
  return f;
}

inline model_cost cost(const io::model_config& c, nn::head_kind head, index seq_len) {
  model_cost m;
  const index D = c.hidden_size, V = c.vocab_size, L = c.num_labels;
  switch (c.family) {
    case io::family::bert:
    case io::family::roberta:
      m.embedding_params = (V + c.max_positions + std::max<index>(1, c.type_vocab_size)) * D + 2 * D;
      break;
    case io::family::gpt2: m.embedding_params = (V + c.max_positions) * D; break;
    case io::family::llama: m.embedding_params = V * D; break;
  }
  for (const auto& l : c.layers) {
    m.layer_params += layer_params(c, l);
    m.layer_flops_per_token += layer_flops_per_token(c, l, seq_len);
  }
  if (c.family == io::family::gpt2) m.head_params += 2 * D;  // ln_f
  if (c.family == io::family::llama) m.head_params += D;      // norm
  const double d = double(D);
  switch (head) {
    case nn::head_kind::base: break;
    case nn::head_kind::sequence_classification:
      if (c.family == io::family::bert || c.family == io::family::roberta) {
        m.head_params += D * D + D + L * D + L;  // pooler / dense, then the classifier
        m.head_flops_per_token += (2 * d * d + 2 * d * double(L)) / double(seq_len);  // once per sequence
      } else {
        m.head_params += L * D;
        m.head_flops_per_token += 2 * d * double(L) / double(seq_len);
      }
      break;
    case nn::head_kind::token_classification:
      m.head_params += L * D + L;
      m.head_flops_per_token += 2 * d * double(L);
      break;
    case nn::head_kind::masked_lm:
      m.head_params += D * D + D + 2 * D + V;  // transform dense + norm + output bias (decoder tied)
      m.head_flops_per_token += 2 * d * d + 2 * d * double(V);
      break;
    case nn::head_kind::causal_lm:
      if (c.family == io::family::llama && !c.tie_word_embeddings) m.head_params += V * D;
      m.head_flops_per_token += 2 * d * double(V);
      break;
  }
  return m;
}

}  // namespace vtrans::prune
