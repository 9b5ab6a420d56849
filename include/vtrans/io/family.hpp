#pragma once
// The model families vtrans reads, keyed by the "model_type" of a Hugging Face config.json.
#include <optional>
#include <string_view>

namespace vtrans::io {

enum class family { bert, roberta, gpt2, llama };

inline std::string_view family_name(family f) {
  switch (f) {
    case family::bert: return "bert";
    case family::roberta: return "roberta";
    case family::gpt2: return "gpt2";
    case family::llama: return "llama";
  }
  return "?";
}

inline std::optional<family> family_from_model_type(std::string_view model_type) {
  for (family f : {family::bert, family::roberta, family::gpt2, family::llama})
    if (family_name(f) == model_type) return f;
  return std::nullopt;
}

}  // namespace vtrans::io
