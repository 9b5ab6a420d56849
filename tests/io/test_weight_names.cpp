#include <doctest/doctest.h>

#include <string>

#include "vtrans/io/weight_names.hpp"
#include "vtrans/nn/families.hpp"

using namespace vtrans::io;

namespace {
constexpr family bert = vtrans::nn::bert::id, roberta = vtrans::nn::roberta::id, gpt2 = vtrans::nn::gpt2::id,
                 llama = vtrans::nn::llama::id, qwen2 = vtrans::nn::qwen2::id, mistral = vtrans::nn::mistral::id;
}  // namespace

TEST_CASE("weight_names: BERT and RoBERTa") {
  CHECK(canonical_name(bert, "bert.embeddings.word_embeddings.weight") == "embeddings.word_embeddings.weight");
  CHECK(canonical_name(bert, "embeddings.word_embeddings.weight") == "embeddings.word_embeddings.weight");
  CHECK(canonical_name(bert, "bert.encoder.layer.11.attention.self.query.weight") ==
        "encoder.layer.11.attention.self.query.weight");
  CHECK(canonical_name(bert, "bert.encoder.layer.0.attention.output.LayerNorm.gamma") ==
        "encoder.layer.0.attention.output.LayerNorm.weight");
  CHECK(canonical_name(bert, "bert.embeddings.LayerNorm.beta") == "embeddings.LayerNorm.bias");
  CHECK(canonical_name(bert, "cls.predictions.transform.LayerNorm.gamma") ==
        "cls.predictions.transform.LayerNorm.weight");
  CHECK(canonical_name(bert, "bert.pooler.dense.weight") == "pooler.dense.weight");
  CHECK(canonical_name(bert, "classifier.weight") == "classifier.weight");
  CHECK(canonical_name(bert, "cls.predictions.decoder.weight") == "cls.predictions.decoder.weight");
  CHECK_FALSE(canonical_name(bert, "bert.embeddings.position_ids"));
  CHECK_FALSE(canonical_name(bert, "embeddings.position_ids"));
  CHECK(canonical_name(bert, "bert.embeddings.position_embeddings.weight") == "embeddings.position_embeddings.weight");

  CHECK(canonical_name(roberta, "roberta.encoder.layer.3.output.dense.bias") == "encoder.layer.3.output.dense.bias");
  CHECK(canonical_name(roberta, "classifier.out_proj.weight") == "classifier.out_proj.weight");
  CHECK(canonical_name(roberta, "lm_head.layer_norm.weight") == "lm_head.layer_norm.weight");
  CHECK_FALSE(canonical_name(roberta, "roberta.embeddings.position_ids"));
  // Another family's prefix is not ours to strip.
  CHECK(canonical_name(roberta, "bert.pooler.dense.weight") == "bert.pooler.dense.weight");
}

TEST_CASE("weight_names: GPT-2") {
  CHECK(canonical_name(gpt2, "transformer.wte.weight") == "wte.weight");
  CHECK(canonical_name(gpt2, "wpe.weight") == "wpe.weight");
  CHECK(canonical_name(gpt2, "transformer.h.0.attn.c_attn.weight") == "h.0.attn.c_attn.weight");
  CHECK(canonical_name(gpt2, "h.0.attn.c_attn.bias") == "h.0.attn.c_attn.bias");  // a parameter, not the mask
  CHECK(canonical_name(gpt2, "transformer.ln_f.bias") == "ln_f.bias");
  CHECK(canonical_name(gpt2, "lm_head.weight") == "lm_head.weight");
  CHECK(canonical_name(gpt2, "score.weight") == "score.weight");
  CHECK_FALSE(canonical_name(gpt2, "transformer.h.5.attn.bias"));
  CHECK_FALSE(canonical_name(gpt2, "h.11.attn.masked_bias"));

  CHECK(is_conv1d_weight(gpt2, "h.0.attn.c_attn.weight"));
  CHECK(is_conv1d_weight(gpt2, "h.11.attn.c_proj.weight"));
  CHECK(is_conv1d_weight(gpt2, "h.3.mlp.c_fc.weight"));
  CHECK(is_conv1d_weight(gpt2, "h.3.mlp.c_proj.weight"));
  CHECK_FALSE(is_conv1d_weight(gpt2, "h.3.mlp.c_proj.bias"));
  CHECK_FALSE(is_conv1d_weight(gpt2, "wte.weight"));
  CHECK_FALSE(is_conv1d_weight(gpt2, "lm_head.weight"));
  CHECK_FALSE(is_conv1d_weight(gpt2, "h.x.mlp.c_fc.weight"));
  CHECK_FALSE(is_conv1d_weight(bert, "h.0.attn.c_attn.weight"));
}

TEST_CASE("weight_names: LLaMA") {
  CHECK(canonical_name(llama, "model.embed_tokens.weight") == "embed_tokens.weight");
  CHECK(canonical_name(llama, "model.layers.31.self_attn.k_proj.weight") == "layers.31.self_attn.k_proj.weight");
  CHECK(canonical_name(llama, "model.layers.0.mlp.gate_proj.weight") == "layers.0.mlp.gate_proj.weight");
  CHECK(canonical_name(llama, "model.norm.weight") == "norm.weight");
  CHECK(canonical_name(llama, "lm_head.weight") == "lm_head.weight");
  CHECK_FALSE(canonical_name(llama, "model.layers.0.self_attn.rotary_emb.inv_freq"));
  CHECK_FALSE(canonical_name(llama, "model.rotary_emb.inv_freq"));
}

TEST_CASE("weight_names: Qwen2 and Mistral use LLaMA's names") {
  for (family f : {qwen2, mistral}) {
    CHECK(canonical_name(f, "model.layers.2.self_attn.q_proj.bias") == "layers.2.self_attn.q_proj.bias");
    CHECK(canonical_name(f, "model.norm.weight") == "norm.weight");
    CHECK_FALSE(canonical_name(f, "model.layers.0.self_attn.rotary_emb.inv_freq"));
    CHECK(hf_name(f, "embed_tokens.weight", true) == "model.embed_tokens.weight");
    CHECK(hf_name(f, "score.weight", true) == "score.weight");
    CHECK_FALSE(is_conv1d_weight(f, "layers.0.mlp.up_proj.weight"));
  }
}

TEST_CASE("weight_names: hf_name puts the prefix back, except on heads") {
  CHECK(hf_name(bert, "pooler.dense.weight", true) == "bert.pooler.dense.weight");
  CHECK(hf_name(bert, "classifier.weight", true) == "classifier.weight");
  CHECK(hf_name(roberta, "classifier.out_proj.bias", true) == "classifier.out_proj.bias");
  CHECK(hf_name(gpt2, "h.0.ln_1.weight", true) == "transformer.h.0.ln_1.weight");
  CHECK(hf_name(gpt2, "h.0.ln_1.weight", false) == "h.0.ln_1.weight");
  CHECK(hf_name(llama, "lm_head.weight", true) == "lm_head.weight");
  CHECK(hf_name(llama, "norm.weight", true) == "model.norm.weight");
  for (family f : {bert, roberta, gpt2, llama, qwen2, mistral}) {
    for (const char* n : {"x.weight", "lm_head.weight", "classifier.weight"}) {
      const std::string full = hf_name(f, n, true);
      CHECK(canonical_name(f, full) == std::string(n));
    }
  }
}
