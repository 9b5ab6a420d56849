#pragma once
// Qwen2 (Qwen2Model, Qwen2For{CausalLM,SequenceClassification,TokenClassification}): LLaMA's
// layout with biases on the query, key and value projections (none on the output projection or
// the FFN), and sliding-window attention on the upper layers when "use_sliding_window" is set.
#include "vtrans/nn/families/llama.hpp"

namespace vtrans::nn {

struct qwen2 {
  static constexpr family_spec spec = [] {
    family_spec s = llama::spec;
    s.model_type = "qwen2";
    s.class_prefix = "Qwen2";
    s.windows = window_rule::upper_layers;
    s.layer.q.bias = s.layer.k.bias = s.layer.v.bias = bias::always;
    s.layer.o.bias = s.layer.gate.bias = s.layer.up.bias = s.layer.down.bias = bias::none;
    config_schema& c = s.config;  // Qwen2Config
    c.vocab_size.fallback = 151936;
    c.intermediate_size.fallback = 22016;
    c.num_kv_heads.fallback = 32;
    c.max_positions.fallback = 32768;
    c.bos_token_id = c.eos_token_id = -1;
    c.attention_bias = c.mlp_bias = {};
    c.sliding_window = 4096;
    c.max_window_layers = 28;
    return s;
  }();
  static constexpr io::family id{spec};
};

}  // namespace vtrans::nn
