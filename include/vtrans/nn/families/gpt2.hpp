#pragma once
// GPT-2 (GPT2Model, GPT2LMHeadModel, GPT2For{SequenceClassification,TokenClassification}): a
// pre-norm LayerNorm decoder with learned positions, fused Q | K | V, Conv1D weights stored
// [in, out], GPT-2's own config.json spellings (n_embd, n_layer, ...).
#include "vtrans/io/family.hpp"

namespace vtrans::nn {

struct gpt2 {
  static constexpr family_spec spec = [] {
    family_spec s;
    s.model_type = "gpt2";
    s.class_prefix = "GPT2";
    s.causal_lm_class = "GPT2LMHeadModel";
    s.base_model_prefix = "transformer.";
    s.buffers = {"attn.bias", "attn.masked_bias"};  // the causal mask and its fill value
    s.conv1d_weights = true;
    s.causal = true;
    s.pre_norm = true;
    s.classifier_dropout = false;
    s.stock_pruned_heads = true;
    s.mlp_norm_first = true;
    s.model.token_embedding = {"wte"};
    s.model.position_embedding = {"wpe"};
    s.model.final_norm = {"ln_f", bias::always};
    s.layer.attn_norm = {"h.{i}.ln_1", bias::always};
    s.layer.qkv = {"h.{i}.attn.c_attn", bias::always};
    s.layer.o = {"h.{i}.attn.c_proj", bias::always};
    s.layer.mlp_norm = {"h.{i}.ln_2", bias::always};
    s.layer.up = {"h.{i}.mlp.c_fc", bias::always};
    s.layer.down = {"h.{i}.mlp.c_proj", bias::always};
    s.heads.classifier = {"score"};
    s.heads.token_classifier = {"classifier", bias::always};
    s.heads.lm_head = {"lm_head"};
    config_schema& c = s.config;  // GPT2Config and its attribute_map
    c.vocab_size.fallback = 50257;
    c.hidden_size = {"n_embd", 768, "hidden_size"};
    c.num_layers = {"n_layer", 12, "num_hidden_layers"};
    c.num_heads = {"n_head", 12, "num_attention_heads"};
    c.intermediate_size = {"n_inner", 0};
    c.intermediate_per_hidden = 4;
    c.max_positions = {"n_positions", 1024, "max_position_embeddings"};
    c.norm_eps = {"layer_norm_epsilon", 1e-5};
    c.activation = {"activation_function", "gelu_new"};
    c.bos_token_id = c.eos_token_id = 50256;
    c.hidden_dropout = {"resid_pdrop", "embd_pdrop"};
    c.attention_dropout = {"attn_pdrop", 0.1};
    return s;
  }();
  static constexpr io::family id{spec};
};

}  // namespace vtrans::nn
