#pragma once
// A causal LM as a GGUF file llama.cpp loads and runs, pruned or not.
//
// Layers of one size throughout are written as the family's own architecture (`llama`, `gpt2`);
// layers with neither attention nor FFN compute the identity and are left out first.
// Layers that differ are written as `deci`, llama.cpp's LLaMA graph with per-layer arrays for
// attention.head_count, attention.head_count_kv and feed_forward_length, a head count of 0 for a
// layer without attention, and the head size (attention.key_length) kept apart from the hidden
// size. Two things that graph (llama.cpp as bundled with node-llama-cpp 3.21.1) cannot express are
// written as exact equivalents:
//   * a layer with attention but no FFN: a feed-forward width of 0 makes the graph skip the whole
//     layer, attention included, so the FFN becomes one neuron whose weights are all zero (it adds
//     exactly 0);
//   * no attention in the first written layer: llama.cpp takes the head size from layer 0's head
//     count, so that layer gets one key/value head with zero weights (its output is exactly 0).
//
// Weight matrices are written as --dtype (f32, f16, bf16) or Q8_0 where their rows are a multiple
// of 32 values; norms and biases stay f32, as llama.cpp's own converter keeps them.
#include <algorithm>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "vtrans/error.hpp"
#include "vtrans/export/gguf_layout.hpp"
#include "vtrans/export/gguf_vocab.hpp"
#include "vtrans/io/gguf.hpp"
#include "vtrans/nn/transformer.hpp"

namespace vtrans::exports {

struct gguf_options {
  io::ggml_type weights = io::ggml_type::f32;  // 2-D weight matrices
  bool q8_0 = false;                           // Q8_0 for matrices whose rows allow it
  std::string name;                            // general.name
};

// What was written, for the command's report and for tests.
struct gguf_summary {
  std::string arch;
  std::vector<index> layers;  // source layer of each written block
  std::vector<std::uint32_t> heads, kv_heads, ffn;
  int placeholder_attention = 0, placeholder_ffn = 0;
  std::map<std::string, int> tensor_types;  // ggml type -> tensor count
  std::vector<std::string> notes;
};

namespace detail {
// HF rotate-half rows -> llama.cpp's adjacent pairs, within each head of size hd
inline std::vector<float> pair_rope_rows(const std::vector<float>& v, index rows, index cols, index hd) {
  std::vector<float> out(v.size());
  for (index r = 0; r < rows; ++r) {
    const index head = r / hd, i = r % hd;
    const index src = head * hd + (i % 2 == 0 ? i / 2 : hd / 2 + i / 2);
    std::copy_n(v.begin() + src * cols, cols, out.begin() + r * cols);
  }
  return out;
}

inline std::uint32_t gguf_file_type(const gguf_options& o) {
  if (o.q8_0) return 7;  // LLAMA_FTYPE_MOSTLY_Q8_0
  switch (o.weights) {
    case io::ggml_type::f16: return 1;
    case io::ggml_type::bf16: return 32;
    default: return 0;
  }
}

// llama.cpp's graphs fix the activation per architecture
inline void check_activation(const gguf_layout& layout, const io::model_config& c, gguf_summary& s) {
  for (const auto a : layout.activations)
    if (c.activation == a) return;
  const std::string msg = "llama.cpp's " + std::string(layout.arch) + " graph computes " + std::string(layout.activations.front()) +
                          "; this model's activation is " + c.activation;
  if (layout.other_activation_fails) throw vtrans::usage_error("GGUF: " + msg);
  s.notes.push_back(msg);
}
}  // namespace detail

// Checks that llama.cpp can run the model and plans the blocks: the architecture, the layers
// written and their sizes, placeholders included. Throws vtrans::usage_error saying why not.
inline gguf_summary plan_gguf(const io::model_config& c, nn::head_kind head) {
  const gguf_layout* layout = gguf_layout_of(c.family);
  if (!layout)
    throw vtrans::usage_error("GGUF: llama.cpp has no architecture for " + std::string(io::family_name(c.family)) +
                                " models in vtrans's table (LLaMA, Mistral, Qwen2, GPT-2); use --format onnx or hf");
  if (head != nn::head_kind::causal_lm)
    throw vtrans::usage_error(std::string("GGUF: llama.cpp runs causal language models; this model has a ") + nn::head_name(head) +
                                " head (use --format onnx or hf)");
  gguf_summary s;
  detail::check_activation(*layout, c, s);
  index window = 0;
  for (const auto& l : c.layers) window = std::max(window, l.window);
  if (window > 0)
    s.notes.push_back("sliding window of " + std::to_string(window) + " keys not written: llama.cpp's " + std::string(layout->arch) +
                      " graph attends to every earlier key, the same for contexts up to " + std::to_string(window) + " tokens");

  // layers with neither attention nor FFN compute the identity and are not written; the others
  // decide between the family's architecture and the per-layer one
  std::vector<io::layer_sizes> kept;
  for (const auto& l : c.layers)
    if (l.has_attention || l.has_mlp) kept.push_back(l);
  if (kept.empty()) throw vtrans::usage_error("GGUF: every layer of the model is removed");
  const auto& first = kept.front();
  bool uniform = true;
  for (const auto& l : kept) uniform = uniform && l.has_attention && l.has_mlp && l == first;
  if (uniform && layout->heads_span_width && first.heads * c.head_dim != c.hidden_size)
    throw vtrans::usage_error("GGUF: llama.cpp's GPT-2 graph needs heads x head size = hidden size (" + std::to_string(first.heads) + " x " +
                                std::to_string(c.head_dim) + " != " + std::to_string(c.hidden_size) + ")");
  if (!uniform && !layout->per_layer_arch) {
    std::string sizes;
    for (std::size_t i = 0; i < c.layers.size(); ++i) {
      const auto& l = c.layers[i];
      sizes += (i ? ", " : "") + (l.has_attention ? std::to_string(l.heads) + " heads" : std::string("no attention")) + " / " +
               (l.has_mlp ? "FFN " + std::to_string(l.intermediate) : std::string("no FFN"));
    }
    throw vtrans::usage_error("GGUF: llama.cpp's " + std::string(layout->arch) +
                                " graph builds every layer with the same sizes, and this model's layers differ (" + sizes +
                                "); use --format onnx or hf");
  }
  s.arch = uniform ? layout->arch : layout->per_layer_arch;
  for (std::size_t i = 0; i < c.layers.size(); ++i) {
    const auto& l = c.layers[i];
    if (!l.has_attention && !l.has_mlp) continue;
    const bool fake_attention = !l.has_attention && s.layers.empty();
    s.layers.push_back(index(i));
    s.heads.push_back(std::uint32_t(l.has_attention ? l.heads : fake_attention ? 1 : 0));
    s.kv_heads.push_back(std::uint32_t(l.has_attention ? l.kv_heads : fake_attention ? 1 : 0));
    s.ffn.push_back(std::uint32_t(l.has_mlp ? l.intermediate : 1));
    s.placeholder_attention += fake_attention;
    s.placeholder_ffn += !l.has_mlp;
  }
  return s;
}

// Builds the file for a causal LM (written by gguf_writer::write; the model must outlive it).
template <class Model>
io::gguf_writer gguf_file(const Model& model, const gguf_vocab& vocab, const gguf_options& opt, gguf_summary* summary = nullptr) {
  const io::model_config& c = model.config();
  gguf_summary s = plan_gguf(c, model.head());
  const gguf_layout* layout = gguf_layout_of(c.family);
  std::map<index, int> block_of;
  for (std::size_t b = 0; b < s.layers.size(); ++b) block_of[s.layers[b]] = int(b);

  io::gguf_writer w;
  const std::string a = s.arch;
  w.set("general.architecture", a);
  if (!opt.name.empty()) w.set("general.name", opt.name);
  w.set("general.file_type", detail::gguf_file_type(opt));
  if (opt.q8_0) w.set("general.quantization_version", std::uint32_t(2));
  auto per_layer = [&](const std::string& key, const std::vector<std::uint32_t>& v) {
    bool same = true;
    for (auto x : v) same = same && x == v.front();
    if (same) w.set(a + "." + key, v.front());
    else w.set(a + "." + key, v);
  };
  w.set(a + ".vocab_size", std::uint32_t(c.vocab_size));
  w.set(a + ".context_length", std::uint32_t(c.max_positions));
  w.set(a + ".embedding_length", std::uint32_t(c.hidden_size));
  w.set(a + ".block_count", std::uint32_t(s.layers.size()));
  per_layer("feed_forward_length", s.ffn);
  per_layer("attention.head_count", s.heads);
  per_layer("attention.head_count_kv", s.kv_heads);
  w.set(a + "." + layout->norm_eps_key, float(c.norm_eps));
  if (c.family->positions == nn::position_kind::rotary) {
    w.set(a + ".attention.key_length", std::uint32_t(c.head_dim));
    w.set(a + ".attention.value_length", std::uint32_t(c.head_dim));
    w.set(a + ".rope.dimension_count", std::uint32_t(c.head_dim));
    w.set(a + ".rope.freq_base", float(c.rope_theta));
  }
  add_gguf_vocab(w, vocab);
  s.notes.insert(s.notes.end(), vocab.notes.begin(), vocab.notes.end());

  auto type_of = [&](const std::vector<std::uint64_t>& ne) {
    const io::ggml_type t = ne.size() < 2 ? io::ggml_type::f32 : opt.q8_0 && ne[0] % io::q8_0_block == 0 ? io::ggml_type::q8_0 : opt.weights;
    ++s.tensor_types[io::ggml_type_name(t)];
    return t;
  };
  using T = typename Model::value_type;
  for (const auto& [name, p] : model.parameters()) {
    const auto place = gguf_place_of(*layout, name);
    if (!place) throw std::logic_error("GGUF: no GGUF name for parameter " + name);
    const shape& sh = p.shape();
    const index rows = sh[0], cols = sh.rank() == 2 ? sh[1] : 1;
    std::vector<std::uint64_t> ne = sh.rank() == 2 ? std::vector<std::uint64_t>{std::uint64_t(cols), std::uint64_t(rows)}
                                                   : std::vector<std::uint64_t>{std::uint64_t(rows)};
    const bool pairs = layout->rope_pairs && place->rope_rows;
    const index hd = c.head_dim;
    const auto& param = p;
    w.add_tensor(place->full_name(place->layer < 0 ? -1 : block_of.at(place->layer)), ne, type_of(ne), [&param, rows, cols, pairs, hd] {
      const std::vector<T> host = param.value().to_host();
      std::vector<float> v(host.begin(), host.end());
      return pairs ? detail::pair_rope_rows(v, rows, cols, hd) : v;
    });
  }
  // placeholders: a zero-output attention or FFN (see the top of this file)
  const std::uint64_t D = std::uint64_t(c.hidden_size), hd = std::uint64_t(c.head_dim);
  auto constant = [&](const std::string& name, std::vector<std::uint64_t> ne, float value) {
    std::uint64_t n = 1;
    for (auto d : ne) n *= d;
    w.add_tensor(name, ne, type_of(ne), [n, value] { return std::vector<float>(n, value); });
  };
  for (std::size_t b = 0; b < s.layers.size(); ++b) {
    const std::string blk = "blk." + std::to_string(b) + ".";
    const auto& l = c.layers[std::size_t(s.layers[b])];
    if (!l.has_attention && s.heads[b] > 0) {
      constant(blk + "attn_norm.weight", {D}, 1);
      for (const char* t : {"attn_q.weight", "attn_k.weight", "attn_v.weight"}) constant(blk + t, {D, hd}, 0);
      constant(blk + "attn_output.weight", {hd, D}, 0);
    }
    if (!l.has_mlp) {
      constant(blk + "ffn_norm.weight", {D}, 1);
      constant(blk + "ffn_gate.weight", {D, 1}, 0);
      constant(blk + "ffn_up.weight", {D, 1}, 0);
      constant(blk + "ffn_down.weight", {1, D}, 0);
    }
  }
  if (summary) *summary = s;
  return w;
}

// Writes `path` (atomically) and returns what was written.
template <class Model>
gguf_summary write_gguf(const Model& model, const gguf_vocab& vocab, const gguf_options& opt, const std::string& path) {
  gguf_summary s;
  gguf_file(model, vocab, opt, &s).write(path);
  return s;
}

}  // namespace vtrans::exports
