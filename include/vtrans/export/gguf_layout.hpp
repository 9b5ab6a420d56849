#pragma once
// What llama.cpp expects of each family in a GGUF file: the architecture names, the tensor names,
// the RoPE layout and the norm-epsilon key. This table is the one place that knows them; a family
// without an entry cannot be written as GGUF. Tensor names are matched against vtrans's canonical
// parameter names (Hugging Face names without the base-model prefix).
//
// RoPE: Hugging Face checkpoints rotate the two halves of each head (x_i with x_{i+d/2});
// llama.cpp's `llama` and `deci` graphs rotate adjacent pairs (x_{2i} with x_{2i+1}), so the rows
// of q_proj and k_proj (and their biases) are reordered within each head: row 2i takes HF row i and
// row 2i+1 takes HF row i + d/2, as llama.cpp's own converter does. Architectures whose graph
// rotates halves (qwen2: llama.cpp's "neox" RoPE) take the rows unchanged.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vtrans/io/family.hpp"

namespace vtrans::exports {

struct gguf_tensor_name {
  const char* hf;    // canonical name, or its part after the layer prefix ("self_attn.q_proj.weight")
  const char* gguf;  // GGUF name, or its part after "blk.N." ("attn_q.weight")
  bool rope_rows = false;  // rows are a RoPE'd projection (reordered when rope_pairs is set)
};

struct gguf_layout {
  std::string_view model_type; // the family (config.json's model_type)
  const char* arch;            // general.architecture when every layer has the same sizes
  const char* per_layer_arch;  // when they differ (heads, key/value heads, FFN widths, removed sub-layers); null: none
  bool rope_pairs;             // llama.cpp rotates adjacent pairs: q/k rows are reordered (see above)
  const char* norm_eps_key;    // "<arch>.<key>"
  const char* layer_prefix;    // canonical prefix of layer i: prefix + i + "."
  std::vector<gguf_tensor_name> globals, per_layer;
  std::vector<std::string_view> activations;  // what the graph computes; the first is its name
  bool other_activation_fails = false;        // else another activation is written with a note
  bool heads_span_width = false;              // the graph takes head size = width / heads (GPT-2)
};

// llama.cpp's decoder graph of the LLaMA family: `llama` (Mistral too, written as llama.cpp's own
// converter writes it) and its per-layer variant `deci`; Qwen2 adds q/k/v biases and rotates halves.
inline gguf_layout llama_like_layout(std::string_view model_type, const char* arch, const char* per_layer_arch, bool rope_pairs) {
  return {model_type, arch, per_layer_arch, rope_pairs, "attention.layer_norm_rms_epsilon", "layers.",
          {{"embed_tokens.weight", "token_embd.weight"}, {"norm.weight", "output_norm.weight"}, {"lm_head.weight", "output.weight"}},
          {{"input_layernorm.weight", "attn_norm.weight"},
           {"self_attn.q_proj.weight", "attn_q.weight", true},
           {"self_attn.q_proj.bias", "attn_q.bias", true},
           {"self_attn.k_proj.weight", "attn_k.weight", true},
           {"self_attn.k_proj.bias", "attn_k.bias", true},
           {"self_attn.v_proj.weight", "attn_v.weight"},
           {"self_attn.v_proj.bias", "attn_v.bias"},
           {"self_attn.o_proj.weight", "attn_output.weight"},
           {"self_attn.o_proj.bias", "attn_output.bias"},
           {"post_attention_layernorm.weight", "ffn_norm.weight"},
           {"mlp.gate_proj.weight", "ffn_gate.weight"},
           {"mlp.gate_proj.bias", "ffn_gate.bias"},
           {"mlp.up_proj.weight", "ffn_up.weight"},
           {"mlp.up_proj.bias", "ffn_up.bias"},
           {"mlp.down_proj.weight", "ffn_down.weight"},
           {"mlp.down_proj.bias", "ffn_down.bias"}},
          {"silu", "swish"},
          true};
}

// The table, one row per family llama.cpp can run.
inline const std::vector<gguf_layout>& gguf_layouts() {
  static const std::vector<gguf_layout> table{
      llama_like_layout("llama", "llama", "deci", true),
      llama_like_layout("mistral", "llama", "deci", true),
      llama_like_layout("qwen2", "qwen2", nullptr, false),
      // llama.cpp's gpt2 graph builds every layer from the first layer's sizes: no per-layer architecture
      {"gpt2", "gpt2", nullptr, false, "attention.layer_norm_epsilon", "h.",
       {{"wte.weight", "token_embd.weight"},
        {"wpe.weight", "position_embd.weight"},
        {"ln_f.weight", "output_norm.weight"},
        {"ln_f.bias", "output_norm.bias"}},
       {{"ln_1.weight", "attn_norm.weight"},
        {"ln_1.bias", "attn_norm.bias"},
        {"attn.c_attn.weight", "attn_qkv.weight"},
        {"attn.c_attn.bias", "attn_qkv.bias"},
        {"attn.c_proj.weight", "attn_output.weight"},
        {"attn.c_proj.bias", "attn_output.bias"},
        {"ln_2.weight", "ffn_norm.weight"},
        {"ln_2.bias", "ffn_norm.bias"},
        {"mlp.c_fc.weight", "ffn_up.weight"},
        {"mlp.c_fc.bias", "ffn_up.bias"},
        {"mlp.c_proj.weight", "ffn_down.weight"},
        {"mlp.c_proj.bias", "ffn_down.bias"}},
       {"gelu_new", "gelu_pytorch_tanh", "gelu_fast"},
       false,
       true},
  };
  return table;
}

inline const gguf_layout* gguf_layout_of(io::family f) {
  for (const auto& l : gguf_layouts())
    if (l.model_type == f->model_type) return &l;
  return nullptr;
}

// Where a canonical parameter goes: its layer (-1 outside the layers), its GGUF name (after
// "blk.N." for layer tensors) and whether its rows are RoPE'd; nullopt for a name the layout does
// not know.
struct gguf_place {
  int layer = -1;
  std::string name;
  bool rope_rows = false;
  std::string full_name(int block) const { return layer < 0 ? name : "blk." + std::to_string(block) + "." + name; }
};

inline std::optional<gguf_place> gguf_place_of(const gguf_layout& layout, const std::string& canonical) {
  for (const auto& g : layout.globals)
    if (canonical == g.hf) return gguf_place{-1, g.gguf, g.rope_rows};
  const std::string prefix = layout.layer_prefix;
  if (canonical.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  const std::size_t dot = canonical.find('.', prefix.size());
  if (dot == std::string::npos || dot == prefix.size() || dot - prefix.size() > 6) return std::nullopt;
  const std::string number = canonical.substr(prefix.size(), dot - prefix.size());
  if (number.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  const std::string rest = canonical.substr(dot + 1);
  for (const auto& t : layout.per_layer)
    if (rest == t.hf) return gguf_place{std::stoi(number), t.gguf, t.rope_rows};
  return std::nullopt;
}

}  // namespace vtrans::exports
