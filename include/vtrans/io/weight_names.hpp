#pragma once
// Hugging Face state-dict names -> the canonical names vtrans uses: the base-model prefix
// ("bert.", "roberta.", "transformer.", "model.") removed, TF-era LayerNorm.gamma/beta renamed, and
// non-parameter buffers (causal masks, position ids, RoPE frequencies) dropped.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vtrans/io/family.hpp"

namespace vtrans::io {

namespace detail {

inline std::vector<std::string_view> split_dots(std::string_view s) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = s.find('.', start);
    parts.push_back(s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) return parts;
    start = dot + 1;
  }
}

inline bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

inline bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

}  // namespace detail

// The prefix transformers puts before the base model's parameters in task models.
inline std::string_view base_model_prefix(family f) {
  switch (f) {
    case family::bert: return "bert.";
    case family::roberta: return "roberta.";
    case family::gpt2: return "transformer.";
    case family::llama: return "model.";
  }
  return "";
}

// Task heads live outside the base model, so they never carry the prefix.
inline bool is_head_name(family f, std::string_view canonical) {
  using detail::starts_with;
  switch (f) {
    case family::bert:
      return starts_with(canonical, "classifier.") || starts_with(canonical, "cls.") || starts_with(canonical, "qa_outputs.");
    case family::roberta:
      return starts_with(canonical, "classifier.") || starts_with(canonical, "lm_head.") || starts_with(canonical, "qa_outputs.");
    case family::gpt2:
    case family::llama:
      return starts_with(canonical, "lm_head.") || starts_with(canonical, "score.");
  }
  return false;
}

// The canonical name of a checkpoint tensor, or nullopt for a buffer that is not a parameter.
inline std::optional<std::string> canonical_name(family f, const std::string& hf_name) {
  std::string_view name = hf_name;
  const std::string_view prefix = base_model_prefix(f);
  if (detail::starts_with(name, prefix) && name.size() > prefix.size()) name.remove_prefix(prefix.size());

  const auto parts = detail::split_dots(name);
  const std::size_t n = parts.size();
  const auto last_two = [&](std::string_view a, std::string_view b) { return n >= 2 && parts[n - 2] == a && parts[n - 1] == b; };
  switch (f) {
    case family::gpt2:  // h.N.attn.bias / masked_bias: the causal mask and its fill value
      if (last_two("attn", "bias") || last_two("attn", "masked_bias")) return std::nullopt;
      break;
    case family::bert:
    case family::roberta:  // registered buffers that older versions saved
      if (last_two("embeddings", "position_ids") || last_two("embeddings", "token_type_ids")) return std::nullopt;
      break;
    case family::llama:  // RoPE frequencies are recomputed from rope_theta
      if (last_two("rotary_emb", "inv_freq")) return std::nullopt;
      break;
  }

  std::string out(name);
  if (last_two("LayerNorm", "gamma")) out.replace(out.size() - 5, 5, "weight");
  else if (last_two("LayerNorm", "beta")) out.replace(out.size() - 4, 4, "bias");
  return out;
}

// The name to write for a canonical name: the base-model prefix is added when with_prefix is set
// (task models: "bert.encoder...", but never on heads); base-model files go without it.
inline std::string hf_name(family f, const std::string& canonical, bool with_prefix) {
  if (!with_prefix || is_head_name(f, canonical)) return canonical;
  return std::string(base_model_prefix(f)) + canonical;
}

// GPT-2 uses Conv1D, whose weight is stored [in, out], the transpose of nn.Linear's [out, in].
inline bool is_conv1d_weight(family f, const std::string& canonical) {
  if (f != family::gpt2) return false;
  const auto parts = detail::split_dots(canonical);
  if (parts.size() != 5 || parts[0] != "h" || !detail::all_digits(parts[1]) || parts[4] != "weight") return false;
  return (parts[2] == "attn" && (parts[3] == "c_attn" || parts[3] == "c_proj")) ||
         (parts[2] == "mlp" && (parts[3] == "c_fc" || parts[3] == "c_proj"));
}

}  // namespace vtrans::io
