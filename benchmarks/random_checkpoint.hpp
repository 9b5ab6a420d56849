#pragma once
// Random-weight Hugging Face checkpoints of real model shapes, for the benchmarks (nothing large
// is committed): config.json plus safetensors in F32 or BF16, sharded above 5 GB as
// transformers does, streamed to disk a chunk at a time so a 13.5 GB model never sits in
// memory. Weights are uniform with standard deviation initializer_range (0.02), norms 1,
// biases 0; values come from a counter-based hash, so a shape always gives the same bytes.
// A folder is complete when its stamp file exists; an incomplete one is rewritten.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vtrans/io/atomic_file.hpp"
#include "vtrans/tensor/half.hpp"
#include "vtrans/tensor/math.hpp"

namespace vtrans::bench {

enum class init { weight, ones, zeros };

struct tensor_spec {
  std::string name;
  std::vector<std::int64_t> shape;
  init kind = init::weight;
  std::int64_t numel() const {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

struct checkpoint_spec {
  std::string name;        // e.g. "bert-base-cls2"
  nlohmann::json config;   // config.json
  bool bf16 = false;       // stored dtype: BF16, else F32
  std::vector<tensor_spec> tensors;
  std::size_t element_size() const { return bf16 ? 2 : 4; }
  std::uint64_t bytes() const {
    std::uint64_t b = 0;
    for (const auto& t : tensors) b += std::uint64_t(t.numel()) * element_size();
    return b;
  }
  std::int64_t parameters() const {
    std::int64_t n = 0;
    for (const auto& t : tensors) n += t.numel();
    return n;
  }
};

// BERT-base with a two-label sequence-classification head (BertForSequenceClassification), F32.
inline checkpoint_spec bert_base_cls2() {
  const std::int64_t D = 768, I = 3072, V = 30522, L = 12;
  checkpoint_spec s;
  s.name = "bert-base-cls2";
  s.config = {{"architectures", {"BertForSequenceClassification"}}, {"model_type", "bert"}, {"hidden_size", D},
              {"num_hidden_layers", L}, {"num_attention_heads", 12}, {"intermediate_size", I}, {"hidden_act", "gelu"},
              {"hidden_dropout_prob", 0.1}, {"attention_probs_dropout_prob", 0.1}, {"max_position_embeddings", 512},
              {"type_vocab_size", 2}, {"vocab_size", V}, {"layer_norm_eps", 1e-12}, {"initializer_range", 0.02},
              {"pad_token_id", 0}, {"id2label", {{"0", "LABEL_0"}, {"1", "LABEL_1"}}}, {"label2id", {{"LABEL_0", 0}, {"LABEL_1", 1}}},
              {"torch_dtype", "float32"}};
  auto add = [&](const std::string& n, std::vector<std::int64_t> shape, init k = init::weight) { s.tensors.push_back({n, std::move(shape), k}); };
  add("bert.embeddings.word_embeddings.weight", {V, D});
  add("bert.embeddings.position_embeddings.weight", {512, D});
  add("bert.embeddings.token_type_embeddings.weight", {2, D});
  add("bert.embeddings.LayerNorm.weight", {D}, init::ones);
  add("bert.embeddings.LayerNorm.bias", {D}, init::zeros);
  for (std::int64_t l = 0; l < L; ++l) {
    const std::string p = "bert.encoder.layer." + std::to_string(l) + ".";
    for (const char* m : {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"}) {
      add(p + m + ".weight", {D, D});
      add(p + m + ".bias", {D}, init::zeros);
    }
    add(p + "attention.output.LayerNorm.weight", {D}, init::ones);
    add(p + "attention.output.LayerNorm.bias", {D}, init::zeros);
    add(p + "intermediate.dense.weight", {I, D});
    add(p + "intermediate.dense.bias", {I}, init::zeros);
    add(p + "output.dense.weight", {D, I});
    add(p + "output.dense.bias", {D}, init::zeros);
    add(p + "output.LayerNorm.weight", {D}, init::ones);
    add(p + "output.LayerNorm.bias", {D}, init::zeros);
  }
  add("bert.pooler.dense.weight", {D, D});
  add("bert.pooler.dense.bias", {D}, init::zeros);
  add("classifier.weight", {2, D});
  add("classifier.bias", {2}, init::zeros);
  return s;
}

// LlamaForCausalLM of the given sizes, BF16 (as such checkpoints are published).
inline checkpoint_spec llama_causal_lm(const std::string& name, std::int64_t D, std::int64_t L, std::int64_t heads, std::int64_t kv_heads,
                                       std::int64_t I, std::int64_t V, std::int64_t max_positions) {
  const std::int64_t hd = D / heads;
  checkpoint_spec s;
  s.name = name;
  s.bf16 = true;
  s.config = {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"hidden_size", D}, {"num_hidden_layers", L},
              {"num_attention_heads", heads}, {"num_key_value_heads", kv_heads}, {"intermediate_size", I}, {"hidden_act", "silu"},
              {"vocab_size", V}, {"max_position_embeddings", max_positions}, {"rms_norm_eps", 1e-5}, {"rope_theta", 10000.0},
              {"attention_bias", false}, {"mlp_bias", false}, {"tie_word_embeddings", false}, {"initializer_range", 0.02},
              {"bos_token_id", 1}, {"eos_token_id", 2}, {"torch_dtype", "bfloat16"}};
  auto add = [&](const std::string& n, std::vector<std::int64_t> shape, init k = init::weight) { s.tensors.push_back({n, std::move(shape), k}); };
  add("model.embed_tokens.weight", {V, D});
  for (std::int64_t l = 0; l < L; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    add(p + "self_attn.q_proj.weight", {heads * hd, D});
    add(p + "self_attn.k_proj.weight", {kv_heads * hd, D});
    add(p + "self_attn.v_proj.weight", {kv_heads * hd, D});
    add(p + "self_attn.o_proj.weight", {D, heads * hd});
    add(p + "mlp.gate_proj.weight", {I, D});
    add(p + "mlp.up_proj.weight", {I, D});
    add(p + "mlp.down_proj.weight", {D, I});
    add(p + "input_layernorm.weight", {D}, init::ones);
    add(p + "post_attention_layernorm.weight", {D}, init::ones);
  }
  add("model.norm.weight", {D}, init::ones);
  add("lm_head.weight", {V, D});
  return s;
}
// TinyLlama-1.1B's shape: hidden 2048, 22 layers, 32 heads, 4 key/value heads, FFN 5632.
inline checkpoint_spec tinyllama_1b() { return llama_causal_lm("tinyllama-1.1b", 2048, 22, 32, 4, 5632, 32000, 2048); }
// LLaMA-2-7B's shape: hidden 4096, 32 layers, 32 heads, FFN 11008 (13.5 GB in BF16).
inline checkpoint_spec llama2_7b() { return llama_causal_lm("llama-2-7b", 4096, 32, 32, 32, 11008, 32000, 4096); }

inline checkpoint_spec spec_by_name(const std::string& name) {
  for (auto s : {bert_base_cls2(), tinyllama_1b(), llama2_7b()})
    if (s.name == name) return s;
  throw vtrans::usage_error("no benchmark checkpoint named \"" + name + "\" (bert-base-cls2, tinyllama-1.1b, llama-2-7b)");
}

namespace detail {
inline constexpr const char* stamp_name = ".vtrans-bench-complete";
inline constexpr std::uint64_t max_shard_bytes = 5ull << 30;

// Value i of tensor `t` (its position in the spec seeds it).
inline float value(const tensor_spec& t, std::uint64_t tensor_index, std::uint64_t i, double stddev) {
  if (t.kind == init::ones) return 1.0f;
  if (t.kind == init::zeros) return 0.0f;
  const double u = math::uniform_premixed(math::mix64(0x5eed0000 + tensor_index), i);  // (0, 1)
  return static_cast<float>((2.0 * u - 1.0) * stddev * std::sqrt(3.0));
}

// One shard: the header, then the tensors' bytes in header order, a chunk at a time.
inline void write_shard(const std::string& path, const checkpoint_spec& s, const std::vector<std::size_t>& members, double stddev) {
  nlohmann::json header = nlohmann::json::object();
  std::uint64_t offset = 0;
  for (std::size_t k : members) {
    const auto& t = s.tensors[k];
    const std::uint64_t bytes = std::uint64_t(t.numel()) * s.element_size();
    header[t.name] = {{"dtype", s.bf16 ? "BF16" : "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  header["__metadata__"] = {{"format", "pt"}};
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  unsigned char size_le[8];
  for (int b = 0; b < 8; ++b) size_le[b] = static_cast<unsigned char>(std::uint64_t(text.size()) >> (8 * b));

  io::atomic_writer out(path);
  out.write(size_le, 8);
  out.write(text);
  constexpr std::int64_t chunk = 1 << 22;
  std::vector<float> values(static_cast<std::size_t>(chunk));
  std::vector<bf16> halves(s.bf16 ? static_cast<std::size_t>(chunk) : 0);
  for (std::size_t k : members) {
    const auto& t = s.tensors[k];
    for (std::int64_t i0 = 0; i0 < t.numel(); i0 += chunk) {
      const std::int64_t m = std::min(chunk, t.numel() - i0);
#pragma omp parallel for schedule(static)
      for (std::int64_t i = 0; i < m; ++i) values[std::size_t(i)] = value(t, k, std::uint64_t(i0 + i), stddev);
      if (s.bf16) {
        narrow(std::size_t(m), values.data(), halves.data());
        out.write(halves.data(), std::size_t(m) * 2);  // little-endian hosts only (x86, arm64)
      } else {
        out.write(values.data(), std::size_t(m) * 4);
      }
    }
  }
  out.commit();
}
}  // namespace detail

inline bool checkpoint_complete(const std::string& dir) { return std::filesystem::exists(std::filesystem::path(dir) / detail::stamp_name); }

// Writes the checkpoint into `dir` unless a complete one is there already.
inline void write_random_checkpoint(const checkpoint_spec& s, const std::string& dir) {
  namespace fs = std::filesystem;
  if (checkpoint_complete(dir)) return;
  fs::create_directories(dir);
  for (const auto& e : fs::directory_iterator(dir))  // temporaries of an interrupted run
    if (e.path().filename().string().rfind(".model", 0) == 0 && e.path().filename().string().find(".tmp-") != std::string::npos)
      fs::remove(e.path());
  const double stddev = s.config.value("initializer_range", 0.02);
  // shards in spec order, each at most max_shard_bytes (a single tensor may exceed it)
  std::vector<std::vector<std::size_t>> shards(1);
  std::uint64_t in_shard = 0;
  for (std::size_t k = 0; k < s.tensors.size(); ++k) {
    const std::uint64_t b = std::uint64_t(s.tensors[k].numel()) * s.element_size();
    if (in_shard > 0 && in_shard + b > detail::max_shard_bytes) shards.emplace_back(), in_shard = 0;
    shards.back().push_back(k);
    in_shard += b;
  }
  if (shards.size() == 1) {
    detail::write_shard((fs::path(dir) / "model.safetensors").string(), s, shards[0], stddev);
  } else {
    nlohmann::json index = {{"metadata", {{"total_size", s.bytes()}}}, {"weight_map", nlohmann::json::object()}};
    for (std::size_t i = 0; i < shards.size(); ++i) {
      char file[64];
      std::snprintf(file, sizeof file, "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
      detail::write_shard((fs::path(dir) / file).string(), s, shards[i], stddev);
      for (std::size_t k : shards[i]) index["weight_map"][s.tensors[k].name] = file;
    }
    io::write_file_atomic((fs::path(dir) / "model.safetensors.index.json").string(), index.dump(2));
  }
  io::write_file_atomic((fs::path(dir) / "config.json").string(), s.config.dump(2));
  io::write_file_atomic((fs::path(dir) / detail::stamp_name).string(), s.name + "\n");
}

}  // namespace vtrans::bench
