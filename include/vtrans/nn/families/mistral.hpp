#pragma once
// Mistral (MistralModel, MistralFor{CausalLM,SequenceClassification,TokenClassification}):
// LLaMA's layout without biases, with every layer attending within "sliding_window" keys.
#include "vtrans/nn/families/llama.hpp"

namespace vtrans::nn {

struct mistral {
  static constexpr family_spec spec = [] {
    family_spec s = llama::spec;
    s.model_type = "mistral";
    s.class_prefix = "Mistral";
    s.windows = window_rule::every_layer;
    for (role* r : {&s.layer.q, &s.layer.k, &s.layer.v, &s.layer.o, &s.layer.gate, &s.layer.up, &s.layer.down}) r->bias = bias::none;
    config_schema& c = s.config;  // MistralConfig
    c.intermediate_size.fallback = 14336;
    c.num_kv_heads.fallback = 8;
    c.max_positions.fallback = 4096 * 32;
    c.attention_bias = c.mlp_bias = {};
    c.sliding_window = 4096;
    return s;
  }();
  static constexpr io::family id{spec};
};

}  // namespace vtrans::nn
