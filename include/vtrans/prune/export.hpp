#pragma once
// Writing a pruned model as a Hugging Face folder. When pruning removed only attention heads
// (hidden size, FFN widths and every sub-layer unchanged) in a family whose stock classes
// support it (family_spec::stock_pruned_heads: BERT, RoBERTa, GPT-2), the config keeps the
// teacher's head count and lists the removed heads in "pruned_heads", which stock transformers
// applies before loading the smaller weights. Any other shape of pruning is written with
// per-layer sizes ("per_layer_config").
#include <filesystem>
#include <string>

#include "vtrans/io/atomic_file.hpp"
#include "vtrans/nn/save.hpp"
#include "vtrans/prune/compact.hpp"

namespace vtrans::prune {

// Removed head indices per layer when only heads were removed; empty otherwise.
inline nlohmann::json pruned_heads_of(const io::model_config& teacher, const kept_units& k) {
  nlohmann::json out = nlohmann::json::object();
  if (!teacher.spec().stock_pruned_heads || index(k.hidden.size()) != teacher.hidden_size || k.layers.size() != teacher.layers.size())
    return out;
  for (std::size_t l = 0; l < k.layers.size(); ++l) {
    const auto& t = teacher.layers[l];
    const auto& kl = k.layers[l];
    if (!t.has_attention || !t.has_mlp || !kl.attention || !kl.mlp || index(kl.intermediate.size()) != t.intermediate) return {};
    if (t.heads != teacher.num_heads) return {};  // the teacher is already heterogeneous
    std::vector<index> removed;
    std::size_t next = 0;
    for (index h = 0; h < t.heads; ++h) {
      if (next < kl.kv_heads.size() && kl.kv_heads[next] == h) ++next;
      else removed.push_back(h);
    }
    if (!removed.empty()) out[std::to_string(l)] = removed;
  }
  return out;
}

// Writes dir/model.safetensors and dir/config.json for the compacted model `model`, whose
// surviving units relative to `teacher` are `kept`.
template <class Model>
void save_pruned(const Model& model, const kept_units& kept, const io::model_config& teacher, const std::string& dir) {
  nn::save_pretrained(model, dir);
  const nlohmann::json removed = pruned_heads_of(teacher, kept);
  if (removed.empty()) return;
  io::model_config c = nn::saved_config(model);
  for (auto& layer : c.layers) layer.heads = layer.kv_heads = c.num_heads;
  nlohmann::json j = io::to_json(c);
  j["pruned_heads"] = removed;
  io::write_file_atomic((std::filesystem::path(dir) / "config.json").string(), j.dump(2) + "\n");
}

}  // namespace vtrans::prune
