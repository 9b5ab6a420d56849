#pragma once
// The vocabulary a model family is described in. Each family is one header under nn/families/
// holding a constexpr family_spec: every tensor by its role (parameter name, bias or not), where
// the norms sit and what kind they are, how positions enter, causality, sliding windows, tying,
// the heads, checkpoint quirks (base-model prefix, buffers, Conv1D storage) and the config.json
// keys with transformers' defaults. The model, checkpoint names, config.json, compaction, cost and
// export read these facts; nothing else knows which family it is looking at. Sizes are never
// here: they are run-time and per layer (pruned models differ per layer).
#include <array>
#include <string>
#include <string_view>

#include "vtrans/tensor/shape.hpp"

namespace vtrans::nn {

enum class norm_kind { layer_norm, rms_norm };
enum class position_kind {
  learned,                // a table indexed by 0, 1, 2, ...
  learned_after_padding,  // RoBERTa: real tokens count from padding_idx + 1, padding sits at padding_idx
  rotary                  // RoPE on queries and keys, Hugging Face's rotate-half convention
};
// Whether a projection has a bias: never, always, or as config.json's boolean of that name says.
enum class bias { none, always, attention_bias, mlp_bias };
// Which layers attend within a sliding window of config.json's "sliding_window" keys.
enum class window_rule {
  none,
  every_layer,  // Mistral: "sliding_window" (null: none) on every layer
  upper_layers  // Qwen2: with "use_sliding_window", layers >= "max_window_layers" (or as "layer_types" says)
};

// One tensor of the layout: its parameter name without ".weight" (Hugging Face's name without
// the base-model prefix; "{i}" stands for the layer index) and its bias. An empty name: the
// family has no such tensor. Norms list their bias too: LayerNorm always, RMSNorm none.
struct role {
  std::string_view name;
  nn::bias bias = nn::bias::none;
  constexpr bool present() const { return !name.empty(); }
};

struct model_roles {
  role token_embedding, position_embedding, token_type_embedding, embedding_norm, final_norm;
};

struct layer_roles {
  role attn_norm, q, k, v, o;
  role qkv;  // fused Q | K | V along the output axis (then q, k and v are absent)
  role mlp_norm;
  role gate;  // gated FFN down(act(gate(x)) * up(x)); absent: down(act(up(x)))
  role up, down;
};

struct head_roles {
  role pooler;            // dense + tanh on the pooled token, part of the base model (BERT)
  role classifier_dense;  // dropout, dense + tanh in the classification head (RoBERTa)
  role classifier;        // sequence-classification output
  role token_classifier;  // token-classification output
  role mlm_dense, mlm_norm;       // masked-LM transform: dense, activation, LayerNorm
  std::string_view mlm_bias;      // masked-LM output bias; its matrix is the word embeddings
  std::string_view mlm_decoder;   // checkpoints' name of the tied masked-LM decoder (not a parameter)
  role lm_head;                   // causal-LM output; the word embeddings when tie_word_embeddings
};

// A config.json key with transformers' default (absent key) and the other spelling transformers
// accepts for it (GPT-2's attribute_map: n_embd <-> hidden_size). An empty name: no such key.
template <class V>
struct config_key {
  std::string_view name;
  V fallback{};
  std::string_view alias{};
  constexpr bool present() const { return !name.empty(); }
};

struct config_schema {
  config_key<index> vocab_size{"vocab_size"};
  config_key<index> hidden_size{"hidden_size"};
  config_key<index> num_layers{"num_hidden_layers"};
  config_key<index> num_heads{"num_attention_heads"};
  config_key<index> num_kv_heads;  // grouped-query attention; fallback 0: as many as heads (null is always that)
  config_key<index> intermediate_size{"intermediate_size"};
  index intermediate_per_hidden = 0;  // set: an absent or null FFN width is this many hidden sizes (GPT-2's n_inner)
  config_key<index> max_positions{"max_position_embeddings"};
  config_key<index> type_vocab_size;
  config_key<double> norm_eps;
  config_key<std::string_view> activation;
  index pad_token_id = -1, bos_token_id = -1, eos_token_id = -1;  // -1: None
  bool tie_word_embeddings = true;
  config_key<bool> attention_bias, mlp_bias;
  double rope_theta = 10000;  // rotary families
  index sliding_window = 0;      // default of "sliding_window" (window_rule != none)
  index max_window_layers = 0;   // default of "max_window_layers" (window_rule::upper_layers)
  std::array<std::string_view, 2> hidden_dropout{};  // keys holding the hidden dropout (the first present wins)
  config_key<double> attention_dropout;               // its default, and the key a fresh model sets to 0
  bool head_dim_honoured = false;   // transformers reads "head_dim" (elsewhere vtrans writes it only for a pruned hidden size)
  index fresh_type_vocab_size = 0;  // segments of a model trained from scratch (RoBERTa's checkpoints have 1)
};

struct family_spec {
  std::string_view model_type;         // config.json "model_type"
  std::string_view class_prefix;       // "Bert": BertModel, BertForSequenceClassification, ...
  std::string_view causal_lm_class;    // "" for class_prefix + "ForCausalLM"
  std::string_view base_model_prefix;  // "bert.": before every base-model tensor in task checkpoints
  std::array<std::string_view, 2> buffers{};  // name endings of checkpoint tensors that are not parameters
  bool conv1d_weights = false;  // layer projections stored [in, out] (GPT-2's Conv1D)
  bool causal = false;          // decoders: causal attention, sequence classification on the last real token
  bool pre_norm = false;        // norm, sub-layer, residual (else sub-layer, residual, norm)
  norm_kind norm = norm_kind::layer_norm;
  position_kind positions = position_kind::learned;
  window_rule windows = window_rule::none;
  bool classifier_dropout = true;   // dropout before the classification output
  bool stock_pruned_heads = false;  // transformers applies config.json's "pruned_heads" for this family
  // Fresh parameters draw from a stream numbered by creation order: whether each layer's norm is
  // created before its block's projections (the order vtrans has always used, so seeds reproduce).
  bool attn_norm_first = false, mlp_norm_first = false;
  model_roles model;
  layer_roles layer;
  head_roles heads;
  config_schema config;

  constexpr bool grouped_query() const { return config.num_kv_heads.present(); }
  constexpr bool fused_qkv() const { return layer.qkv.present(); }
  constexpr bool gated_mlp() const { return layer.gate.present(); }
  constexpr bool has_masked_lm() const { return heads.mlm_dense.present(); }
};

// The parameter name of a role: "{i}" replaced by the layer index, then ".weight" or ".bias".
inline std::string role_name(std::string_view pattern, index layer = -1) {
  std::string out(pattern);
  const auto at = out.find("{i}");
  if (at != std::string::npos) out.replace(at, 3, std::to_string(layer));
  return out;
}
inline std::string weight_name(const role& r, index layer = -1) { return role_name(r.name, layer) + ".weight"; }
inline std::string bias_name(const role& r, index layer = -1) { return role_name(r.name, layer) + ".bias"; }

// Whether `name` is `pattern` with a decimal layer index in place of "{i}".
inline bool matches_role(std::string_view pattern, std::string_view name) {
  const auto at = pattern.find("{i}");
  if (at == std::string_view::npos) return pattern == name;
  const std::string_view head = pattern.substr(0, at), tail = pattern.substr(at + 3);
  if (name.size() <= head.size() + tail.size() || name.substr(0, head.size()) != head ||
      name.substr(name.size() - tail.size()) != tail)
    return false;
  for (char c : name.substr(head.size(), name.size() - head.size() - tail.size()))
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace vtrans::nn
