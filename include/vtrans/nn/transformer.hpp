#pragma once
// transformer<Family, Mask, Backend, T>: BERT, RoBERTa, GPT-2 and LLaMA bodies with their task
// heads, on the autodiff tape. Behaviour comes from the Family traits (compile time); sizes come
// from io::model_config and may differ per layer (pruned models are ordinary models here).
//
// Parameters are named as in Hugging Face checkpoints without the base-model prefix
// ("encoder.layer.0.attention.self.query.weight", "h.0.attn.c_attn.weight", ...) and stored in
// torch.nn.Linear layout [out, in] (GPT-2's Conv1D weights are transposed on load and save).
#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "vtrans/autodiff/autodiff.hpp"
#include "vtrans/io/model_config.hpp"
#include "vtrans/masks/mask_set.hpp"
#include "vtrans/masks/none.hpp"
#include "vtrans/nn/family.hpp"
#include "vtrans/nn/heads.hpp"
#include "vtrans/tensor/cpu.hpp"
#include "vtrans/tensor/math.hpp"

namespace vtrans::nn {

// Token ids and masks of one batch, row-major [batch, seq], on the host.
struct batch_input {
  index batch = 0, seq = 0;
  std::vector<std::int32_t> ids;
  std::vector<std::int32_t> attention_mask;  // 1 = token, 0 = padding; empty = all tokens
  std::vector<std::int32_t> token_type_ids;  // empty = all 0
};

struct forward_options {
  bool training = false;              // dropout on
  bool keep_layer_outputs = false;    // hidden state after every layer (for layer distillation)
  bool keep_attention = false;        // attention probabilities of every layer (for probing)
  std::uint64_t dropout_seed = 0;
  bool deterministic_masks = false;   // masked models: evaluation masks even when training (fine-tuning)
  std::uint64_t mask_seed = 0;        // noise of the training masks
};

template <class T, class B>
struct model_output {
  autodiff::var<T, B> logits;   // head output (the last hidden state for base models)
  autodiff::var<T, B> hidden;   // last hidden state [batch, seq, hidden]
  std::vector<autodiff::var<T, B>> layer_outputs;
  std::vector<tensor<T, B>> attention;  // per layer with attention: [batch, heads, seq, seq]
};

inline math::unary_op activation_from_name(const std::string& name) {
  if (name == "gelu") return math::unary_op::gelu;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") return math::unary_op::gelu_tanh;
  if (name == "relu") return math::unary_op::relu;
  if (name == "silu" || name == "swish") return math::unary_op::silu;
  if (name == "tanh") return math::unary_op::tanh;
  throw std::invalid_argument("config.json: activation \"" + name + "\" is not supported (gelu, gelu_new, relu, silu, tanh)");
}

template <class Family, class Mask = masks::none, class B = cpu, class T = float>
class transformer {
 public:
  using family_type = Family;
  using mask_type = Mask;
  using backend = B;
  using value_type = T;
  using var_t = autodiff::var<T, B>;
  using param_t = autodiff::param<T, B>;
  using tensor_t = tensor<T, B>;
  struct no_mask_options {
    static no_mask_options defaults() { return {}; }
  };
  // Per-structure options of the mask policy (masks/mask_set.hpp); nothing for unmasked models.
  using mask_options = std::conditional_t<Mask::active, masks::structure_options<Mask>, no_mask_options>;
  struct no_masks {
    no_masks(const io::model_config&, std::uint64_t, const no_mask_options&) {}
  };
  using mask_storage = std::conditional_t<Mask::active, masks::mask_set<Mask, T, B>, no_masks>;

  // One layer's parameters; undefined params are those the family or the pruning leaves out.
  struct layer {
    io::layer_sizes size;
    param_t q_w, q_b, k_w, k_b, v_w, v_b, qkv_w, qkv_b, o_w, o_b;  // attention
    param_t attn_norm_w, attn_norm_b;                              // ln_1 / input_layernorm / attention.output.LayerNorm
    param_t up_w, up_b, gate_w, gate_b, down_w, down_b;            // FFN
    param_t mlp_norm_w, mlp_norm_b;                                // ln_2 / post_attention_layernorm / output.LayerNorm
  };

  // A model of the given sizes with freshly initialised weights (normal(0, initializer_range),
  // norms at 1, biases at 0), seeded.
  transformer(io::model_config config, head_kind head, std::uint64_t seed = 1, const mask_options& mask_opt = mask_options::defaults())
      : config_(std::move(config)), head_(head), seed_(seed), act_(activation_from_name(config_.activation)),
        masks_(check_family(config_), math::mix64(seed ^ 0x6d61736b), mask_opt) {
    build();
  }

  // The masks (masked models only); their parameters are separate from the weights.
  mask_storage& masks() { return masks_; }
  const mask_storage& masks() const { return masks_; }

  const io::model_config& config() const { return config_; }
  head_kind head() const { return head_; }
  const std::vector<layer>& layers() const { return layers_; }
  // Every parameter with its canonical name, in a stable order (the order of creation).
  const std::vector<std::pair<std::string, param_t>>& parameters() const { return params_; }
  const param_t& parameter(const std::string& name) const {
    auto it = by_name_.find(name);
    if (it == by_name_.end()) throw std::out_of_range("transformer: no parameter named " + name);
    return params_[it->second].second;
  }
  bool has_parameter(const std::string& name) const { return by_name_.count(name) != 0; }
  index parameter_count() const {
    index n = 0;
    for (const auto& [name, p] : params_) n += p.numel();
    return n;
  }
  void zero_grad() { for (auto& [name, p] : params_) p.zero_grad(); }
  void set_trainable(bool on) { for (auto& [name, p] : params_) p.set_trainable(on); }

  model_output<T, B> forward(const batch_input& in, const forward_options& opt = {}) const {
    check_input(in);
    const index batch = in.batch, seq = in.seq;
    std::vector<std::int32_t> mask = in.attention_mask.empty() ? std::vector<std::int32_t>(std::size_t(batch * seq), 1) : in.attention_mask;
    const auto key_mask = autodiff::upload_ids<B>("attention_mask", shape{batch, seq}, mask, 2);
    const auto ids = autodiff::upload_ids<B>("input_ids", shape{batch, seq}, in.ids, config_.vocab_size);
    std::uint64_t dropout_offset = 0;
    auto drop = [&](const var_t& x, double p) {
      if (!opt.training || p <= 0) return x;
      auto y = autodiff::dropout(x, p, opt.dropout_seed, dropout_offset);
      dropout_offset += std::uint64_t(x.numel());
      return y;
    };
    const double hidden_dropout = dropout_probability();
    const mask_context mc = make_mask_context(opt, batch * seq);

    model_output<T, B> out;
    var_t h = embed(in, ids, mc);
    h = drop(h, hidden_dropout);
    const auto positions = Family::positions == position_kind::rotary ? rotary_positions(batch, seq) : autodiff::id_tensor<B>();

    for (std::size_t li = 0; li < layers_.size(); ++li) {
      const layer& l = layers_[li];
      if (l.size.has_attention && mc.runs_attention(li)) {
        var_t x = Family::pre_norm ? norm(h, l.attn_norm_w, l.attn_norm_b, mc, false) : h;
        tensor_t* probs = nullptr;
        if (opt.keep_attention) probs = &out.attention.emplace_back();
        var_t a = self_attention(li, x, key_mask, positions, probs, mc);
        a = drop(a, hidden_dropout);
        h = Family::pre_norm ? autodiff::add(h, a) : norm(autodiff::add(a, h), l.attn_norm_w, l.attn_norm_b, mc, true);
      }
      if (l.size.has_mlp && mc.runs_mlp(li)) {
        var_t x = Family::pre_norm ? norm(h, l.mlp_norm_w, l.mlp_norm_b, mc, false) : h;
        var_t f = drop(feed_forward(li, x, mc), hidden_dropout);
        h = Family::pre_norm ? autodiff::add(h, f) : norm(autodiff::add(f, h), l.mlp_norm_w, l.mlp_norm_b, mc, true);
      }
      if (opt.keep_layer_outputs) out.layer_outputs.push_back(h);
    }
    // the final norm's output carries the hidden mask so that its scale folds into the (tied) head
    if constexpr (Family::final_norm) h = norm(h, param(final_norm_name(0)), bias_or_none(final_norm_name(1)), mc, true);
    out.hidden = h;
    out.logits = apply_head(h, in, drop, hidden_dropout, mc);
    return out;
  }

  // Row of the sequence-classification pooling for each batch entry: the first token for
  // encoders, the last non-padding token (by pad_token_id, as transformers does) for decoders.
  std::vector<std::int32_t> pooled_positions(const batch_input& in) const {
    std::vector<std::int32_t> rows(std::size_t(in.batch), 0);
    if (!Family::causal) return rows;
    for (index b = 0; b < in.batch; ++b) {
      index last = in.seq - 1;
      if (config_.pad_token_id >= 0) {
        last = 0;
        for (index s = 0; s < in.seq; ++s)
          if (in.ids[std::size_t(b * in.seq + s)] != config_.pad_token_id) last = s;
      }
      rows[std::size_t(b)] = static_cast<std::int32_t>(last);
    }
    return rows;
  }

  // Replaces a parameter's value (shape must match): how checkpoints are loaded.
  void assign(const std::string& name, tensor_t value) {
    const param_t& p = parameter(name);
    if (value.shape() != p.shape())
      throw std::invalid_argument("transformer: tensor " + name + " has shape " + value.shape().str() + ", the config implies " + p.shape().str());
    const_cast<param_t&>(p).value() = std::move(value);
  }

 private:
  // ---- construction ----------------------------------------------------------------------
  void build() {
    const auto& c = config_;
    const index D = c.hidden_size, V = c.vocab_size, hd = c.head_dim;
    auto normal_init = [&](const std::string& name, shape s) { return add_param(name, s, init::normal); };
    auto ones = [&](const std::string& name, index n) { return add_param(name, shape{n}, init::ones); };
    auto zeros = [&](const std::string& name, index n) { return add_param(name, shape{n}, init::zeros); };
    const bool ln = Family::norm == norm_kind::layer_norm;

    // embeddings
    if constexpr (Family::id == io::family::gpt2) {
      normal_init("wte.weight", shape{V, D});
      normal_init("wpe.weight", shape{c.max_positions, D});
    } else if constexpr (Family::id == io::family::llama) {
      normal_init("embed_tokens.weight", shape{V, D});
    } else {
      normal_init("embeddings.word_embeddings.weight", shape{V, D});
      normal_init("embeddings.position_embeddings.weight", shape{c.max_positions, D});
      normal_init("embeddings.token_type_embeddings.weight", shape{std::max<index>(1, c.type_vocab_size), D});
      ones("embeddings.LayerNorm.weight", D);
      zeros("embeddings.LayerNorm.bias", D);
    }

    for (index i = 0; i < c.num_layers; ++i) {
      layer l;
      l.size = c.layers[std::size_t(i)];
      const index qw = l.size.heads * hd, kw = l.size.kv_heads * hd, I = l.size.intermediate;
      const std::string p = layer_prefix(i);
      auto maybe_bias = [&](const std::string& name, index n, bool on) { return on ? zeros(name, n) : param_t(); };
      if (l.size.has_attention) {
        if constexpr (Family::id == io::family::gpt2) {
          l.qkv_w = normal_init(p + "attn.c_attn.weight", shape{qw + 2 * kw, D});
          l.qkv_b = zeros(p + "attn.c_attn.bias", qw + 2 * kw);
          l.o_w = normal_init(p + "attn.c_proj.weight", shape{D, qw});
          l.o_b = zeros(p + "attn.c_proj.bias", D);
          l.attn_norm_w = ones(p + "ln_1.weight", D);
          l.attn_norm_b = zeros(p + "ln_1.bias", D);
        } else if constexpr (Family::id == io::family::llama) {
          l.attn_norm_w = ones(p + "input_layernorm.weight", D);
          l.q_w = normal_init(p + "self_attn.q_proj.weight", shape{qw, D});
          l.q_b = maybe_bias(p + "self_attn.q_proj.bias", qw, c.attention_bias);
          l.k_w = normal_init(p + "self_attn.k_proj.weight", shape{kw, D});
          l.k_b = maybe_bias(p + "self_attn.k_proj.bias", kw, c.attention_bias);
          l.v_w = normal_init(p + "self_attn.v_proj.weight", shape{kw, D});
          l.v_b = maybe_bias(p + "self_attn.v_proj.bias", kw, c.attention_bias);
          l.o_w = normal_init(p + "self_attn.o_proj.weight", shape{D, qw});
          l.o_b = maybe_bias(p + "self_attn.o_proj.bias", D, c.attention_bias);
        } else {
          l.q_w = normal_init(p + "attention.self.query.weight", shape{qw, D});
          l.q_b = zeros(p + "attention.self.query.bias", qw);
          l.k_w = normal_init(p + "attention.self.key.weight", shape{kw, D});
          l.k_b = zeros(p + "attention.self.key.bias", kw);
          l.v_w = normal_init(p + "attention.self.value.weight", shape{kw, D});
          l.v_b = zeros(p + "attention.self.value.bias", kw);
          l.o_w = normal_init(p + "attention.output.dense.weight", shape{D, qw});
          l.o_b = zeros(p + "attention.output.dense.bias", D);
          l.attn_norm_w = ones(p + "attention.output.LayerNorm.weight", D);
          l.attn_norm_b = zeros(p + "attention.output.LayerNorm.bias", D);
        }
      }
      if (l.size.has_mlp) {
        if constexpr (Family::id == io::family::gpt2) {
          l.mlp_norm_w = ones(p + "ln_2.weight", D);
          l.mlp_norm_b = zeros(p + "ln_2.bias", D);
          l.up_w = normal_init(p + "mlp.c_fc.weight", shape{I, D});
          l.up_b = zeros(p + "mlp.c_fc.bias", I);
          l.down_w = normal_init(p + "mlp.c_proj.weight", shape{D, I});
          l.down_b = zeros(p + "mlp.c_proj.bias", D);
        } else if constexpr (Family::id == io::family::llama) {
          l.mlp_norm_w = ones(p + "post_attention_layernorm.weight", D);
          l.gate_w = normal_init(p + "mlp.gate_proj.weight", shape{I, D});
          l.gate_b = maybe_bias(p + "mlp.gate_proj.bias", I, c.mlp_bias);
          l.up_w = normal_init(p + "mlp.up_proj.weight", shape{I, D});
          l.up_b = maybe_bias(p + "mlp.up_proj.bias", I, c.mlp_bias);
          l.down_w = normal_init(p + "mlp.down_proj.weight", shape{D, I});
          l.down_b = maybe_bias(p + "mlp.down_proj.bias", D, c.mlp_bias);
        } else {
          l.up_w = normal_init(p + "intermediate.dense.weight", shape{I, D});
          l.up_b = zeros(p + "intermediate.dense.bias", I);
          l.down_w = normal_init(p + "output.dense.weight", shape{D, I});
          l.down_b = zeros(p + "output.dense.bias", D);
          l.mlp_norm_w = ones(p + "output.LayerNorm.weight", D);
          l.mlp_norm_b = zeros(p + "output.LayerNorm.bias", D);
        }
      }
      layers_.push_back(std::move(l));
    }
    if constexpr (Family::final_norm) {
      ones(final_norm_name(0), D);
      if (ln) zeros(final_norm_name(1), D);
    }
    build_head();
  }

  void build_head() {
    const auto& c = config_;
    const index D = c.hidden_size, V = c.vocab_size, L = c.num_labels;
    auto normal_init = [&](const std::string& name, shape s) { return add_param(name, s, init::normal); };
    auto zeros = [&](const std::string& name, index n) { return add_param(name, shape{n}, init::zeros); };
    auto ones = [&](const std::string& name, index n) { return add_param(name, shape{n}, init::ones); };
    const bool encoder = !Family::causal;
    switch (head_) {
      case head_kind::base: break;
      case head_kind::sequence_classification:
        if constexpr (Family::id == io::family::bert) {
          normal_init("pooler.dense.weight", shape{D, D});
          zeros("pooler.dense.bias", D);
          normal_init("classifier.weight", shape{L, D});
          zeros("classifier.bias", L);
        } else if constexpr (Family::id == io::family::roberta) {
          normal_init("classifier.dense.weight", shape{D, D});
          zeros("classifier.dense.bias", D);
          normal_init("classifier.out_proj.weight", shape{L, D});
          zeros("classifier.out_proj.bias", L);
        } else {
          normal_init("score.weight", shape{L, D});
        }
        break;
      case head_kind::token_classification:
        normal_init("classifier.weight", shape{L, D});
        zeros("classifier.bias", L);
        break;
      case head_kind::masked_lm:
        if (!encoder) throw std::invalid_argument("transformer: masked-LM heads exist for BERT and RoBERTa only");
        if constexpr (Family::id == io::family::bert) {
          normal_init("cls.predictions.transform.dense.weight", shape{D, D});
          zeros("cls.predictions.transform.dense.bias", D);
          ones("cls.predictions.transform.LayerNorm.weight", D);
          zeros("cls.predictions.transform.LayerNorm.bias", D);
          zeros("cls.predictions.bias", V);
        } else {
          normal_init("lm_head.dense.weight", shape{D, D});
          zeros("lm_head.dense.bias", D);
          ones("lm_head.layer_norm.weight", D);
          zeros("lm_head.layer_norm.bias", D);
          zeros("lm_head.bias", V);
        }
        break;
      case head_kind::causal_lm:
        if (encoder) throw std::invalid_argument("transformer: causal-LM heads exist for GPT-2 and LLaMA only");
        if constexpr (Family::id == io::family::llama)
          if (!c.tie_word_embeddings) normal_init("lm_head.weight", shape{V, D});
        break;
    }
  }

  enum class init { normal, ones, zeros };
  param_t add_param(const std::string& name, const shape& s, init how) {
    std::vector<T> v(std::size_t(s.numel()), T(how == init::ones ? 1 : 0));
    if (how == init::normal) {
      const std::uint64_t stream = math::mix64(seed_ ^ math::mix64(params_.size() + 1));
      for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>(config_.initializer_range * math::normal(stream, i));
    }
    param_t p(tensor_t::from_host(s, v));
    by_name_[name] = params_.size();
    params_.emplace_back(name, p);
    return p;
  }

  static std::string layer_prefix(index i) {
    const std::string n = std::to_string(i);
    if constexpr (Family::id == io::family::gpt2) return "h." + n + ".";
    else if constexpr (Family::id == io::family::llama) return "layers." + n + ".";
    else return "encoder.layer." + n + ".";
  }
  static std::string final_norm_name(int which) {
    if constexpr (Family::id == io::family::gpt2) return which == 0 ? "ln_f.weight" : "ln_f.bias";
    else return which == 0 ? "norm.weight" : "norm.bias";
  }
  const param_t& param(const std::string& name) const { return parameter(name); }
  param_t bias_or_none(const std::string& name) const { return has_parameter(name) ? parameter(name) : param_t(); }

  double dropout_probability() const {
    for (const char* key : {"hidden_dropout_prob", "resid_pdrop", "attention_dropout"}) {
      auto it = config_.raw.find(key);
      if (it != config_.raw.end() && it->is_number()) return it->template get<double>();
    }
    return 0.0;
  }

  // ---- masks --------------------------------------------------------------------------------
  // Per forward pass: whether masks are sampled (training) or deterministic, the hidden units
  // kept (norm statistics run over them), and which whole sub-layers are removed.
  struct mask_context {
    bool on = false, stochastic = false;
    index rows = 0;
    std::uint64_t seed = 0;
    mutable std::uint64_t offset = 0;
    tensor_t hidden_keep;
    std::vector<bool> attention_keep, mlp_keep;
    bool runs_attention(std::size_t l) const { return !on || stochastic || attention_keep[l]; }
    bool runs_mlp(std::size_t l) const { return !on || stochastic || mlp_keep[l]; }
  };

  mask_context make_mask_context(const forward_options& opt, index rows) const {
    mask_context mc;
    if constexpr (Mask::active) {
      mc.on = true;
      mc.stochastic = opt.training && !opt.deterministic_masks;
      mc.rows = rows;
      mc.seed = opt.mask_seed;
      const auto keep = masks_.hidden.keep();
      std::vector<T> k(keep.size());
      for (std::size_t i = 0; i < k.size(); ++i) k[i] = keep[i] ? T(1) : T(0);
      mc.hidden_keep = tensor_t::from_host(shape{index(k.size())}, k);
      mc.attention_keep = masks_.attention.keep();
      mc.mlp_keep = masks_.mlp.keep();
      for (std::size_t l = 0; l < layers_.size(); ++l) {  // a layer with no head or neuron left is removed too
        bool any_head = false, any_neuron = false;
        for (bool b : masks_.heads[l].keep()) any_head = any_head || b;
        for (bool b : masks_.intermediate[l].keep()) any_neuron = any_neuron || b;
        mc.attention_keep[l] = mc.attention_keep[l] && any_head;
        mc.mlp_keep[l] = mc.mlp_keep[l] && any_neuron;
      }
    }
    (void)opt;
    (void)rows;
    return mc;
  }

  // The mask values of one unit for this pass: [rows, n] sampled, or [n] deterministic.
  template <class Unit>
  var_t mask_values(const Unit& u, const mask_context& mc) const {
    if (!mc.stochastic) return u.deterministic();
    var_t z = u.sample(mc.rows, mc.seed, mc.offset);
    mc.offset += std::uint64_t(mc.rows * u.size());
    return z;
  }
  // x * z_hidden (no-op without masks)
  var_t hidden_mask(const var_t& x, const mask_context& mc) const {
    if constexpr (Mask::active) return autodiff::mul(x, mask_values(masks_.hidden, mc));
    else return x;
  }
  // column l of a per-layer unit ([rows, 1] or [1]) times x
  template <class Unit>
  var_t layer_mask(const var_t& x, const Unit& u, std::size_t l, const mask_context& mc) const {
    return autodiff::mul(x, autodiff::columns(mask_values(u, mc), index(l), 1));
  }

  // Norm; with masks, statistics over kept hidden units and output 0 on removed ones; on the
  // residual stream (post-norm outputs, final norm) the hidden mask multiplies the output.
  var_t norm(const var_t& x, const param_t& w, const param_t& b, const mask_context& mc, bool stream) const {
    if constexpr (Mask::active) {
      var_t y;
      if constexpr (Family::norm == norm_kind::rms_norm) y = autodiff::rms_norm_kept(x, mc.hidden_keep, w, config_.norm_eps);
      else y = autodiff::layer_norm_kept(x, mc.hidden_keep, w, b, config_.norm_eps);
      return stream ? hidden_mask(y, mc) : y;
    } else {
      (void)mc;
      (void)stream;
      return norm(x, w, b);
    }
  }

  // ---- forward pieces ----------------------------------------------------------------------
  void check_input(const batch_input& in) const {
    const std::size_t n = std::size_t(in.batch * in.seq);
    require(in.batch > 0 && in.seq > 0 && in.ids.size() == n, "transformer::forward",
            "expected " + std::to_string(n) + " ids for batch " + std::to_string(in.batch) + " x seq " + std::to_string(in.seq) +
                ", got " + std::to_string(in.ids.size()));
    require(in.attention_mask.empty() || in.attention_mask.size() == n, "transformer::forward", "attention_mask size differs from ids");
    require(in.token_type_ids.empty() || in.token_type_ids.size() == n, "transformer::forward", "token_type_ids size differs from ids");
    if (Family::positions != position_kind::rotary) {
      const index needed = in.seq + (Family::positions == position_kind::learned_offset_by_padding ? config_.pad_token_id + 1 : 0);
      require(needed <= config_.max_positions, "transformer::forward",
              "sequence length " + std::to_string(in.seq) + " exceeds the " + std::to_string(config_.max_positions) + " position embeddings");
    }
  }

  var_t norm(const var_t& x, const param_t& w, const param_t& b) const {
    if constexpr (Family::norm == norm_kind::rms_norm) return autodiff::rms_norm(x, w, config_.norm_eps);
    else return autodiff::layer_norm(x, w, b, config_.norm_eps);
  }
  // LayerNorm whatever the family (masked-LM transform), on the hidden stream
  var_t norm_layer(const var_t& x, const param_t& w, const param_t& b, const mask_context& mc) const {
    if constexpr (Mask::active) return hidden_mask(autodiff::layer_norm_kept(x, mc.hidden_keep, w, b, config_.norm_eps), mc);
    else { (void)mc; return autodiff::layer_norm(x, w, b, config_.norm_eps); }
  }

  var_t embed(const batch_input& in, const autodiff::id_tensor<B>& ids, const mask_context& mc) const {
    const index batch = in.batch, seq = in.seq;
    if constexpr (Family::id == io::family::llama) {
      return hidden_mask(autodiff::embedding(param("embed_tokens.weight"), ids), mc);
    } else {
      std::vector<std::int32_t> pos(std::size_t(batch * seq));
      for (index b = 0; b < batch; ++b) {
        std::int32_t running = 0;
        for (index s = 0; s < seq; ++s) {
          const std::size_t i = std::size_t(b * seq + s);
          if constexpr (Family::positions == position_kind::learned_offset_by_padding) {
            // RoBERTa: cumsum over non-padding tokens, offset by padding_idx; padding sits at padding_idx
            const bool real = in.ids[i] != config_.pad_token_id;
            running += real;
            pos[i] = static_cast<std::int32_t>(real ? running + config_.pad_token_id : config_.pad_token_id);
          } else {
            pos[i] = static_cast<std::int32_t>(s);
          }
        }
      }
      const auto pos_ids = autodiff::upload_ids<B>("position_ids", shape{batch, seq}, pos, config_.max_positions);
      if constexpr (Family::id == io::family::gpt2) {
        return hidden_mask(autodiff::add(autodiff::embedding(param("wte.weight"), ids), autodiff::embedding(param("wpe.weight"), pos_ids)), mc);
      } else {
        var_t e = autodiff::add(autodiff::embedding(param("embeddings.word_embeddings.weight"), ids),
                                autodiff::embedding(param("embeddings.position_embeddings.weight"), pos_ids));
        const std::vector<std::int32_t> types = in.token_type_ids.empty() ? std::vector<std::int32_t>(std::size_t(batch * seq), 0) : in.token_type_ids;
        const auto type_ids = autodiff::upload_ids<B>("token_type_ids", shape{batch, seq}, types, std::max<index>(1, config_.type_vocab_size));
        e = hidden_mask(autodiff::add(e, autodiff::embedding(param("embeddings.token_type_embeddings.weight"), type_ids)), mc);
        return norm(e, param("embeddings.LayerNorm.weight"), param("embeddings.LayerNorm.bias"), mc, true);
      }
    }
  }

  autodiff::id_tensor<B> rotary_positions(index batch, index seq) const {
    std::vector<std::int32_t> pos(std::size_t(batch * seq));
    for (index b = 0; b < batch; ++b)
      for (index s = 0; s < seq; ++s) pos[std::size_t(b * seq + s)] = static_cast<std::int32_t>(s);
    return autodiff::upload_ids<B>("position_ids", shape{batch * seq}, pos, INT32_MAX);
  }

  var_t self_attention(std::size_t li, const var_t& x, const autodiff::id_tensor<B>& key_mask, const autodiff::id_tensor<B>& positions,
                       tensor_t* probs, const mask_context& mc) const {
    const layer& l = layers_[li];
    const index hd = config_.head_dim, qw = l.size.heads * hd, kw = l.size.kv_heads * hd;
    var_t q, k, v;
    if constexpr (Family::fused_qkv) {
      var_t qkv = autodiff::linear(x, l.qkv_w, l.qkv_b);
      q = autodiff::columns(qkv, 0, qw);
      k = autodiff::columns(qkv, qw, kw);
      v = autodiff::columns(qkv, qw + kw, kw);
    } else {
      q = autodiff::linear(x, l.q_w, l.q_b);
      k = autodiff::linear(x, l.k_w, l.k_b);
      v = autodiff::linear(x, l.v_w, l.v_b);
    }
    if constexpr (Family::positions == position_kind::rotary) {
      q = autodiff::rope(q, positions, l.size.heads, config_.rope_theta);
      k = autodiff::rope(k, positions, l.size.kv_heads, config_.rope_theta);
    }
    autodiff::attention_options opt{l.size.heads, l.size.kv_heads, Family::causal, {}};
    var_t ctx = autodiff::attention(q, k, v, &key_mask, opt, probs);
    if constexpr (Mask::active) {
      // head masks (one per key/value group) spread over the head_dim columns of every query head
      std::vector<T> spread(std::size_t(qw * l.size.kv_heads), T(0));
      const index group = l.size.heads / l.size.kv_heads;
      for (index c = 0; c < qw; ++c) spread[std::size_t(c * l.size.kv_heads + (c / hd) / group)] = T(1);
      const var_t expand(tensor_t::from_host(shape{qw, l.size.kv_heads}, spread));
      ctx = autodiff::mul(ctx, autodiff::linear(mask_values(masks_.heads[li], mc), expand));
      return layer_mask(hidden_mask(autodiff::linear(ctx, l.o_w, l.o_b), mc), masks_.attention, li, mc);
    } else {
      return autodiff::linear(ctx, l.o_w, l.o_b);
    }
  }

  var_t feed_forward(std::size_t li, const var_t& x, const mask_context& mc) const {
    const layer& l = layers_[li];
    var_t inner = autodiff::activation(act_, autodiff::linear(x, Family::gated_mlp ? l.gate_w : l.up_w, Family::gated_mlp ? l.gate_b : l.up_b));
    if constexpr (Family::gated_mlp) inner = autodiff::mul(inner, autodiff::linear(x, l.up_w, l.up_b));
    if constexpr (Mask::active) {
      inner = autodiff::mul(inner, mask_values(masks_.intermediate[li], mc));
      return layer_mask(hidden_mask(autodiff::linear(inner, l.down_w, l.down_b), mc), masks_.mlp, li, mc);
    } else {
      (void)mc;
      return autodiff::linear(inner, l.down_w, l.down_b);
    }
  }

  // hidden [batch, seq, D] -> one row per batch entry, at the given positions
  var_t pool(const var_t& h, const std::vector<std::int32_t>& rows) const {
    const index batch = h.shape()[0], seq = h.shape()[1], D = h.shape()[2];
    std::vector<std::int32_t> flat(rows.size());
    for (std::size_t b = 0; b < rows.size(); ++b) flat[b] = static_cast<std::int32_t>(index(b) * seq + rows[b]);
    const auto idx = autodiff::upload_ids<B>("pooled rows", shape{batch}, flat, batch * seq);
    return autodiff::embedding(autodiff::reshape(h, shape{batch * seq, D}), idx);
  }

  // pooler-style dense layers whose outputs live in the hidden space: removed units give 0
  var_t keep_hidden_units(const var_t& x, const mask_context& mc) const {
    if constexpr (Mask::active) return autodiff::mul(x, var_t(mc.hidden_keep.clone()));
    else { (void)mc; return x; }
  }

  template <class Drop>
  var_t apply_head(const var_t& h, const batch_input& in, Drop& drop, double p, const mask_context& mc) const {
    switch (head_) {
      case head_kind::base: return h;
      case head_kind::sequence_classification: {
        var_t x = pool(h, pooled_positions(in));
        if constexpr (Family::id == io::family::bert) {
          x = keep_hidden_units(autodiff::tanh(autodiff::linear(x, param("pooler.dense.weight"), param("pooler.dense.bias"))), mc);
          return autodiff::linear(drop(x, p), param("classifier.weight"), param("classifier.bias"));
        } else if constexpr (Family::id == io::family::roberta) {
          x = keep_hidden_units(autodiff::tanh(autodiff::linear(drop(x, p), param("classifier.dense.weight"), param("classifier.dense.bias"))), mc);
          return autodiff::linear(drop(x, p), param("classifier.out_proj.weight"), param("classifier.out_proj.bias"));
        } else {
          return autodiff::linear(x, param("score.weight"));
        }
      }
      case head_kind::token_classification:
        return autodiff::linear(drop(h, p), param("classifier.weight"), param("classifier.bias"));
      case head_kind::masked_lm: {
        const char* pre = Family::id == io::family::bert ? "cls.predictions.transform." : "lm_head.";
        const std::string dense = std::string(pre) + "dense.", norm_name = Family::id == io::family::bert ? "cls.predictions.transform.LayerNorm." : "lm_head.layer_norm.";
        var_t x = autodiff::activation(act_, autodiff::linear(h, param(dense + "weight"), param(dense + "bias")));
        x = norm_layer(x, param(norm_name + "weight"), param(norm_name + "bias"), mc);
        return autodiff::linear(x, param("embeddings.word_embeddings.weight"),
                                param(Family::id == io::family::bert ? "cls.predictions.bias" : "lm_head.bias"));
      }
      case head_kind::causal_lm: {
        if constexpr (Family::id == io::family::gpt2) return autodiff::linear(h, param("wte.weight"));
        else return autodiff::linear(h, param(config_.tie_word_embeddings ? "embed_tokens.weight" : "lm_head.weight"));
      }
    }
    return h;
  }

  static const io::model_config& check_family(const io::model_config& c) {
    if (c.family != Family::id)
      throw std::invalid_argument("transformer<" + std::string(io::family_name(Family::id)) + ">: config is for model_type " +
                                  std::string(io::family_name(c.family)));
    return c;
  }

  io::model_config config_;
  head_kind head_;
  std::uint64_t seed_;
  math::unary_op act_;
  mask_storage masks_;
  std::vector<layer> layers_;
  std::vector<std::pair<std::string, param_t>> params_;
  std::map<std::string, std::size_t> by_name_;
};

}  // namespace vtrans::nn
