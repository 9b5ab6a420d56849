#pragma once
// Task heads on top of the transformer body, chosen from config.json's "architectures".
#include <stdexcept>
#include <string>
#include <vector>

#include "vtrans/error.hpp"
#include "vtrans/io/family.hpp"

namespace vtrans::nn {

enum class head_kind {
  base,                      // BertModel, GPT2Model, LlamaModel: the last hidden state
  sequence_classification,   // one vector of label logits per sequence
  token_classification,      // label logits per token
  masked_lm,                 // vocabulary logits per token (encoders)
  causal_lm                  // next-token logits per token (decoders)
};

inline const char* head_name(head_kind h) {
  switch (h) {
    case head_kind::base: return "base";
    case head_kind::sequence_classification: return "sequence_classification";
    case head_kind::token_classification: return "token_classification";
    case head_kind::masked_lm: return "masked_lm";
    case head_kind::causal_lm: return "causal_lm";
  }
  return "?";
}

// Whether the family has the head (language-model heads: masked for encoders, causal for decoders).
inline bool has_head(const family_spec& f, head_kind h) {
  if (h == head_kind::masked_lm) return f.has_masked_lm();
  if (h == head_kind::causal_lm) return f.heads.lm_head.present();
  return true;
}

// The Hugging Face class name of a family's model with the given head.
inline std::string architecture_name(io::family family, head_kind h) {
  const family_spec& f = family.spec();
  const std::string prefix(f.class_prefix);
  switch (h) {
    case head_kind::base: return prefix + "Model";
    case head_kind::sequence_classification: return prefix + "ForSequenceClassification";
    case head_kind::token_classification: return prefix + "ForTokenClassification";
    case head_kind::masked_lm: return prefix + "ForMaskedLM";
    case head_kind::causal_lm: return f.causal_lm_class.empty() ? prefix + "ForCausalLM" : std::string(f.causal_lm_class);
  }
  return prefix + "Model";
}

// Reads the head from the first entry of "architectures" (base model when absent).
inline head_kind head_from_architectures(io::family f, const std::vector<std::string>& architectures, const std::string& source) {
  if (architectures.empty()) return head_kind::base;
  const std::string& a = architectures.front();
  for (head_kind h : {head_kind::base, head_kind::sequence_classification, head_kind::token_classification, head_kind::masked_lm,
                      head_kind::causal_lm})
    if (has_head(f.spec(), h) && architecture_name(f, h) == a) return h;
  throw vtrans::usage_error(source + ": architecture \"" + a + "\" is not supported for model_type " + std::string(f.name()));
}

}  // namespace vtrans::nn
