#pragma once
// config.json against its checkpoint, before any model is allocated: the shape of every
// parameter the config implies (by the family's roles, as nn::transformer builds them) is
// compared with the checkpoint's tensor of that name. A config whose sizes disagree with the
// weights (vocab_size 10^7 beside a small checkpoint) is refused in milliseconds, instead of
// first allocating and initialising a model of the config's size.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "vtrans/io/checkpoint_reader.hpp"
#include "vtrans/io/model_config.hpp"
#include "vtrans/io/weight_names.hpp"
#include "vtrans/nn/heads.hpp"

namespace vtrans::io {

// One parameter the config implies: canonical name, shape ([out, in] for matrices, as the model
// stores them) and the config values its sizes come from, for messages.
struct implied_tensor {
  std::string name;
  std::vector<std::int64_t> shape;
  std::string from;
};

// Every parameter of a model of this config and head, in nn::transformer's layout.
inline std::vector<implied_tensor> implied_tensors(const model_config& c, nn::head_kind head) {
  const nn::family_spec& f = c.spec();
  const nn::config_schema& k = f.config;
  const auto key = [](std::string_view name, index v) { return std::string(name) + " " + std::to_string(v); };
  const std::int64_t D = c.hidden_size, V = c.vocab_size, hd = c.head_dim;
  const std::string hidden = key(k.hidden_size.name, D), vocab = key(k.vocab_size.name, V);
  std::vector<implied_tensor> out;
  const auto add = [&](std::string name, std::vector<std::int64_t> shape, const std::string& from) {
    out.push_back({std::move(name), std::move(shape), from});
  };
  const auto linear = [&](const nn::role& r, index layer, std::int64_t rows, std::int64_t cols, const std::string& from) {
    add(nn::weight_name(r, layer), {rows, cols}, from);
    if (has_bias(c, r.bias)) add(nn::bias_name(r, layer), {rows}, from);
  };
  const auto norm = [&](const nn::role& r, index layer) {
    add(nn::weight_name(r, layer), {D}, hidden);
    if (has_bias(c, r.bias)) add(nn::bias_name(r, layer), {D}, hidden);
  };

  add(nn::weight_name(f.model.token_embedding), {V, D}, vocab + ", " + hidden);
  if (f.model.position_embedding.present())
    add(nn::weight_name(f.model.position_embedding), {c.max_positions, D}, key(k.max_positions.name, c.max_positions) + ", " + hidden);
  if (f.model.token_type_embedding.present())
    add(nn::weight_name(f.model.token_type_embedding), {std::max<index>(1, c.type_vocab_size), D},
        key(k.type_vocab_size.name, c.type_vocab_size) + ", " + hidden);
  if (f.model.embedding_norm.present()) norm(f.model.embedding_norm, -1);

  const nn::layer_roles& r = f.layer;
  for (index i = 0; i < c.num_layers; ++i) {
    const layer_sizes& s = c.layers[std::size_t(i)];
    const std::int64_t qw = s.heads * hd, kw = s.kv_heads * hd, I = s.intermediate;
    const std::string at = "layer " + std::to_string(i) + ": ";
    const std::string heads = at + std::to_string(s.heads) + " heads, " + std::to_string(s.kv_heads) + " key/value heads of " +
                              std::to_string(hd) + ", " + hidden;
    const std::string ffn = at + key(k.intermediate_size.name, I) + ", " + hidden;
    if (s.has_attention) {
      norm(r.attn_norm, i);
      if (f.fused_qkv()) {
        linear(r.qkv, i, qw + 2 * kw, D, heads);
      } else {
        linear(r.q, i, qw, D, heads);
        linear(r.k, i, kw, D, heads);
        linear(r.v, i, kw, D, heads);
      }
      linear(r.o, i, D, qw, heads);
    }
    if (s.has_mlp) {
      norm(r.mlp_norm, i);
      if (f.gated_mlp()) linear(r.gate, i, I, D, ffn);
      linear(r.up, i, I, D, ffn);
      linear(r.down, i, D, I, ffn);
    }
  }
  if (f.model.final_norm.present()) norm(f.model.final_norm, -1);

  const nn::head_roles& h = f.heads;
  const std::string labels = "num_labels " + std::to_string(c.num_labels) + ", " + hidden;
  switch (head) {
    case nn::head_kind::base: break;
    case nn::head_kind::sequence_classification:
      if (h.pooler.present()) linear(h.pooler, -1, D, D, hidden);
      if (h.classifier_dense.present()) linear(h.classifier_dense, -1, D, D, hidden);
      linear(h.classifier, -1, c.num_labels, D, labels);
      break;
    case nn::head_kind::token_classification: linear(h.token_classifier, -1, c.num_labels, D, labels); break;
    case nn::head_kind::masked_lm:
      linear(h.mlm_dense, -1, D, D, hidden);
      norm(h.mlm_norm, -1);
      add(std::string(h.mlm_bias), {V}, vocab);
      break;
    case nn::head_kind::causal_lm:
      if (!c.tie_word_embeddings) add(nn::weight_name(h.lm_head), {V, D}, vocab + ", " + hidden);
      break;
  }
  return out;
}

// Checks every parameter the config implies against the checkpoint: present, and of the implied
// shape (Conv1D weights compared transposed). Throws format_error naming the tensor, its file
// and the config values the shape comes from. Costs one pass over the checkpoint's header.
inline void check_config_against_checkpoint(const model_config& c, nn::head_kind head, const checkpoint_reader& reader,
                                            const std::string& config_path) {
  std::map<std::string, std::string> by_canonical;  // canonical -> checkpoint name
  for (const std::string& name : reader.names())
    if (auto canonical = canonical_name(c.family, name)) by_canonical.emplace(*canonical, name);
  for (const implied_tensor& t : implied_tensors(c, head)) {
    auto it = by_canonical.find(t.name);
    if (it == by_canonical.end())
      throw format_error(reader.source() + ": missing tensor " + t.name + " (required by " + config_path + ": " + t.from + ")");
    std::vector<std::int64_t> s = reader.info(it->second).shape;
    if (is_conv1d_weight(c.family, t.name) && s.size() == 2) std::swap(s[0], s[1]);
    if (s != t.shape)
      throw format_error(reader.shard_path(it->second) + ": tensor " + it->second + " has shape " + detail::shape_text(s) + ", but " +
                         config_path + " (" + t.from + ") implies " + detail::shape_text(t.shape));
  }
}

// The same for a model folder: its config.json (limits checked by load_config) against its
// checkpoint, with the head its "architectures" names. Returns the config.
inline model_config check_model_folder(const std::string& dir) {
  const std::string config_path = (std::filesystem::path(dir) / "config.json").string();
  model_config c = load_config(config_path);
  check_config_against_checkpoint(c, nn::head_from_architectures(c.family, c.architectures, config_path), checkpoint_reader(dir), config_path);
  return c;
}

}  // namespace vtrans::io
