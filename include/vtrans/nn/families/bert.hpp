#pragma once
// BERT (BertModel, BertFor{SequenceClassification,TokenClassification,MaskedLM}): a post-norm
// LayerNorm encoder with learned positions and segments, an embedding LayerNorm and a pooler.
#include "vtrans/io/family.hpp"

namespace vtrans::nn {

struct bert {
  static constexpr family_spec spec = [] {
    family_spec s;
    s.model_type = "bert";
    s.class_prefix = "Bert";
    s.base_model_prefix = "bert.";
    s.buffers = {"embeddings.position_ids", "embeddings.token_type_ids"};  // saved by older transformers
    s.stock_pruned_heads = true;
    s.model.token_embedding = {"embeddings.word_embeddings"};
    s.model.position_embedding = {"embeddings.position_embeddings"};
    s.model.token_type_embedding = {"embeddings.token_type_embeddings"};
    s.model.embedding_norm = {"embeddings.LayerNorm", bias::always};
    s.layer.q = {"encoder.layer.{i}.attention.self.query", bias::always};
    s.layer.k = {"encoder.layer.{i}.attention.self.key", bias::always};
    s.layer.v = {"encoder.layer.{i}.attention.self.value", bias::always};
    s.layer.o = {"encoder.layer.{i}.attention.output.dense", bias::always};
    s.layer.attn_norm = {"encoder.layer.{i}.attention.output.LayerNorm", bias::always};
    s.layer.up = {"encoder.layer.{i}.intermediate.dense", bias::always};
    s.layer.down = {"encoder.layer.{i}.output.dense", bias::always};
    s.layer.mlp_norm = {"encoder.layer.{i}.output.LayerNorm", bias::always};
    s.heads.pooler = {"pooler.dense", bias::always};
    s.heads.classifier = {"classifier", bias::always};
    s.heads.token_classifier = {"classifier", bias::always};
    s.heads.mlm_dense = {"cls.predictions.transform.dense", bias::always};
    s.heads.mlm_norm = {"cls.predictions.transform.LayerNorm", bias::always};
    s.heads.mlm_bias = "cls.predictions.bias";
    s.heads.mlm_decoder = "cls.predictions.decoder";
    config_schema& c = s.config;  // BertConfig
    c.vocab_size.fallback = 30522;
    c.hidden_size.fallback = 768;
    c.num_layers.fallback = 12;
    c.num_heads.fallback = 12;
    c.intermediate_size.fallback = 3072;
    c.max_positions.fallback = 512;
    c.type_vocab_size = {"type_vocab_size", 2};
    c.norm_eps = {"layer_norm_eps", 1e-12};
    c.activation = {"hidden_act", "gelu"};
    c.pad_token_id = 0;
    c.hidden_dropout = {"hidden_dropout_prob"};
    c.attention_dropout = {"attention_probs_dropout_prob", 0.1};
    c.fresh_type_vocab_size = 2;
    return s;
  }();
  static constexpr io::family id{spec};
};

}  // namespace vtrans::nn
