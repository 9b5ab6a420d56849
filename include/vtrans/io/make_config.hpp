#pragma once
// The config of a model trained from scratch: its sizes, special tokens and labels written in the
// family's own config.json keys (nn/families/), then parsed like any file. Hidden dropout goes
// into the family's dropout keys, attention dropout is turned off, and embeddings are tied.
// for_task: a pre-trained model's config made ready for fine-tuning on another task.
#include <string>
#include <vector>

#include "vtrans/io/model_config.hpp"

namespace vtrans::io {

struct fresh_model {
  index vocab_size = 0;
  index hidden_size = 128, num_layers = 2, num_heads = 2, intermediate_size = 512;
  index max_length = 128;  // longest input in tokens (RoBERTa's table gets padding_idx + 1 rows more)
  index pad_token_id = 0, bos_token_id = -1, eos_token_id = -1;
  std::vector<std::string> labels;  // class names; {"score"} for regression; empty for language models
  double dropout = 0.1;             // hidden dropout
};

namespace detail {
// id2label from class names; {"score"} marks a regression.
inline void put_labels(nlohmann::json& j, const std::vector<std::string>& labels) {
  if (labels.empty()) return;
  nlohmann::json id2label = nlohmann::json::object();
  for (std::size_t i = 0; i < labels.size(); ++i) id2label[std::to_string(i)] = labels[i];
  j["id2label"] = id2label;
  if (labels == std::vector<std::string>{"score"}) j["problem_type"] = "regression";
}
// The hidden dropout in every key the family reads it from.
inline void put_hidden_dropout(nlohmann::json& j, const nn::family_spec& f, double dropout) {
  for (std::string_view d : f.config.hidden_dropout)
    if (!d.empty()) j[std::string(d)] = dropout;
}
}  // namespace detail

inline model_config make_config(io::family family, const fresh_model& m, const std::string& source = "make_config") {
  const nn::family_spec& f = family.spec();
  const nn::config_schema& k = f.config;
  const auto key = [](std::string_view name) { return std::string(name); };
  nlohmann::json j{{"model_type", key(f.model_type)},
                   {key(k.vocab_size.name), m.vocab_size},
                   {"pad_token_id", m.pad_token_id},
                   {"bos_token_id", m.bos_token_id},
                   {"eos_token_id", m.eos_token_id},
                   {key(k.hidden_size.name), m.hidden_size},
                   {key(k.num_layers.name), m.num_layers},
                   {key(k.num_heads.name), m.num_heads},
                   {key(k.intermediate_size.name), m.intermediate_size}};
  if (f.grouped_query()) j[key(k.num_kv_heads.name)] = m.num_heads;
  const bool after_padding = f.positions == nn::position_kind::learned_after_padding;
  j[key(k.max_positions.name)] = m.max_length + (after_padding ? m.pad_token_id + 1 : 0);
  if (k.type_vocab_size.present()) j[key(k.type_vocab_size.name)] = k.fresh_type_vocab_size;
  detail::put_hidden_dropout(j, f, m.dropout);
  if (k.attention_dropout.present() && k.attention_dropout.fallback != 0) j[key(k.attention_dropout.name)] = 0.0;
  if (!k.tie_word_embeddings) j["tie_word_embeddings"] = true;
  detail::put_labels(j, m.labels);
  return parse_config(j, source);
}

// A pre-trained model's config for fine-tuning on a new task: every size, token id and option of
// `base` kept, its labels (empty for language models) and hidden dropout replaced, its head and
// labels of the old task dropped (the head is chosen by the new task).
inline model_config for_task(const model_config& base, const std::vector<std::string>& labels, double dropout,
                             const std::string& source = "for_task") {
  model_config c = base;
  c.architectures.clear();
  nlohmann::json j = to_json(c);
  for (const char* key : {"id2label", "label2id", "num_labels", "problem_type", "architectures"}) j.erase(key);
  detail::put_hidden_dropout(j, base.spec(), dropout);
  detail::put_labels(j, labels);
  return parse_config(j, source);
}

}  // namespace vtrans::io
