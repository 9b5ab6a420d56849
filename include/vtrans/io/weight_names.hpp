#pragma once
// Hugging Face state-dict names -> the canonical names vtrans uses: the family's base-model prefix
// ("bert.", "transformer.", "model.", ...) removed, TF-era LayerNorm.gamma/beta renamed, and the
// family's non-parameter buffers (causal masks, position ids, RoPE frequencies) dropped.
#include <optional>
#include <string>
#include <string_view>

#include "vtrans/io/family.hpp"

namespace vtrans::io {

namespace detail {
inline bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
// `name` is `ending` or ends with "." + ending
inline bool ends_with_part(std::string_view name, std::string_view ending) {
  if (ending.empty() || name.size() < ending.size() || name.substr(name.size() - ending.size()) != ending) return false;
  return name.size() == ending.size() || name[name.size() - ending.size() - 1] == '.';
}
// `name` lies under the top-level module of `role_name` ("cls.predictions.bias" -> "cls.")
inline bool same_module(std::string_view name, std::string_view role_name) {
  const std::string_view module = role_name.substr(0, role_name.find('.'));
  return !module.empty() && name.size() > module.size() && starts_with(name, module) && name[module.size()] == '.';
}
}  // namespace detail

// The prefix transformers puts before the base model's parameters in task models.
inline std::string_view base_model_prefix(family f) { return f->base_model_prefix; }

// Task heads live outside the base model, so they never carry the prefix.
inline bool is_head_name(family f, std::string_view canonical) {
  const nn::head_roles& h = f->heads;
  for (std::string_view name : {h.classifier_dense.name, h.classifier.name, h.token_classifier.name, h.mlm_dense.name, h.mlm_norm.name,
                                h.mlm_bias, h.mlm_decoder, h.lm_head.name})
    if (detail::same_module(canonical, name)) return true;
  return false;
}

// The canonical name of a checkpoint tensor, or nullopt for a buffer that is not a parameter.
inline std::optional<std::string> canonical_name(family f, const std::string& hf_name) {
  std::string_view name = hf_name;
  const std::string_view prefix = base_model_prefix(f);
  if (detail::starts_with(name, prefix) && name.size() > prefix.size()) name.remove_prefix(prefix.size());
  for (std::string_view buffer : f->buffers)
    if (detail::ends_with_part(name, buffer)) return std::nullopt;
  std::string out(name);
  if (detail::ends_with_part(name, "LayerNorm.gamma")) out.replace(out.size() - 5, 5, "weight");
  else if (detail::ends_with_part(name, "LayerNorm.beta")) out.replace(out.size() - 4, 4, "bias");
  return out;
}

// The name to write for a canonical name: the base-model prefix is added when with_prefix is set
// (task models: "bert.encoder...", but never on heads); base-model files go without it.
inline std::string hf_name(family f, const std::string& canonical, bool with_prefix) {
  if (!with_prefix || is_head_name(f, canonical)) return canonical;
  return std::string(base_model_prefix(f)) + canonical;
}

// Layer projections of a Conv1D family (GPT-2) are stored [in, out], the transpose of nn.Linear's [out, in].
inline bool is_conv1d_weight(family f, std::string_view canonical) {
  const nn::family_spec& s = f.spec();
  constexpr std::string_view suffix = ".weight";
  if (!s.conv1d_weights || !detail::ends_with_part(canonical, "weight")) return false;
  const std::string_view stem = canonical.substr(0, canonical.size() - suffix.size());
  for (const nn::role* r : {&s.layer.q, &s.layer.k, &s.layer.v, &s.layer.qkv, &s.layer.o, &s.layer.gate, &s.layer.up, &s.layer.down})
    if (r->present() && nn::matches_role(r->name, stem)) return true;
  return false;
}

}  // namespace vtrans::io
