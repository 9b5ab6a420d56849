#pragma once
// BERT, RoBERTa and GPT-2 models with their heads as ONNX graphs, pruned or not: every layer is
// built from its own sizes (heads, FFN width, missing attention or FFN), so per-layer shapes need
// nothing special. Inputs and outputs are named as Hugging Face's ONNX exports (optimum) name them,
// with dynamic axes "batch_size" and "sequence_length":
//
//   BERT      input_ids, attention_mask, token_type_ids (int64 [batch, sequence])
//   RoBERTa   input_ids, attention_mask            (positions count non-padding tokens from pad_token_id + 1)
//   GPT-2     input_ids, attention_mask            (causal; positions 0..sequence-1)
//   output    logits: [batch, labels] (sequence classification), [batch, sequence, labels] (token
//             classification), [batch, sequence, vocabulary] (masked or causal LM);
//             last_hidden_state for base models
//
// The graph computes what nn::transformer computes, in float32; padded keys get a score bias of
// -1e9 (zero probability after the softmax).
#include <string>
#include <variant>
#include <vector>

#include "vtrans/error.hpp"
#include "vtrans/export/onnx_graph.hpp"
#include "vtrans/nn/transformer.hpp"
#include "vtrans/version.hpp"

namespace vtrans::exports {

struct onnx_options {
  io::onnx::element matrices = io::onnx::element::float32;  // float16 / bfloat16: weight storage only
};

namespace detail {
template <class Model>
class onnx_export {
 public:
  onnx_export(const Model& m, const onnx_options& opt) : m_(m), c_(m.config()), g_(opt.matrices) {
    if (f_.positions == nn::position_kind::rotary || f_.norm != nn::norm_kind::layer_norm || f_.gated_mlp())
      throw vtrans::usage_error("ONNX: vtrans writes graphs of LayerNorm families with learned positions (BERT, RoBERTa, GPT-2); " +
                                  std::string(io::family_name(c_.family)) + " models go to GGUF (llama.cpp) or a Hugging Face folder");
  }

  io::onnx::model build() {
    const std::vector<std::variant<std::int64_t, std::string>> bs{std::string("batch_size"), std::string("sequence_length")};
    auto& mod = g_.model();
    mod.graph_name = nn::architecture_name(c_.family, m_.head());
    mod.producer_version = VTRANS_VERSION_STRING;
    for (const char* in : {"input_ids", "attention_mask"}) mod.inputs.push_back({in, io::onnx::element::int64, bs});
    if (token_types_input()) mod.inputs.push_back({"token_type_ids", io::onnx::element::int64, bs});

    seq_ = g_.op("Shape", {"input_ids"}, {{"start", std::int64_t(1)}, {"end", std::int64_t(2)}});  // [1]: S
    std::string h = embeddings();
    const std::string bias = score_bias();
    for (std::size_t i = 0; i < c_.layers.size(); ++i) h = layer(i, h, bias);
    if (f_.model.final_norm.present()) h = norm(h, f_.model.final_norm);
    head(h);
    return std::move(mod);
  }

 private:
  std::vector<float> values(const std::string& name) const {
    const auto host = m_.parameter(name).value().to_host();
    return std::vector<float>(host.begin(), host.end());
  }
  std::vector<std::int64_t> dims(const std::string& name) const {
    const shape& s = m_.parameter(name).shape();
    std::vector<std::int64_t> d;
    for (int i = 0; i < s.rank(); ++i) d.push_back(s[i]);
    return d;
  }
  std::string param(const std::string& name) { return g_.weight(name, dims(name), values(name)); }
  // token_type_ids is a graph input where the family has segments (BERT); RoBERTa's one type is a constant
  bool token_types_input() const { return f_.model.token_type_embedding.present() && f_.config.fresh_type_vocab_size > 1; }
  std::string norm(const std::string& x, const nn::role& r, index layer = -1) {
    return g_.layer_norm(x, param(nn::weight_name(r, layer)), param(nn::bias_name(r, layer)), c_.norm_eps);
  }
  std::string linear(const std::string& x, const nn::role& r, index layer = -1) {
    const std::string prefix = nn::role_name(r.name, layer);
    return linear_rows(x, prefix, 0, dims(prefix + ".weight")[0], io::has_bias(c_, r.bias));
  }
  // rows [from, from + n) of a linear layer (GPT-2's fused c_attn holds Q | K | V)
  std::string linear_rows(const std::string& x, const std::string& prefix, index from, index n, bool bias, const std::string& suffix = "") {
    const auto w = values(prefix + ".weight");
    const index in = dims(prefix + ".weight")[1];
    const std::vector<float> rows(w.begin() + from * in, w.begin() + (from + n) * in);
    std::vector<float> b;
    if (bias) {
      const auto all = values(prefix + ".bias");
      b.assign(all.begin() + from, all.begin() + from + n);
    }
    return g_.linear(x, prefix + ".weight" + suffix, rows, n, in, prefix + ".bias" + suffix, b);
  }

  std::string embeddings() {
    std::string h = g_.op("Gather", {param(nn::weight_name(f_.model.token_embedding)), "input_ids"});
    std::string positions;
    if (f_.positions == nn::position_kind::learned_after_padding) {  // cumsum of non-padding tokens, offset by the padding index
      const std::string pad = g_.int_scalar(c_.pad_token_id);
      const std::string real = g_.op("Cast", {g_.op("Not", {g_.op("Equal", {"input_ids", pad})})}, {{"to", std::int64_t(io::onnx::element::int64)}});
      positions = g_.op("Add", {g_.op("Mul", {g_.op("CumSum", {real, g_.int_scalar(1)}), real}), pad});
    } else {
      positions = g_.op("Range", {g_.int_scalar(0), g_.op("Squeeze", {seq_}), g_.int_scalar(1)});
    }
    h = g_.op("Add", {h, g_.op("Gather", {param(nn::weight_name(f_.model.position_embedding)), positions})});
    if (f_.model.token_type_embedding.present()) {
      const std::string table = param(nn::weight_name(f_.model.token_type_embedding));  // without a token_type_ids input every token has type 0
      h = g_.op("Add", {h, g_.op("Gather", {table, token_types_input() ? std::string("token_type_ids") : g_.int_scalar(0)})});
    }
    return f_.model.embedding_norm.present() ? norm(h, f_.model.embedding_norm) : h;
  }

  // [B, 1, 1, S] bias of -1e9 on padded keys; GPT-2 adds the causal [S, S] part
  std::string score_bias() {
    const std::string keep = g_.op("Cast", {"attention_mask"}, {{"to", std::int64_t(io::onnx::element::float32)}});
    std::string bias = g_.op("Mul", {g_.op("Sub", {keep, g_.float_scalar(1)}), g_.float_scalar(1e9f)});
    bias = g_.op("Unsqueeze", {bias, g_.ints({1, 2})});
    if (f_.causal) {
      const std::string square = g_.op("Concat", {seq_, seq_}, {{"axis", std::int64_t(0)}});
      const std::string ones = g_.op("ConstantOfShape", {square}, {{"value", io::onnx::tensor::floats("one", {1}, {1.0f})}});
      const std::string lower = g_.op("Trilu", {ones}, {{"upper", std::int64_t(0)}});
      bias = g_.op("Add", {bias, g_.op("Mul", {g_.op("Sub", {lower, g_.float_scalar(1)}), g_.float_scalar(1e9f)})});
    }
    return bias;
  }

  std::string layer(std::size_t i, std::string h, const std::string& bias) {
    const auto& s = c_.layers[i];
    const auto& L = f_.layer;
    const index li = index(i), hd = c_.head_dim;
    if (s.has_attention) {
      const std::string x = f_.pre_norm ? norm(h, L.attn_norm, li) : h;
      std::string q, k, v;
      if (f_.fused_qkv()) {
        const std::string fused = nn::role_name(L.qkv.name, li);
        const bool b = io::has_bias(c_, L.qkv.bias);
        q = linear_rows(x, fused, 0, s.heads * hd, b, ".q");
        k = linear_rows(x, fused, s.heads * hd, s.kv_heads * hd, b, ".k");
        v = linear_rows(x, fused, (s.heads + s.kv_heads) * hd, s.kv_heads * hd, b, ".v");
      } else {
        q = linear(x, L.q, li), k = linear(x, L.k, li), v = linear(x, L.v, li);
      }
      const std::string a = linear(g_.attention(q, k, v, s.heads, s.kv_heads, hd, bias), L.o, li);
      h = f_.pre_norm ? g_.op("Add", {h, a}) : norm(g_.op("Add", {a, h}), L.attn_norm, li);
    }
    if (s.has_mlp) {
      const std::string x = f_.pre_norm ? norm(h, L.mlp_norm, li) : h;
      const std::string f = linear(g_.activation(linear(x, L.up, li), nn::activation_from_name(c_.activation)), L.down, li);
      h = f_.pre_norm ? g_.op("Add", {h, f}) : norm(g_.op("Add", {f, h}), L.mlp_norm, li);
    }
    return h;
  }

  // [B, D] rows of h [B, S, D]: the first token (encoders) or the last non-padding one (GPT-2)
  std::string pooled(const std::string& h) {
    if (!f_.causal) return g_.op("Gather", {h, g_.int_scalar(0)}, {{"axis", std::int64_t(1)}});
    std::string last;
    if (c_.pad_token_id >= 0) {  // largest position holding a non-padding id, 0 when none
      const std::string real = g_.op("Cast", {g_.op("Not", {g_.op("Equal", {"input_ids", g_.int_scalar(c_.pad_token_id)})})},
                                     {{"to", std::int64_t(io::onnx::element::int64)}});
      const std::string positions = g_.op("Range", {g_.int_scalar(0), g_.op("Squeeze", {seq_}), g_.int_scalar(1)});
      last = g_.op("ReduceMax", {g_.op("Mul", {real, positions})}, {{"axes", std::vector<std::int64_t>{1}}, {"keepdims", std::int64_t(1)}});
    } else {
      const std::string batch = g_.op("Shape", {"input_ids"}, {{"start", std::int64_t(0)}, {"end", std::int64_t(1)}});
      last = g_.op("Expand", {g_.op("Sub", {seq_, g_.ints({1})}), g_.op("Concat", {batch, g_.ints({1})}, {{"axis", std::int64_t(0)}})});
    }
    return g_.op("GatherND", {h, last}, {{"batch_dims", std::int64_t(1)}});
  }

  // The LM head's matrix: the tied embedding, transposed to [D, V] (folded by the runtime)
  std::string tied_output(const std::string& embedding) {
    return g_.op("Transpose", {param(embedding)}, {{"perm", std::vector<std::int64_t>{1, 0}}});
  }

  void head(const std::string& h) {
    auto& mod = g_.model();
    const std::string B = "batch_size", S = "sequence_length";
    std::vector<std::variant<std::int64_t, std::string>> out_dims{B, S};
    std::string y;
    const auto act = nn::activation_from_name(c_.activation);
    switch (m_.head()) {
      case nn::head_kind::base:
        g_.op("Identity", {h}, {}, "last_hidden_state");
        mod.outputs.push_back({"last_hidden_state", io::onnx::element::float32, {B, S, std::int64_t(c_.hidden_size)}});
        return;
      case nn::head_kind::sequence_classification: {
        std::string x = pooled(h);
        if (f_.heads.pooler.present()) x = g_.op("Tanh", {linear(x, f_.heads.pooler)});
        if (f_.heads.classifier_dense.present()) x = g_.op("Tanh", {linear(x, f_.heads.classifier_dense)});
        y = linear(x, f_.heads.classifier);
        out_dims = {B, std::int64_t(c_.num_labels)};
        break;
      }
      case nn::head_kind::token_classification:
        y = linear(h, f_.heads.token_classifier);
        out_dims.push_back(std::int64_t(c_.num_labels));
        break;
      case nn::head_kind::masked_lm: {
        const std::string x = norm(g_.activation(linear(h, f_.heads.mlm_dense), act), f_.heads.mlm_norm);
        y = g_.op("Add", {g_.op("MatMul", {x, tied_output(nn::weight_name(f_.model.token_embedding))}), param(std::string(f_.heads.mlm_bias))});
        out_dims.push_back(std::int64_t(c_.vocab_size));
        break;
      }
      case nn::head_kind::causal_lm:
        y = c_.tie_word_embeddings || !f_.heads.lm_head.present() ? g_.op("MatMul", {h, tied_output(nn::weight_name(f_.model.token_embedding))})
                                                                 : linear(h, f_.heads.lm_head);
        out_dims.push_back(std::int64_t(c_.vocab_size));
        break;
    }
    g_.op("Identity", {y}, {}, "logits");
    mod.outputs.push_back({"logits", io::onnx::element::float32, out_dims});
  }

  const Model& m_;
  const io::model_config& c_;
  onnx_builder g_;
  const nn::family_spec& f_ = c_.family.spec();
  std::string seq_;
};
}  // namespace detail

// The model as an ONNX graph.
template <class Model>
io::onnx::model onnx_model(const Model& model, const onnx_options& opt = {}) {
  return detail::onnx_export<Model>(model, opt).build();
}

// Writes `path` atomically.
template <class Model>
void write_onnx(const Model& model, const onnx_options& opt, const std::string& path) {
  io::onnx::write_model(path, onnx_model(model, opt));
}

}  // namespace vtrans::exports
