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

#include "vtrans/export/onnx_graph.hpp"
#include "vtrans/nn/transformer.hpp"
#include "vtrans/version.hpp"

namespace vtrans::exports {

// The one place that knows each family's parameter names and graph shape for ONNX.
struct onnx_layout {
  io::family family;
  bool token_types_input;   // token_type_ids is a graph input (BERT)
  bool pre_norm, causal;
  const char* word, *position, *token_type, *embedding_norm;  // parameter names ("" when absent)
  const char* final_norm;                                     // prefix of .weight/.bias ("" when absent)
  const char* layer_prefix;
  const char* attn_norm, *q, *k, *v, *qkv, *o, *mlp_norm, *up, *down;  // after the layer prefix, before .weight/.bias
};

inline const std::vector<onnx_layout>& onnx_layouts() {
  static const std::vector<onnx_layout> table{
      {io::family::bert, true, false, false, "embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
       "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm", "", "encoder.layer.", "attention.output.LayerNorm",
       "attention.self.query", "attention.self.key", "attention.self.value", "", "attention.output.dense", "output.LayerNorm",
       "intermediate.dense", "output.dense"},
      {io::family::roberta, false, false, false, "embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
       "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm", "", "encoder.layer.", "attention.output.LayerNorm",
       "attention.self.query", "attention.self.key", "attention.self.value", "", "attention.output.dense", "output.LayerNorm",
       "intermediate.dense", "output.dense"},
      {io::family::gpt2, false, true, true, "wte.weight", "wpe.weight", "", "", "ln_f", "h.", "ln_1", "", "", "", "attn.c_attn",
       "attn.c_proj", "ln_2", "mlp.c_fc", "mlp.c_proj"},
  };
  return table;
}

inline const onnx_layout* onnx_layout_of(io::family f) {
  for (const auto& l : onnx_layouts())
    if (l.family == f) return &l;
  return nullptr;
}

struct onnx_options {
  io::onnx::element matrices = io::onnx::element::float32;  // float16 / bfloat16: weight storage only
};

namespace detail {
template <class Model>
class onnx_export {
 public:
  onnx_export(const Model& m, const onnx_options& opt) : m_(m), c_(m.config()), g_(opt.matrices) {
    const onnx_layout* l = onnx_layout_of(c_.family);
    if (!l)
      throw std::invalid_argument("ONNX: vtrans writes BERT, RoBERTa and GPT-2 graphs; " + std::string(io::family_name(c_.family)) +
                                  " models go to GGUF (llama.cpp) or a Hugging Face folder");
    L_ = *l;
  }

  io::onnx::model build() {
    const std::vector<std::variant<std::int64_t, std::string>> bs{std::string("batch_size"), std::string("sequence_length")};
    auto& mod = g_.model();
    mod.graph_name = nn::architecture_name(c_.family, m_.head());
    mod.producer_version = VTRANS_VERSION_STRING;
    for (const char* in : {"input_ids", "attention_mask"}) mod.inputs.push_back({in, io::onnx::element::int64, bs});
    if (L_.token_types_input) mod.inputs.push_back({"token_type_ids", io::onnx::element::int64, bs});

    seq_ = g_.op("Shape", {"input_ids"}, {{"start", std::int64_t(1)}, {"end", std::int64_t(2)}});  // [1]: S
    std::string h = embeddings();
    const std::string bias = score_bias();
    for (std::size_t i = 0; i < c_.layers.size(); ++i) h = layer(i, h, bias);
    if (*L_.final_norm) h = norm(h, L_.final_norm);
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
  std::string norm(const std::string& x, const std::string& prefix) {
    return g_.layer_norm(x, param(prefix + ".weight"), param(prefix + ".bias"), c_.norm_eps);
  }
  std::string linear(const std::string& x, const std::string& prefix, bool bias = true) {
    const auto d = dims(prefix + ".weight");
    return linear_rows(x, prefix, 0, d[0], bias);
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
    std::string h = g_.op("Gather", {param(L_.word), "input_ids"});
    std::string positions;
    if (c_.family == io::family::roberta) {  // cumsum of non-padding tokens, offset by the padding index
      const std::string pad = g_.int_scalar(c_.pad_token_id);
      const std::string real = g_.op("Cast", {g_.op("Not", {g_.op("Equal", {"input_ids", pad})})}, {{"to", std::int64_t(io::onnx::element::int64)}});
      positions = g_.op("Add", {g_.op("Mul", {g_.op("CumSum", {real, g_.int_scalar(1)}), real}), pad});
    } else {
      positions = g_.op("Range", {g_.int_scalar(0), g_.op("Squeeze", {seq_}), g_.int_scalar(1)});
    }
    h = g_.op("Add", {h, g_.op("Gather", {param(L_.position), positions})});
    if (*L_.token_type) {
      const std::string table = param(L_.token_type);  // without a token_type_ids input every token has type 0
      h = g_.op("Add", {h, g_.op("Gather", {table, L_.token_types_input ? std::string("token_type_ids") : g_.int_scalar(0)})});
    }
    return *L_.embedding_norm ? norm(h, L_.embedding_norm) : h;
  }

  // [B, 1, 1, S] bias of -1e9 on padded keys; GPT-2 adds the causal [S, S] part
  std::string score_bias() {
    const std::string keep = g_.op("Cast", {"attention_mask"}, {{"to", std::int64_t(io::onnx::element::float32)}});
    std::string bias = g_.op("Mul", {g_.op("Sub", {keep, g_.float_scalar(1)}), g_.float_scalar(1e9f)});
    bias = g_.op("Unsqueeze", {bias, g_.ints({1, 2})});
    if (L_.causal) {
      const std::string square = g_.op("Concat", {seq_, seq_}, {{"axis", std::int64_t(0)}});
      const std::string ones = g_.op("ConstantOfShape", {square}, {{"value", io::onnx::tensor::floats("one", {1}, {1.0f})}});
      const std::string lower = g_.op("Trilu", {ones}, {{"upper", std::int64_t(0)}});
      bias = g_.op("Add", {bias, g_.op("Mul", {g_.op("Sub", {lower, g_.float_scalar(1)}), g_.float_scalar(1e9f)})});
    }
    return bias;
  }

  std::string layer(std::size_t i, std::string h, const std::string& bias) {
    const auto& s = c_.layers[i];
    const std::string p = L_.layer_prefix + std::to_string(i) + ".";
    const index hd = c_.head_dim;
    if (s.has_attention) {
      const std::string x = L_.pre_norm ? norm(h, p + L_.attn_norm) : h;
      std::string q, k, v;
      if (*L_.qkv) {
        const std::string fused = p + L_.qkv;
        q = linear_rows(x, fused, 0, s.heads * hd, true, ".q");
        k = linear_rows(x, fused, s.heads * hd, s.kv_heads * hd, true, ".k");
        v = linear_rows(x, fused, (s.heads + s.kv_heads) * hd, s.kv_heads * hd, true, ".v");
      } else {
        q = linear(x, p + L_.q), k = linear(x, p + L_.k), v = linear(x, p + L_.v);
      }
      const std::string a = linear(g_.attention(q, k, v, s.heads, s.kv_heads, hd, bias), p + L_.o);
      h = L_.pre_norm ? g_.op("Add", {h, a}) : norm(g_.op("Add", {a, h}), p + L_.attn_norm);
    }
    if (s.has_mlp) {
      const std::string x = L_.pre_norm ? norm(h, p + L_.mlp_norm) : h;
      const std::string f = linear(g_.activation(linear(x, p + L_.up), nn::activation_from_name(c_.activation)), p + L_.down);
      h = L_.pre_norm ? g_.op("Add", {h, f}) : norm(g_.op("Add", {f, h}), p + L_.mlp_norm);
    }
    return h;
  }

  // [B, D] rows of h [B, S, D]: the first token (encoders) or the last non-padding one (GPT-2)
  std::string pooled(const std::string& h) {
    if (!L_.causal) return g_.op("Gather", {h, g_.int_scalar(0)}, {{"axis", std::int64_t(1)}});
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
        if (c_.family == io::family::bert) y = linear(g_.op("Tanh", {linear(x, "pooler.dense")}), "classifier");
        else if (c_.family == io::family::roberta) y = linear(g_.op("Tanh", {linear(x, "classifier.dense")}), "classifier.out_proj");
        else y = linear(x, "score", false);
        out_dims = {B, std::int64_t(c_.num_labels)};
        break;
      }
      case nn::head_kind::token_classification:
        y = linear(h, "classifier");
        out_dims.push_back(std::int64_t(c_.num_labels));
        break;
      case nn::head_kind::masked_lm: {
        const bool bert = c_.family == io::family::bert;
        const std::string t = bert ? "cls.predictions.transform." : "lm_head.";
        const std::string x = norm(g_.activation(linear(h, t + "dense"), act), t + (bert ? "LayerNorm" : "layer_norm"));
        y = g_.op("Add", {g_.op("MatMul", {x, tied_output(L_.word)}), param(bert ? "cls.predictions.bias" : "lm_head.bias")});
        out_dims.push_back(std::int64_t(c_.vocab_size));
        break;
      }
      case nn::head_kind::causal_lm:
        y = g_.op("MatMul", {h, tied_output(L_.word)});
        out_dims.push_back(std::int64_t(c_.vocab_size));
        break;
    }
    g_.op("Identity", {y}, {}, "logits");
    mod.outputs.push_back({"logits", io::onnx::element::float32, out_dims});
  }

  const Model& m_;
  const io::model_config& c_;
  onnx_builder g_;
  onnx_layout L_{};
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
