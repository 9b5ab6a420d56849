#pragma once
// RoBERTa: BERT's layout with positions counted after the padding index, a classification head
// of its own (dense + tanh, then out_proj) in place of the pooler, and lm_head.* for masked LM.
#include "vtrans/nn/families/bert.hpp"

namespace vtrans::nn {

struct roberta {
  static constexpr family_spec spec = [] {
    family_spec s = bert::spec;
    s.model_type = "roberta";
    s.class_prefix = "Roberta";
    s.base_model_prefix = "roberta.";
    s.positions = position_kind::learned_after_padding;
    s.heads.pooler = {};
    s.heads.classifier_dense = {"classifier.dense", bias::always};
    s.heads.classifier = {"classifier.out_proj", bias::always};
    s.heads.mlm_dense = {"lm_head.dense", bias::always};
    s.heads.mlm_norm = {"lm_head.layer_norm", bias::always};
    s.heads.mlm_bias = "lm_head.bias";
    s.heads.mlm_decoder = "lm_head.decoder";
    config_schema& c = s.config;  // RobertaConfig: BertConfig's sizes, its own special tokens
    c.pad_token_id = 1;
    c.bos_token_id = 0;
    c.eos_token_id = 2;
    c.fresh_type_vocab_size = 1;
    return s;
  }();
  static constexpr io::family id{spec};
};

}  // namespace vtrans::nn
