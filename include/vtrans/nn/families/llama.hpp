#pragma once
// LLaMA (LlamaModel, LlamaFor{CausalLM,SequenceClassification,TokenClassification}): a pre-norm
// RMSNorm decoder with rotary positions, grouped-query attention and a SwiGLU FFN; biases only
// when config.json's attention_bias / mlp_bias ask for them.
#include "vtrans/io/family.hpp"

namespace vtrans::nn {

struct llama {
  static constexpr family_spec spec = [] {
    family_spec s;
    s.model_type = "llama";
    s.class_prefix = "Llama";
    s.base_model_prefix = "model.";
    s.buffers = {"rotary_emb.inv_freq"};  // recomputed from rope_theta
    s.causal = true;
    s.pre_norm = true;
    s.norm = norm_kind::rms_norm;
    s.positions = position_kind::rotary;
    s.classifier_dropout = false;
    s.attn_norm_first = s.mlp_norm_first = true;
    s.model.token_embedding = {"embed_tokens"};
    s.model.final_norm = {"norm"};
    s.layer.attn_norm = {"layers.{i}.input_layernorm"};
    s.layer.q = {"layers.{i}.self_attn.q_proj", bias::attention_bias};
    s.layer.k = {"layers.{i}.self_attn.k_proj", bias::attention_bias};
    s.layer.v = {"layers.{i}.self_attn.v_proj", bias::attention_bias};
    s.layer.o = {"layers.{i}.self_attn.o_proj", bias::attention_bias};
    s.layer.mlp_norm = {"layers.{i}.post_attention_layernorm"};
    s.layer.gate = {"layers.{i}.mlp.gate_proj", bias::mlp_bias};
    s.layer.up = {"layers.{i}.mlp.up_proj", bias::mlp_bias};
    s.layer.down = {"layers.{i}.mlp.down_proj", bias::mlp_bias};
    s.heads.classifier = {"score"};
    s.heads.token_classifier = {"score", bias::always};
    s.heads.lm_head = {"lm_head"};
    config_schema& c = s.config;  // LlamaConfig
    c.vocab_size.fallback = 32000;
    c.hidden_size.fallback = 4096;
    c.num_layers.fallback = 32;
    c.num_heads.fallback = 32;
    c.num_kv_heads = {"num_key_value_heads", 0};
    c.intermediate_size.fallback = 11008;
    c.max_positions.fallback = 2048;
    c.norm_eps = {"rms_norm_eps", 1e-6};
    c.activation = {"hidden_act", "silu"};
    c.bos_token_id = 1;
    c.eos_token_id = 2;
    c.tie_word_embeddings = false;
    c.attention_bias = {"attention_bias", false};
    c.mlp_bias = {"mlp_bias", false};
    c.attention_dropout = {"attention_dropout", 0.0};
    c.head_dim_honoured = true;
    return s;
  }();
  static constexpr io::family id{spec};
};

}  // namespace vtrans::nn
