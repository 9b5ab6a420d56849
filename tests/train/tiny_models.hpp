#pragma once
// Tiny random configurations of every family and a synthetic classification set, shared by
// the training and pruning tests.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vtrans/data/batching.hpp"
#include "vtrans/io/model_config.hpp"

namespace vtrans_test {

inline vtrans::io::model_config tiny_config(const std::string& family, int num_labels = 2, double dropout = 0.0, int layers = 2) {
  nlohmann::json j{{"model_type", family}, {"vocab_size", 40}, {"num_labels", num_labels}};
  if (family == "gpt2") {
    j.update({{"n_embd", 16}, {"n_layer", layers}, {"n_head", 2}, {"n_inner", 32}, {"n_positions", 32}, {"resid_pdrop", dropout},
              {"pad_token_id", 0}});
  } else if (family == "llama" || family == "qwen2" || family == "mistral") {
    j.update({{"hidden_size", 16}, {"intermediate_size", 24}, {"num_hidden_layers", layers}, {"num_attention_heads", 4},
              {"num_key_value_heads", 2}, {"max_position_embeddings", 32}, {"tie_word_embeddings", false}, {"pad_token_id", 0}});
    if (family == "mistral") j["sliding_window"] = 6;  // shorter than most synthetic sequences
  } else {
    j.update({{"hidden_size", 16}, {"intermediate_size", 32}, {"num_hidden_layers", layers}, {"num_attention_heads", 2},
              {"max_position_embeddings", 40}, {"hidden_dropout_prob", dropout}, {"pad_token_id", family == "roberta" ? 1 : 0}});
  }
  return vtrans::io::parse_config(j, "tiny " + family);
}

// Sequences of ids in [5, 40) of length 4..12; label 1 iff id 7 occurs. Token labels: id parity.
inline std::vector<vtrans::data::sequence> synthetic_set(std::size_t n, std::uint64_t seed, bool token_level = false) {
  std::mt19937_64 rng(seed);
  std::vector<vtrans::data::sequence> out;
  for (std::size_t i = 0; i < n; ++i) {
    vtrans::data::sequence s;
    const std::size_t len = 4 + rng() % 9;
    bool seven = false;
    s.ids.push_back(2);  // a [CLS]-like first token
    if (token_level) s.token_labels.push_back(vtrans::data::ignore_index);
    for (std::size_t k = 0; k < len; ++k) {
      const auto id = static_cast<std::int32_t>(5 + rng() % 35);
      seven = seven || id == 7;
      s.ids.push_back(id);
      if (token_level) s.token_labels.push_back(id % 2);
    }
    if (!token_level) s.label = seven ? 1 : 0;
    s.id = std::to_string(i);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace vtrans_test
