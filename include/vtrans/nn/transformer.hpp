#pragma once
// The transformer of every family, on the autodiff tape. Its layout comes from the family's
// description (nn/families/, read through the config at run time): which tensors exist and their
// names, biases, norm kind and placement, positions, causality, sliding windows, heads. Sizes
// come from io::model_config and may differ per layer (pruned models are ordinary models here).
//
//   basic_transformer<Mask, Backend, T>          any family, as its config says
//   transformer<Family, Mask, Backend, T>        the same model, its config checked to be of
//                                                Family (nn::any_family: any family)
//
// Parameters are named as in Hugging Face checkpoints without the base-model prefix
// ("encoder.layer.0.attention.self.query.weight", "h.0.attn.c_attn.weight", ...) and stored in
// torch.nn.Linear layout [out, in] (GPT-2's Conv1D weights are transposed on load and save).
#include <atomic>
#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "vtrans/autodiff/autodiff.hpp"
#include "vtrans/error.hpp"
#include "vtrans/io/model_config.hpp"
#include "vtrans/masks/mask_set.hpp"
#include "vtrans/masks/none.hpp"
#include "vtrans/nn/families.hpp"
#include "vtrans/nn/heads.hpp"
#include "vtrans/tensor/default_backend.hpp"
#include "vtrans/tensor/math.hpp"

namespace vtrans::nn {

// Token ids and masks of one batch, row-major [batch, seq], on the host.
struct batch_input {
  index batch = 0, seq = 0;
  std::vector<std::int32_t> ids;
  std::vector<std::int32_t> attention_mask;  // 1 = token, 0 = padding; empty = all tokens
  std::vector<std::int32_t> token_type_ids;  // empty = all 0
  std::vector<std::int32_t> predict_rows;    // masked-LM head: only these rows of the [batch * seq] positions; empty = all
};

// A batch as the model reads it, in the backend's memory: forward(batch_input) checks and uploads
// one; train/resident_set.hpp assembles them on the device from a data set kept there.
template <class B>
struct device_input {
  index batch = 0, seq = 0;
  autodiff::id_tensor<B> ids;             // [batch, seq]
  autodiff::id_tensor<B> attention_mask;  // [batch, seq], 1 = token
  autodiff::id_tensor<B> token_type_ids;  // [batch, seq]; only for families with token types
  autodiff::id_tensor<B> position_ids;    // [batch, seq]; only for families with positions
  autodiff::id_tensor<B> pooled_rows;     // [batch]: row b * seq + s the sequence head reads
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
  throw vtrans::usage_error("config.json: activation \"" + name + "\" is not supported (gelu, gelu_new, relu, silu, tanh)");
}

// Normal draws made to initialise parameters, over the whole process: a model built for loading
// draws none (tests count them).
inline std::atomic<std::uint64_t> parameter_draws{0};

// What a model keeps its layers' weight matrices (q, k, v or qkv, o, gate, up, down) in: T like
// every other parameter, or 16 bits, frozen (autodiff/frozen.hpp: widened panel by panel for each
// product), as a BF16 / F16 checkpoint stores them. as_stored is a loader's choice (nn/load.hpp):
// the checkpoint's own 16-bit type, or T for a checkpoint of another type.
enum class matrix_dtype { compute, bf16, f16, as_stored };

// Constructor tag: the parameters are allocated but not initialised, because a checkpoint is about
// to overwrite every one of them (nn/load.hpp checks that it does); the layers' matrices in T or 16 bits.
struct for_loading_t {
  constexpr explicit for_loading_t(matrix_dtype m = matrix_dtype::compute) : matrices(m) {}
  matrix_dtype matrices;
};
inline constexpr for_loading_t for_loading{};

// Constructor tag: the model holds another model's weights themselves (the same parameter nodes
// and 16-bit matrices), for a model that never changes a weight (a Faster-VTrans student).
struct sharing_weights_t {
  explicit sharing_weights_t() = default;
};
inline constexpr sharing_weights_t sharing_weights{};

// The names of a config's layer matrices (those matrix_dtype applies to), as the model names them.
inline std::vector<std::string> layer_matrix_names(const io::model_config& c) {
  const family_spec& f = c.spec();
  const layer_roles& r = f.layer;
  std::vector<std::string> out;
  for (index i = 0; i < c.num_layers; ++i) {
    const io::layer_sizes& s = c.layers[std::size_t(i)];
    std::vector<const role*> roles;
    if (s.has_attention) roles = f.fused_qkv() ? std::vector<const role*>{&r.qkv, &r.o} : std::vector<const role*>{&r.q, &r.k, &r.v, &r.o};
    if (s.has_mlp) {
      if (f.gated_mlp()) roles.push_back(&r.gate);
      roles.insert(roles.end(), {&r.up, &r.down});
    }
    for (const role* x : roles) out.push_back(weight_name(*x, i));
  }
  return out;
}

template <class Mask = masks::none, class B = cpu, class T = float>
class basic_transformer {
 public:
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

  // A weight and its bias (undefined where the role has none): a linear layer or a norm.
  struct weight_bias {
    param_t w, b;
  };
  // A layer matrix kept in 16 bits: one of the two is defined.
  struct frozen_matrix {
    autodiff::frozen<bf16, B> bf;
    autodiff::frozen<f16, B> hf;
    bool defined() const { return bf.defined() || hf.defined(); }
  };
  // One layer's parameters; undefined params are those the family or the pruning leaves out.
  struct layer {
    io::layer_sizes size;
    param_t q_w, q_b, k_w, k_b, v_w, v_b, qkv_w, qkv_b, o_w, o_b;  // attention
    param_t attn_norm_w, attn_norm_b;                              // ln_1 / input_layernorm / attention.output.LayerNorm
    param_t up_w, up_b, gate_w, gate_b, down_w, down_b;            // FFN
    param_t mlp_norm_w, mlp_norm_b;                                // ln_2 / post_attention_layernorm / output.LayerNorm
    frozen_matrix q_h, k_h, v_h, qkv_h, o_h, up_h, gate_h, down_h;  // in place of the *_w above in a 16-bit model
    tensor_t head_spread;  // masked models: [heads * head_dim, kv_heads] of 0/1, a head mask to its columns
  };
  // Where a 16-bit layer matrix goes once loaded.
  struct frozen_slot {
    std::string name;
    vtrans::shape shape;
    std::size_t layer;
    using member_pointer = frozen_matrix layer::*;  // an alias: nvcc's host pass writes the bare form in parentheses
    member_pointer member;
  };

  // A model of the given sizes with freshly initialised weights (normal(0, initializer_range),
  // norms at 1, biases at 0), seeded.
  basic_transformer(io::model_config config, head_kind head, std::uint64_t seed = 1, const mask_options& mask_opt = mask_options::defaults())
      : config_(std::move(config)), spec_(&config_.spec()), head_(head), seed_(seed), act_(activation_from_name(config_.activation)),
        masks_(config_, math::mix64(seed ^ 0x6d61736b), mask_opt) {
    build();
  }
  // A model of the given sizes whose parameters hold whatever memory held: for a loader that
  // fills every one (initialising weights a checkpoint overwrites costs more than reading them).
  basic_transformer(io::model_config config, head_kind head, for_loading_t tag, std::uint64_t seed = 1,
                    const mask_options& mask_opt = mask_options::defaults())
      : config_(std::move(config)), spec_(&config_.spec()), head_(head), seed_(seed), uninitialised_(true), matrices_(tag.matrices),
        act_(activation_from_name(config_.activation)), masks_(config_, math::mix64(seed ^ 0x6d61736b), mask_opt) {
    if (matrices_ == matrix_dtype::as_stored) throw vtrans::usage_error("transformer: matrix_dtype::as_stored is resolved by the loader");
    build();
  }

  // A model that holds `from`'s weights themselves: nothing is allocated or copied, only the masks
  // are its own. Whatever changes a weight of one (training, set_trainable, assign) changes both.
  template <class OtherMask>
  basic_transformer(sharing_weights_t, const basic_transformer<OtherMask, B, T>& from, std::uint64_t seed = 1,
                    const mask_options& mask_opt = mask_options::defaults())
      : config_(from.config()), spec_(&config_.spec()), head_(from.head()), seed_(seed), uninitialised_(true), matrices_(from.matrices()),
        act_(activation_from_name(config_.activation)), masks_(config_, math::mix64(seed ^ 0x6d61736b), mask_opt) {
    shared_from_ = [&from](const std::string& name) { return from.parameter(name); };
    build();
    shared_from_ = nullptr;
    if (!frozen_.empty()) share_frozen(from);
  }

  // The masks (masked models only); their parameters are separate from the weights.
  mask_storage& masks() { return masks_; }
  const mask_storage& masks() const { return masks_; }

  const io::model_config& config() const { return config_; }
  const family_spec& spec() const { return *spec_; }
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
    for (const auto& s : frozen_) n += s.shape.numel();
    return n;
  }

  // The layer matrices kept in 16 bits (none unless built for loading with matrix_dtype bf16 or f16);
  // they are not among parameters().
  matrix_dtype matrices() const { return matrices_; }
  const std::vector<frozen_slot>& frozen_matrices() const { return frozen_; }
  const frozen_slot* find_frozen(const std::string& name) const {
    for (const auto& s : frozen_)
      if (s.name == name) return &s;
    return nullptr;
  }
  // Takes another model's 16-bit matrices as its own, shared, not copied (a Faster-VTrans student
  // and its teacher hold one set of frozen weights); names and shapes must match.
  template <class Other>
  void share_frozen(const Other& from) {
    if (from.matrices() != matrices_) throw vtrans::usage_error("transformer: share_frozen between models of different matrix types");
    for (const auto& s : frozen_) {
      const auto* o = from.find_frozen(s.name);
      if (!o || o->shape != s.shape) throw vtrans::usage_error("transformer: no 16-bit matrix " + s.name + " of shape " + s.shape.str() + " to share");
      const auto& theirs = from.layers()[o->layer].*(o->member);
      frozen_matrix& mine = layers_[s.layer].*(s.member);
      mine.bf = theirs.bf;
      mine.hf = theirs.hf;
    }
  }
  // Sets a 16-bit layer matrix (H bf16 or f16, as matrices() says; shape as the config implies).
  template <class H>
  void assign_frozen(const std::string& name, tensor<H, B> value) {
    const frozen_slot* s = find_frozen(name);
    if (!s) throw std::out_of_range("transformer: no 16-bit matrix named " + name);
    if (value.shape() != s->shape)
      throw vtrans::usage_error("transformer: tensor " + name + " has shape " + value.shape().str() + ", the config implies " + s->shape.str());
    frozen_matrix& m = layers_[s->layer].*(s->member);
    if constexpr (std::is_same_v<H, bf16>) {
      if (matrices_ != matrix_dtype::bf16) throw vtrans::usage_error("transformer: " + name + " is not kept in bf16");
      m.bf = autodiff::frozen<bf16, B>(std::move(value));
    } else {
      if (matrices_ != matrix_dtype::f16) throw vtrans::usage_error("transformer: " + name + " is not kept in f16");
      m.hf = autodiff::frozen<f16, B>(std::move(value));
    }
  }
  void zero_grad() { for (auto& [name, p] : params_) p.zero_grad(); }
  void set_trainable(bool on) { for (auto& [name, p] : params_) p.set_trainable(on); }

  model_output<T, B> forward(const batch_input& in, const forward_options& opt = {}) const {
    return run(upload(in), opt, in.predict_rows);
  }
  // The same on a batch already in the backend's memory (made by upload() or on the device).
  model_output<T, B> forward(const device_input<B>& in, const forward_options& opt = {}) const { return run(in, opt, {}); }

  // Checks a host batch and uploads what forward reads of it.
  device_input<B> upload(const batch_input& in) const {
    check_input(in);
    const family_spec& f = spec();
    const index batch = in.batch, seq = in.seq;
    device_input<B> d;
    d.batch = batch, d.seq = seq;
    d.attention_mask = autodiff::upload_ids<B>("attention_mask", shape{batch, seq},
                                               in.attention_mask.empty() ? std::vector<std::int32_t>(std::size_t(batch * seq), 1) : in.attention_mask, 2);
    d.ids = autodiff::upload_ids<B>("input_ids", shape{batch, seq}, in.ids, config_.vocab_size);
    if (uses_positions())
      d.position_ids = autodiff::upload_ids<B>("position_ids", shape{batch, seq}, position_ids(in),
                                               f.positions == position_kind::rotary ? INT32_MAX : config_.max_positions);
    if (f.model.token_type_embedding.present())
      d.token_type_ids = autodiff::upload_ids<B>("token_type_ids", shape{batch, seq},
                                                 in.token_type_ids.empty() ? std::vector<std::int32_t>(std::size_t(batch * seq), 0) : in.token_type_ids,
                                                 std::max<index>(1, config_.type_vocab_size));
    if (head_ == head_kind::sequence_classification) {
      std::vector<std::int32_t> flat = pooled_positions(in);
      for (std::size_t b = 0; b < flat.size(); ++b) flat[b] += static_cast<std::int32_t>(index(b) * seq);
      d.pooled_rows = autodiff::upload_ids<B>("pooled rows", shape{batch}, flat, batch * seq);
    }
    return d;
  }

  // Whether forward reads position ids (learned position embeddings or rotary positions).
  bool uses_positions() const { return spec().model.position_embedding.present() || spec().positions == position_kind::rotary; }
  // Position of every token, [batch * seq] row-major: its index in the row, or for RoBERTa the
  // running count of non-padding tokens offset by padding_idx, padding at padding_idx.
  std::vector<std::int32_t> position_ids(const batch_input& in) const {
    std::vector<std::int32_t> pos(std::size_t(in.batch * in.seq));
    const bool after_padding = spec().positions == position_kind::learned_after_padding;
    for (index b = 0; b < in.batch; ++b) {
      std::int32_t running = 0;
      for (index s = 0; s < in.seq; ++s) {
        const std::size_t i = std::size_t(b * in.seq + s);
        if (after_padding) {
          const bool real = in.ids[i] != config_.pad_token_id;
          running += real;
          pos[i] = static_cast<std::int32_t>(real ? running + config_.pad_token_id : config_.pad_token_id);
        } else {
          pos[i] = static_cast<std::int32_t>(s);
        }
      }
    }
    return pos;
  }

  // Row of the sequence-classification pooling for each batch entry: the first token for
  // encoders, the last non-padding token (by pad_token_id, as transformers does) for decoders.
  std::vector<std::int32_t> pooled_positions(const batch_input& in) const {
    std::vector<std::int32_t> rows(std::size_t(in.batch), 0);
    if (!spec().causal) return rows;
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
      throw vtrans::usage_error("transformer: tensor " + name + " has shape " + value.shape().str() + ", the config implies " + p.shape().str());
    const_cast<param_t&>(p).value() = std::move(value);
  }

 private:
  // ---- construction ----------------------------------------------------------------------
  // Parameters are created in a fixed order per family: the order numbers their random streams.
  void build() {
    const family_spec& f = spec();
    const auto& c = config_;
    const index D = c.hidden_size, V = c.vocab_size, hd = c.head_dim;

    token_embedding_ = matrix(f.model.token_embedding, -1, V, D);
    if (f.model.position_embedding.present()) position_embedding_ = matrix(f.model.position_embedding, -1, c.max_positions, D);
    if (f.model.token_type_embedding.present())
      token_type_embedding_ = matrix(f.model.token_type_embedding, -1, std::max<index>(1, c.type_vocab_size), D);
    if (f.model.embedding_norm.present()) embedding_norm_ = norm_of(f.model.embedding_norm, -1);

    const layer_roles& r = f.layer;
    for (index i = 0; i < c.num_layers; ++i) {
      layer l;
      l.size = c.layers[std::size_t(i)];
      const index qw = l.size.heads * hd, kw = l.size.kv_heads * hd, I = l.size.intermediate;
      if (l.size.has_attention) {
        if (f.attn_norm_first) norm_of(r.attn_norm, i, l.attn_norm_w, l.attn_norm_b);
        if (f.fused_qkv()) {
          layer_linear(r.qkv, i, qw + 2 * kw, D, l.qkv_w, l.qkv_b, &layer::qkv_h);
        } else {
          layer_linear(r.q, i, qw, D, l.q_w, l.q_b, &layer::q_h);
          layer_linear(r.k, i, kw, D, l.k_w, l.k_b, &layer::k_h);
          layer_linear(r.v, i, kw, D, l.v_w, l.v_b, &layer::v_h);
        }
        layer_linear(r.o, i, D, qw, l.o_w, l.o_b, &layer::o_h);
        if (!f.attn_norm_first) norm_of(r.attn_norm, i, l.attn_norm_w, l.attn_norm_b);
        if constexpr (Mask::active) {  // built once: every forward pass reads it
          std::vector<T> spread(std::size_t(qw * l.size.kv_heads), T(0));
          const index group = l.size.heads / l.size.kv_heads;
          for (index c = 0; c < qw; ++c) spread[std::size_t(c * l.size.kv_heads + (c / hd) / group)] = T(1);
          l.head_spread = tensor_t::from_host(shape{qw, l.size.kv_heads}, spread);
        }
      }
      if (l.size.has_mlp) {
        if (f.mlp_norm_first) norm_of(r.mlp_norm, i, l.mlp_norm_w, l.mlp_norm_b);
        if (f.gated_mlp()) layer_linear(r.gate, i, I, D, l.gate_w, l.gate_b, &layer::gate_h);
        layer_linear(r.up, i, I, D, l.up_w, l.up_b, &layer::up_h);
        layer_linear(r.down, i, D, I, l.down_w, l.down_b, &layer::down_h);
        if (!f.mlp_norm_first) norm_of(r.mlp_norm, i, l.mlp_norm_w, l.mlp_norm_b);
      }
      layers_.push_back(std::move(l));
    }
    if (f.model.final_norm.present()) final_norm_ = norm_of(f.model.final_norm, -1);
    build_head();
  }

  void build_head() {
    const family_spec& f = spec();
    const head_roles& r = f.heads;
    const index D = config_.hidden_size, V = config_.vocab_size, L = config_.num_labels;
    if (!has_head(f, head_))
      throw vtrans::usage_error("transformer: " + config_.model_type + " has no " + head_name(head_) + " head");
    switch (head_) {
      case head_kind::base: break;
      case head_kind::sequence_classification:
        if (r.pooler.present()) linear_of(r.pooler, -1, D, D, head_params_.pooler.w, head_params_.pooler.b);
        if (r.classifier_dense.present()) linear_of(r.classifier_dense, -1, D, D, head_params_.dense.w, head_params_.dense.b);
        linear_of(r.classifier, -1, L, D, head_params_.out.w, head_params_.out.b);
        break;
      case head_kind::token_classification: linear_of(r.token_classifier, -1, L, D, head_params_.out.w, head_params_.out.b); break;
      case head_kind::masked_lm:
        linear_of(r.mlm_dense, -1, D, D, head_params_.dense.w, head_params_.dense.b);
        head_params_.norm = norm_of(r.mlm_norm, -1);
        head_params_.out.b = add_param(std::string(r.mlm_bias), shape{V}, init::zeros);
        break;
      case head_kind::causal_lm:
        if (!config_.tie_word_embeddings) head_params_.out.w = matrix(r.lm_head, -1, V, D);
        break;
    }
  }

  enum class init { normal, ones, zeros };
  param_t add_param(const std::string& name, const shape& s, init how) {
    param_t p = shared_from_ ? shared_from_(name) : param_t(uninitialised_ ? tensor_t(s) : initial_value(s, how));
    if (p.shape() != s) throw vtrans::usage_error("transformer: shared weight " + name + " has shape " + p.shape().str() + ", not " + s.str());
    by_name_[name] = params_.size();
    params_.emplace_back(name, p);
    return p;
  }
  tensor_t initial_value(const shape& s, init how) const {
    std::vector<T> v(std::size_t(s.numel()), T(how == init::ones ? 1 : 0));
    if (how == init::normal) {
      const std::uint64_t stream = math::mix64(seed_ ^ math::mix64(params_.size() + 1));
      for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>(config_.initializer_range * math::normal(stream, i));
      parameter_draws += v.size();
    }
    return tensor_t::from_host(s, v);
  }
  param_t matrix(const role& r, index layer, index rows, index cols) { return add_param(weight_name(r, layer), shape{rows, cols}, init::normal); }
  param_t bias_of(const role& r, index layer, index n) {
    return io::has_bias(config_, r.bias) ? add_param(bias_name(r, layer), shape{n}, init::zeros) : param_t();
  }
  void linear_of(const role& r, index layer, index out, index in, param_t& w, param_t& b) {
    w = matrix(r, layer, out, in);
    b = bias_of(r, layer, out);
  }
  // A layer's linear: its matrix a parameter, or a 16-bit slot the loader fills.
  void layer_linear(const role& r, index i, index out, index in, param_t& w, param_t& b, frozen_matrix layer::*h) {
    if (matrices_ == matrix_dtype::compute) return linear_of(r, i, out, in, w, b);
    frozen_.push_back({weight_name(r, i), shape{out, in}, std::size_t(i), h});
    b = bias_of(r, i, out);
  }
  void norm_of(const role& r, index layer, param_t& w, param_t& b) {
    w = add_param(weight_name(r, layer), shape{config_.hidden_size}, init::ones);
    b = bias_of(r, layer, config_.hidden_size);
  }
  weight_bias norm_of(const role& r, index layer) {
    weight_bias n;
    norm_of(r, layer, n.w, n.b);
    return n;
  }

  double dropout_probability() const {
    for (std::string_view key : spec().config.hidden_dropout) {
      auto it = config_.raw.find(std::string(key));
      if (!key.empty() && it != config_.raw.end() && it->is_number()) return it->template get<double>();
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
      mc.hidden_keep = masks_.hidden.keep_mask();
      if (mc.stochastic) return mc;  // sampled masks run every sub-layer: no decision is read on the host
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

  // Norm; with masks, statistics over kept hidden units, removed ones passing through unchanged (see
  // ops_norm.hpp); on the residual stream (post-norm outputs, final norm) the hidden mask multiplies the output.
  var_t norm(const var_t& x, const param_t& w, const param_t& b, const mask_context& mc, bool stream) const {
    const bool rms = spec().norm == norm_kind::rms_norm;
    if constexpr (Mask::active) {
      const var_t y = rms ? autodiff::rms_norm_kept(x, mc.hidden_keep, w, config_.norm_eps)
                          : autodiff::layer_norm_kept(x, mc.hidden_keep, w, b, config_.norm_eps);
      return stream ? hidden_mask(y, mc) : y;
    } else {
      (void)mc;
      (void)stream;
      return rms ? autodiff::rms_norm(x, w, config_.norm_eps) : autodiff::layer_norm(x, w, b, config_.norm_eps);
    }
  }
  // LayerNorm whatever the family (masked-LM transform), on the hidden stream
  var_t norm_layer(const var_t& x, const weight_bias& n, const mask_context& mc) const {
    if constexpr (Mask::active) return hidden_mask(autodiff::layer_norm_kept(x, mc.hidden_keep, n.w, n.b, config_.norm_eps), mc);
    else { (void)mc; return autodiff::layer_norm(x, n.w, n.b, config_.norm_eps); }
  }

  // ---- forward pieces ----------------------------------------------------------------------
  void check_input(const batch_input& in) const {
    const std::size_t n = std::size_t(in.batch * in.seq);
    require(in.batch > 0 && in.seq > 0 && in.ids.size() == n, "transformer::forward",
            "expected " + std::to_string(n) + " ids for batch " + std::to_string(in.batch) + " x seq " + std::to_string(in.seq) +
                ", got " + std::to_string(in.ids.size()));
    require(in.attention_mask.empty() || in.attention_mask.size() == n, "transformer::forward", "attention_mask size differs from ids");
    require(in.token_type_ids.empty() || in.token_type_ids.size() == n, "transformer::forward", "token_type_ids size differs from ids");
    if (spec().model.position_embedding.present())
      require(in.seq <= io::max_sequence_length(config_), "transformer::forward",
              "sequence length " + std::to_string(in.seq) + " exceeds the " + std::to_string(config_.max_positions) + " position embeddings");
  }

  model_output<T, B> run(const device_input<B>& in, const forward_options& opt, const std::vector<std::int32_t>& predict_rows) const {
    const family_spec& f = spec();
    const index batch = in.batch, seq = in.seq;
    require(batch > 0 && seq > 0 && in.ids.shape() == shape{batch, seq} && in.attention_mask.shape() == shape{batch, seq}, "transformer::forward",
            "a device batch needs ids and attention_mask of [batch, seq] = [" + std::to_string(batch) + ", " + std::to_string(seq) + "]");
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
    var_t h = embed(in, mc);
    h = drop(h, hidden_dropout);

    for (std::size_t li = 0; li < layers_.size(); ++li) {
      const layer& l = layers_[li];
      if (l.size.has_attention && mc.runs_attention(li)) {
        var_t x = f.pre_norm ? norm(h, l.attn_norm_w, l.attn_norm_b, mc, false) : h;
        tensor_t* probs = nullptr;
        if (opt.keep_attention) probs = &out.attention.emplace_back();
        var_t a = self_attention(li, x, in.attention_mask, in.position_ids, probs, mc);
        a = drop(a, hidden_dropout);
        h = f.pre_norm ? autodiff::add(h, a) : norm(autodiff::add(a, h), l.attn_norm_w, l.attn_norm_b, mc, true);
      }
      if (l.size.has_mlp && mc.runs_mlp(li)) {
        var_t x = f.pre_norm ? norm(h, l.mlp_norm_w, l.mlp_norm_b, mc, false) : h;
        var_t ff = drop(feed_forward(li, x, mc), hidden_dropout);
        h = f.pre_norm ? autodiff::add(h, ff) : norm(autodiff::add(ff, h), l.mlp_norm_w, l.mlp_norm_b, mc, true);
      }
      if (opt.keep_layer_outputs) out.layer_outputs.push_back(h);
    }
    // the final norm's output carries the hidden mask so that its scale folds into the (tied) head
    if (f.model.final_norm.present()) h = norm(h, final_norm_.w, final_norm_.b, mc, true);
    out.hidden = h;
    out.logits = apply_head(h, in, predict_rows, drop, hidden_dropout, mc);
    return out;
  }

  var_t embed(const device_input<B>& in, const mask_context& mc) const {
    const family_spec& f = spec();
    var_t e = autodiff::embedding(token_embedding_, in.ids);
    if (f.model.position_embedding.present()) {
      require(in.position_ids.shape() == in.ids.shape(), "transformer::forward", "the device batch has no position_ids of [batch, seq]");
      e = autodiff::add(e, autodiff::embedding(position_embedding_, in.position_ids));
    }
    if (f.model.token_type_embedding.present()) {
      require(in.token_type_ids.shape() == in.ids.shape(), "transformer::forward", "the device batch has no token_type_ids of [batch, seq]");
      e = autodiff::add(e, autodiff::embedding(token_type_embedding_, in.token_type_ids));
    }
    e = hidden_mask(e, mc);
    if (f.model.embedding_norm.present()) e = norm(e, embedding_norm_.w, embedding_norm_.b, mc, true);
    return e;
  }

  // A layer's linear, with its matrix in T or in 16 bits.
  var_t project(const var_t& x, const param_t& w, const frozen_matrix& h, const param_t& b) const {
    if (h.bf.defined()) return autodiff::linear(x, h.bf, b);
    if (h.hf.defined()) return autodiff::linear(x, h.hf, b);
    return autodiff::linear(x, w, b);
  }

  var_t self_attention(std::size_t li, const var_t& x, const autodiff::id_tensor<B>& key_mask, const autodiff::id_tensor<B>& positions,
                       tensor_t* probs, const mask_context& mc) const {
    const family_spec& f = spec();
    const layer& l = layers_[li];
    const index hd = config_.head_dim, qw = l.size.heads * hd, kw = l.size.kv_heads * hd;
    var_t q, k, v;
    if (f.fused_qkv()) {
      var_t qkv = project(x, l.qkv_w, l.qkv_h, l.qkv_b);
      q = autodiff::columns(qkv, 0, qw);
      k = autodiff::columns(qkv, qw, kw);
      v = autodiff::columns(qkv, qw + kw, kw);
    } else {
      q = project(x, l.q_w, l.q_h, l.q_b);
      k = project(x, l.k_w, l.k_h, l.k_b);
      v = project(x, l.v_w, l.v_h, l.v_b);
    }
    if (f.positions == position_kind::rotary) {
      q = autodiff::rope(q, positions, l.size.heads, config_.rope_theta);
      k = autodiff::rope(k, positions, l.size.kv_heads, config_.rope_theta);
    }
    autodiff::attention_options opt{l.size.heads, l.size.kv_heads, f.causal, {}, l.size.window};
    var_t ctx = autodiff::attention(q, k, v, &key_mask, opt, probs);
    if constexpr (Mask::active) {
      // head masks (one per key/value group) spread over the head_dim columns of every query head
      ctx = autodiff::mul(ctx, autodiff::linear(mask_values(masks_.heads[li], mc), var_t(l.head_spread.clone())));
      return layer_mask(hidden_mask(project(ctx, l.o_w, l.o_h, l.o_b), mc), masks_.attention, li, mc);
    } else {
      (void)mc;
      return project(ctx, l.o_w, l.o_h, l.o_b);
    }
  }

  var_t feed_forward(std::size_t li, const var_t& x, const mask_context& mc) const {
    const layer& l = layers_[li];
    const bool gated = spec().gated_mlp();
    var_t inner = autodiff::activation(act_, gated ? project(x, l.gate_w, l.gate_h, l.gate_b) : project(x, l.up_w, l.up_h, l.up_b));
    if (gated) inner = autodiff::mul(inner, project(x, l.up_w, l.up_h, l.up_b));
    if constexpr (Mask::active) {
      inner = autodiff::mul(inner, mask_values(masks_.intermediate[li], mc));
      return layer_mask(hidden_mask(project(inner, l.down_w, l.down_h, l.down_b), mc), masks_.mlp, li, mc);
    } else {
      (void)mc;
      return project(inner, l.down_w, l.down_h, l.down_b);
    }
  }

  // hidden [batch, seq, D] -> one row per batch entry: the flat rows b * seq + s in `rows`
  var_t pool(const var_t& h, const autodiff::id_tensor<B>& rows) const {
    const index positions = h.shape()[0] * h.shape()[1], D = h.shape()[2];
    require(rows.shape() == shape{h.shape()[0]}, "transformer::forward", "the device batch has no pooled_rows of [batch]");
    return autodiff::embedding(autodiff::reshape(h, shape{positions, D}), rows);
  }
  // hidden [batch, seq, D] -> [rows, D]: the given rows of the flattened positions
  var_t gather_rows(const var_t& h, const std::vector<std::int32_t>& flat) const {
    const index positions = h.shape()[0] * h.shape()[1], D = h.shape()[2];
    const auto idx = autodiff::upload_ids<B>("head rows", shape{index(flat.size())}, flat, positions);
    return autodiff::embedding(autodiff::reshape(h, shape{positions, D}), idx);
  }

  // pooler-style dense layers whose outputs live in the hidden space: removed units give 0
  var_t keep_hidden_units(const var_t& x, const mask_context& mc) const {
    if constexpr (Mask::active) return autodiff::mul(x, var_t(mc.hidden_keep.clone()));
    else { (void)mc; return x; }
  }

  template <class Drop>
  var_t apply_head(const var_t& h, const device_input<B>& in, const std::vector<std::int32_t>& predict_rows, Drop& drop, double p,
                   const mask_context& mc) const {
    const family_spec& f = spec();
    switch (head_) {
      case head_kind::base: return h;
      case head_kind::sequence_classification: {
        var_t x = pool(h, in.pooled_rows);
        if (head_params_.pooler.w.defined()) x = keep_hidden_units(autodiff::tanh(autodiff::linear(x, head_params_.pooler.w, head_params_.pooler.b)), mc);
        if (head_params_.dense.w.defined()) x = keep_hidden_units(autodiff::tanh(autodiff::linear(drop(x, p), head_params_.dense.w, head_params_.dense.b)), mc);
        if (f.classifier_dropout) x = drop(x, p);
        return autodiff::linear(x, head_params_.out.w, head_params_.out.b);
      }
      case head_kind::token_classification: return autodiff::linear(drop(h, p), head_params_.out.w, head_params_.out.b);
      case head_kind::masked_lm: {
        const var_t rows = predict_rows.empty() ? h : gather_rows(h, predict_rows);
        var_t x = autodiff::activation(act_, autodiff::linear(rows, head_params_.dense.w, head_params_.dense.b));
        return autodiff::linear(norm_layer(x, head_params_.norm, mc), token_embedding_, head_params_.out.b);
      }
      case head_kind::causal_lm: return autodiff::linear(h, config_.tie_word_embeddings ? token_embedding_ : head_params_.out.w);
    }
    return h;
  }

  // The head's parameters: the output (and its dense / pooler / norm where the head has them).
  struct head_params {
    weight_bias pooler, dense, norm, out;
  };

  io::model_config config_;
  const family_spec* spec_;
  head_kind head_;
  std::uint64_t seed_;
  bool uninitialised_ = false;
  matrix_dtype matrices_ = matrix_dtype::compute;
  math::unary_op act_;
  mask_storage masks_;
  std::vector<layer> layers_;
  param_t token_embedding_, position_embedding_, token_type_embedding_;
  weight_bias embedding_norm_, final_norm_;
  head_params head_params_;
  std::vector<std::pair<std::string, param_t>> params_;
  std::map<std::string, std::size_t> by_name_;
  std::vector<frozen_slot> frozen_;
  std::function<param_t(const std::string&)> shared_from_;  // while a sharing constructor builds: the weight of that name
};

// basic_transformer whose config must be of Family (any family for nn::any_family).
template <class Family, class Mask = masks::none, class B = cpu, class T = float>
class transformer : public basic_transformer<Mask, B, T> {
  using base = basic_transformer<Mask, B, T>;

 public:
  using family_type = Family;
  using typename base::mask_options;

  transformer(io::model_config config, head_kind head, std::uint64_t seed = 1, const mask_options& mask_opt = mask_options::defaults())
      : base(checked(std::move(config)), head, seed, mask_opt) {}
  transformer(io::model_config config, head_kind head, for_loading_t tag, std::uint64_t seed = 1,
              const mask_options& mask_opt = mask_options::defaults())
      : base(checked(std::move(config)), head, tag, seed, mask_opt) {}
  template <class OtherMask>
  transformer(sharing_weights_t tag, const transformer<Family, OtherMask, B, T>& from, std::uint64_t seed = 1,
              const mask_options& mask_opt = mask_options::defaults())
      : base(tag, from, seed, mask_opt) {}

 private:
  static io::model_config checked(io::model_config c) {
    if (!accepts<Family>(c.family))
      throw vtrans::usage_error("transformer<" + family_label<Family>() + ">: config is for model_type " + std::string(c.family.name()));
    return c;
  }
};

}  // namespace vtrans::nn
