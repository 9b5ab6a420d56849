#pragma once
// Hugging Face config.json of every family in nn/families.hpp: parsed into one model_config with the
// defaults of transformers' config classes (the family's config_schema), per-layer sizes from
// "pruned_heads" and "per_layer_config", sliding windows by the family's window rule, and written
// back in the family's own key spelling. Unknown keys are kept in `raw` and round-trip.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vtrans/io/atomic_file.hpp"
#include "vtrans/io/errors.hpp"
#include "vtrans/io/family.hpp"
#include "vtrans/nn/families.hpp"
#include "vtrans/io/json.hpp"
#include "vtrans/tensor/shape.hpp"

namespace vtrans::io {

// The sizes of one transformer layer; they differ between layers once a model is pruned.
struct layer_sizes {
  index heads = 0;         // query heads
  index kv_heads = 0;      // key/value heads (= heads without grouped-query attention)
  index intermediate = 0;  // FFN width
  bool has_attention = true;
  bool has_mlp = true;
  index window = 0;        // attention sees at most this many keys ending at the query (0: all)

  friend bool operator==(const layer_sizes& a, const layer_sizes& b) {
    return a.heads == b.heads && a.kv_heads == b.kv_heads && a.intermediate == b.intermediate &&
           a.has_attention == b.has_attention && a.has_mlp == b.has_mlp && a.window == b.window;
  }
  friend bool operator!=(const layer_sizes& a, const layer_sizes& b) { return !(a == b); }
};

struct model_config {
  io::family family;       // the family's description (nn/families/)
  std::string model_type;  // as in the file; always family.name()
  std::vector<std::string> architectures;
  index vocab_size = 0;
  index hidden_size = 0;
  index num_layers = 0;
  index num_heads = 0;          // global value; layers[i].heads is what a layer really has
  index num_kv_heads = 0;       // = num_heads without grouped-query attention
  index head_dim = 0;           // hidden / heads unless config.json sets head_dim
  index intermediate_size = 0;  // global value
  index max_positions = 0;      // rows of the position table (RoBERTa: 514, of which 2 unusable)
  index type_vocab_size = 0;    // 0 where the family has no segment embeddings
  double norm_eps = 0;
  std::string activation;
  index pad_token_id = -1;  // -1: not set
  index bos_token_id = -1;
  index eos_token_id = -1;  // the first one where the file lists several
  double rope_theta = 0;    // 0 for families without RoPE
  bool tie_word_embeddings = true;
  bool attention_bias = false;  // config.json's booleans (families whose projections follow them)
  bool mlp_bias = false;
  index num_labels = 2;
  std::vector<std::string> id2label;  // id -> label, size num_labels
  std::string problem_type;           // "" when unset
  double initializer_range = 0.02;
  std::vector<layer_sizes> layers;  // size num_layers
  nlohmann::json raw = nlohmann::json::object();  // the parsed file, for keys we do not model

  const nn::family_spec& spec() const { return family.spec(); }

  // Equality of everything modelled; `raw` is not compared.
  friend bool operator==(const model_config& a, const model_config& b) {
    return a.family == b.family && a.model_type == b.model_type && a.architectures == b.architectures &&
           a.vocab_size == b.vocab_size && a.hidden_size == b.hidden_size && a.num_layers == b.num_layers &&
           a.num_heads == b.num_heads && a.num_kv_heads == b.num_kv_heads && a.head_dim == b.head_dim &&
           a.intermediate_size == b.intermediate_size && a.max_positions == b.max_positions &&
           a.type_vocab_size == b.type_vocab_size && a.norm_eps == b.norm_eps && a.activation == b.activation &&
           a.pad_token_id == b.pad_token_id && a.bos_token_id == b.bos_token_id && a.eos_token_id == b.eos_token_id &&
           a.rope_theta == b.rope_theta && a.tie_word_embeddings == b.tie_word_embeddings &&
           a.attention_bias == b.attention_bias && a.mlp_bias == b.mlp_bias && a.num_labels == b.num_labels &&
           a.id2label == b.id2label && a.problem_type == b.problem_type &&
           a.initializer_range == b.initializer_range && a.layers == b.layers;
  }
  friend bool operator!=(const model_config& a, const model_config& b) { return !(a == b); }
};

// Whether a tensor with this bias rule has a bias under the config.
inline bool has_bias(const model_config& c, nn::bias b) {
  switch (b) {
    case nn::bias::none: return false;
    case nn::bias::always: return true;
    case nn::bias::attention_bias: return c.attention_bias;
    case nn::bias::mlp_bias: return c.mlp_bias;
  }
  return false;
}

// Longest input the position table allows: RoBERTa's positions start after the padding index.
inline index max_sequence_length(const model_config& c) {
  if (c.spec().positions == nn::position_kind::learned_after_padding && c.pad_token_id >= 0)
    return std::max<index>(0, c.max_positions - c.pad_token_id - 1);
  return c.max_positions;
}

namespace detail {

// Above any real model; keeps a corrupt file from requesting a huge per-layer vector.
inline constexpr index config_max_layers = 100000;
inline constexpr std::uint64_t config_max_value = std::uint64_t{1} << 40;
// Caps on the sizes a model is allocated by, each far above any released model (vocabularies
// reach 2^18, hidden sizes 2^14 - 2^15, FFN widths 2^16 - 2^17, position tables 2^20), so a
// corrupt or mistyped value is refused before it sizes a table.
inline constexpr index config_max_vocab = index{1} << 24;
inline constexpr index config_max_hidden = index{1} << 17;
inline constexpr index config_max_intermediate = index{1} << 20;
inline constexpr index config_max_heads = index{1} << 14;
inline constexpr index config_max_positions = index{1} << 24;

// Typed access to config keys; every error names the file and the key.
class config_reader {
 public:
  config_reader(const nlohmann::json& j, const std::string& source) : j_(j), src_(source) {}

  [[noreturn]] void bad(const std::string& key, const std::string& what) const {
    fail(src_, "key " + quote(key) + " " + what);
  }
  bool present(const std::string& key) const {
    auto it = j_.find(key);
    return it != j_.end() && !it->is_null();
  }
  const nlohmann::json* get(const std::string& key) const {
    auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  std::optional<index> opt_int(const std::string& key, index min_value) const {
    const nlohmann::json* v = get(key);
    if (!v) return std::nullopt;
    return as_int(key, *v, min_value);
  }
  index as_int(const std::string& key, const nlohmann::json& v, index min_value) const {
    if (!v.is_number_integer()) bad(key, "must be an integer, got " + std::string(v.type_name()) + " " + show(v));
    // No real size or id comes near 2^40; the cap also keeps later arithmetic (4 * n_embd) from overflowing.
    if ((v.is_number_unsigned() && v.get<std::uint64_t>() > config_max_value) ||
        (!v.is_number_unsigned() && v.get<std::int64_t>() > static_cast<std::int64_t>(config_max_value)))
      bad(key, "is implausibly large: " + show(v));
    const index x = v.get<index>();
    if (x < min_value) bad(key, "must be at least " + std::to_string(min_value) + ", got " + std::to_string(x));
    return x;
  }
  index int_or(const std::string& key, index def, index min_value) const { return opt_int(key, min_value).value_or(def); }
  // Whether the file holds the key at all (null included).
  bool has(const std::string& key) const { return j_.contains(key); }

  // An integer under either of two spellings (GPT-2's attribute_map: n_embd <-> hidden_size).
  index int_alias_or(const std::string& key, const std::string& alias, index def, index min_value) const {
    auto a = opt_int(key, min_value);
    auto b = opt_int(alias, min_value);
    if (a && b && *a != *b)
      fail(src_, "keys " + quote(key) + " (" + std::to_string(*a) + ") and " + quote(alias) + " (" + std::to_string(*b) +
                     ") disagree");
    return a ? *a : b ? *b : def;
  }
  index int_key(const nn::config_key<index>& k, index min_value) const {
    return k.alias.empty() ? int_or(std::string(k.name), k.fallback, min_value)
                           : int_alias_or(std::string(k.name), std::string(k.alias), k.fallback, min_value);
  }
  double number_or(const std::string& key, double def) const {
    const nlohmann::json* v = get(key);
    if (!v) return def;
    if (!v->is_number()) bad(key, "must be a number, got " + std::string(v->type_name()) + " " + show(*v));
    return v->get<double>();
  }
  bool bool_or(const std::string& key, bool def) const {
    const nlohmann::json* v = get(key);
    if (!v) return def;
    if (!v->is_boolean()) bad(key, "must be true or false, got " + std::string(v->type_name()) + " " + show(*v));
    return v->get<bool>();
  }
  std::string string_or(const std::string& key, const std::string& def) const {
    const nlohmann::json* v = get(key);
    if (!v) return def;
    if (!v->is_string()) bad(key, "must be a string, got " + std::string(v->type_name()) + " " + show(*v));
    return v->get<std::string>();
  }
  // Special token ids: absent -> the class default, null or -1 -> unset (-1), a list -> its first id.
  index token_id(const std::string& key, index def) const {
    auto it = j_.find(key);
    if (it == j_.end()) return def;
    if (it->is_null()) return -1;
    if (it->is_array()) {
      for (const auto& e : *it) as_int(key, e, 0);
      return it->empty() ? -1 : as_int(key, it->front(), 0);
    }
    return as_int(key, *it, -1);
  }
  const std::string& source() const { return src_; }

 private:
  const nlohmann::json& j_;
  const std::string& src_;
};

// A decimal layer or label index written as a JSON object key ("5", "05").
inline index key_index(const std::string& src, const std::string& where, const std::string& key, index limit) {
  bool digits = !key.empty() && key.size() <= 18;
  for (char c : key) digits = digits && c >= '0' && c <= '9';
  if (!digits) fail(src, where + " key " + quote(key) + " is not a non-negative integer");
  const index v = std::stoll(key);
  if (v >= limit) fail(src, where + " key " + quote(key) + " is out of range (must be below " + std::to_string(limit) + ")");
  return v;
}

inline void parse_rope(const config_reader& r, model_config& c, double default_theta) {
  const std::string& src = r.source();
  std::optional<double> top;
  if (r.present("rope_theta")) top = r.number_or("rope_theta", 0);
  std::optional<double> inner;
  // transformers v5 keeps rope_theta inside rope_parameters; v4 files have rope_scaling beside it.
  for (const char* key : {"rope_parameters", "rope_scaling"}) {
    const nlohmann::json* p = r.get(key);
    if (!p) continue;
    if (!p->is_object()) r.bad(key, "must be an object, got " + std::string(p->type_name()));
    std::string type = "default";
    for (const char* tk : {"rope_type", "type"}) {
      auto t = p->find(tk);
      if (t == p->end() || t->is_null()) continue;
      if (!t->is_string()) fail(src, std::string("key \"") + key + "." + tk + "\" must be a string, got " + show(*t));
      type = t->get<std::string>();
    }
    if (type != "default")
      fail(src, std::string("key \"") + key + "\" asks for RoPE type " + quote(type) +
                    ", which vtrans does not support (only \"default\")");
    auto th = p->find("rope_theta");
    if (th != p->end() && !th->is_null()) {
      if (!th->is_number()) fail(src, std::string("key \"") + key + ".rope_theta\" must be a number, got " + show(*th));
      inner = th->get<double>();
    }
  }
  if (top && inner && *top != *inner)
    fail(src, "\"rope_theta\" (" + show(*top) + ") and \"rope_parameters.rope_theta\" (" + show(*inner) + ") disagree");
  c.rope_theta = inner ? *inner : top ? *top : default_theta;
  if (!(c.rope_theta > 0)) fail(src, "key \"rope_theta\" must be positive, got " + show(c.rope_theta));
}

inline void parse_labels(const config_reader& r, model_config& c) {
  const std::string& src = r.source();
  if (const nlohmann::json* m = r.get("id2label")) {
    if (!m->is_object()) r.bad("id2label", "must be an object, got " + std::string(m->type_name()));
    const index n = static_cast<index>(m->size());
    c.id2label.assign(static_cast<std::size_t>(n), std::string());
    std::vector<bool> seen(static_cast<std::size_t>(n), false);
    for (auto it = m->begin(); it != m->end(); ++it) {
      const index id = key_index(src, "id2label", it.key(), n);
      if (seen[static_cast<std::size_t>(id)]) fail(src, "id2label repeats id " + std::to_string(id));
      seen[static_cast<std::size_t>(id)] = true;
      if (!it.value().is_string())
        fail(src, "id2label entry " + quote(it.key()) + " must be a string, got " + show(it.value()));
      c.id2label[static_cast<std::size_t>(id)] = it.value().get<std::string>();
    }
    c.num_labels = n;
    if (auto given = r.opt_int("num_labels", 0); given && *given != n)
      fail(src, "key \"num_labels\" (" + std::to_string(*given) + ") disagrees with the " + std::to_string(n) +
                    " entries of \"id2label\"");
  } else {
    c.num_labels = r.int_or("num_labels", 2, 0);
    if (c.num_labels > 1000000) r.bad("num_labels", "is implausibly large: " + std::to_string(c.num_labels));
    for (index i = 0; i < c.num_labels; ++i) c.id2label.push_back("LABEL_" + std::to_string(i));
  }
  if (const nlohmann::json* m = r.get("label2id")) {
    if (!m->is_object()) r.bad("label2id", "must be an object, got " + std::string(m->type_name()));
    for (auto it = m->begin(); it != m->end(); ++it)
      if (!it.value().is_number_integer())
        fail(src, "label2id entry " + quote(it.key()) + " must be an integer, got " + show(it.value()));
  }
  c.problem_type = r.string_or("problem_type", "");
  if (!c.problem_type.empty() && c.problem_type != "regression" && c.problem_type != "single_label_classification" &&
      c.problem_type != "multi_label_classification")
    r.bad("problem_type", "has unknown value " + quote(c.problem_type));
}

inline void parse_layers(const config_reader& r, model_config& c) {
  const std::string& src = r.source();
  const nn::config_schema& k = c.spec().config;
  const bool gqa = c.spec().grouped_query();
  c.layers.assign(static_cast<std::size_t>(c.num_layers),
                  layer_sizes{c.num_heads, c.num_kv_heads, c.intermediate_size, true, true, 0});
  // A per-layer key may use the family's spelling, its alias, or the usual Hugging Face name.
  const auto spelled = [](const std::string& key, const nn::config_key<index>& field, const char* usual) {
    return key == usual || (field.present() && (key == field.name || key == field.alias));
  };

  if (const nlohmann::json* plc = r.get("per_layer_config")) {
    if (!plc->is_object()) r.bad("per_layer_config", "must be an object, got " + std::string(plc->type_name()));
    for (auto it = plc->begin(); it != plc->end(); ++it) {
      const index li = key_index(src, "per_layer_config", it.key(), c.num_layers);
      const std::string where = "per_layer_config[" + quote(it.key()) + "]";
      if (!it.value().is_object()) fail(src, where + " must be an object, got " + show(it.value()));
      layer_sizes& L = c.layers[static_cast<std::size_t>(li)];
      std::optional<index> heads, kv, inter;
      for (auto f = it.value().begin(); f != it.value().end(); ++f) {
        const std::string& key = f.key();
        const std::string fw = where + "." + key;
        auto positive = [&](index max_value) {
          if (!f.value().is_number_integer() || f.value().get<index>() < 0 || f.value().get<index>() > max_value)
            fail(src, fw + " must be an integer in [0, " + std::to_string(max_value) + "], got " + show(f.value()));
          return f.value().get<index>();
        };
        if (spelled(key, k.num_heads, "num_attention_heads")) {
          heads = positive(config_max_heads);
        } else if (gqa && spelled(key, k.num_kv_heads, "num_key_value_heads")) {
          kv = positive(config_max_heads);  // 0 only with "skip": ["attention"] (checked below), as to_json writes it
        } else if (spelled(key, k.intermediate_size, "intermediate_size")) {
          inter = positive(config_max_intermediate);
        } else if (key == "skip") {
          if (f.value().is_null()) continue;
          if (!f.value().is_array()) fail(src, fw + " must be a list, got " + show(f.value()));
          for (const auto& s : f.value()) {
            const std::string name = s.is_string() ? s.get<std::string>() : std::string();
            if (name == "attention" || name == "self_attn") L.has_attention = false;
            else if (name == "mlp") L.has_mlp = false;
            else fail(src, fw + " has unknown entry " + show(s) + " (expected \"attention\" or \"mlp\")");
          }
        } else {
          // A per-layer key we cannot honour would silently build the wrong model.
          fail(src, where + " has unsupported key " + quote(key));
        }
      }
      if (heads) {
        L.heads = *heads;
        if (!gqa) L.kv_heads = *heads;
      }
      if (kv) L.kv_heads = *kv;
      if (inter) L.intermediate = *inter;
    }
  }

  if (const nlohmann::json* ph = r.get("pruned_heads")) {
    if (!ph->is_object()) r.bad("pruned_heads", "must be an object, got " + std::string(ph->type_name()));
    if (!ph->empty() && gqa)
      r.bad("pruned_heads", "is not supported for " + c.model_type + " (grouped-query attention); use per_layer_config");
    for (auto it = ph->begin(); it != ph->end(); ++it) {
      const index li = key_index(src, "pruned_heads", it.key(), c.num_layers);
      const std::string where = "pruned_heads[" + quote(it.key()) + "]";
      if (!it.value().is_array()) fail(src, where + " must be a list of head indices, got " + show(it.value()));
      layer_sizes& L = c.layers[static_cast<std::size_t>(li)];
      std::set<index> removed;  // transformers treats the list as a set
      for (const auto& h : it.value()) {
        if (!h.is_number_integer() || h.get<index>() < 0 || h.get<index>() >= L.heads)
          fail(src, where + " has head " + show(h) + ", not in 0.." + std::to_string(L.heads - 1));
        removed.insert(h.get<index>());
      }
      L.heads -= static_cast<index>(removed.size());
      L.kv_heads = L.heads;
    }
  }

  for (std::size_t i = 0; i < c.layers.size(); ++i) {
    const layer_sizes& L = c.layers[i];
    if (gqa && L.has_attention && (L.kv_heads <= 0 || L.heads % L.kv_heads != 0))
      fail(src, "layer " + std::to_string(i) + ": " + std::to_string(L.kv_heads) + " key/value heads do not divide " +
                    std::to_string(L.heads) + " attention heads");
  }
}

// "sliding_window": absent -> the family's default, null -> no window (0).
inline index sliding_window_of(const config_reader& r, const nn::config_schema& k) {
  if (!r.has("sliding_window")) return k.sliding_window;
  return r.opt_int("sliding_window", 1).value_or(0);
}

// Per-layer attention windows by the family's rule (nn::window_rule).
inline void parse_windows(const config_reader& r, model_config& c) {
  const nn::config_schema& k = c.spec().config;
  switch (c.spec().windows) {
    case nn::window_rule::none: return;
    case nn::window_rule::every_layer: {
      const index w = sliding_window_of(r, k);
      for (auto& L : c.layers) L.window = w;
      return;
    }
    case nn::window_rule::upper_layers: {
      // transformers: sliding_window = None unless use_sliding_window; then the layers that
      // "layer_types" marks "sliding_attention", or by default those from max_window_layers up.
      const bool use = r.bool_or("use_sliding_window", false);
      const index w = sliding_window_of(r, k);
      const index first = r.int_or("max_window_layers", k.max_window_layers, 0);
      std::vector<bool> sliding(c.layers.size());
      for (std::size_t i = 0; i < sliding.size(); ++i) sliding[i] = index(i) >= first;
      if (const nlohmann::json* types = r.get("layer_types")) {
        if (!types->is_array() || types->size() != c.layers.size())
          r.bad("layer_types", "must be a list of " + std::to_string(c.layers.size()) + " layer types, got " + show(*types));
        for (std::size_t i = 0; i < sliding.size(); ++i) {
          const nlohmann::json& t = (*types)[i];
          if (t != "full_attention" && t != "sliding_attention")
            fail(r.source(), "layer_types[" + std::to_string(i) + "] is " + show(t) +
                                 ", which vtrans does not support (\"full_attention\" or \"sliding_attention\")");
          sliding[i] = t == "sliding_attention";
        }
      }
      for (std::size_t i = 0; i < sliding.size(); ++i) c.layers[i].window = use && sliding[i] ? w : 0;
      return;
    }
  }
}

// Sizes, norms, activation, special tokens and biases from the family's keys and defaults.
inline void parse_sizes(const config_reader& r, model_config& c) {
  const nn::family_spec& f = c.spec();
  const nn::config_schema& k = f.config;
  const std::string& src = r.source();
  c.vocab_size = r.int_key(k.vocab_size, 1);
  c.hidden_size = r.int_key(k.hidden_size, 1);
  c.num_layers = r.int_key(k.num_layers, 0);
  c.num_heads = r.int_key(k.num_heads, 1);
  c.num_kv_heads = c.num_heads;
  if (f.grouped_query()) {
    const std::string key(k.num_kv_heads.name);
    const index fallback = k.num_kv_heads.fallback > 0 && !r.has(key) ? k.num_kv_heads.fallback : c.num_heads;  // null: heads
    c.num_kv_heads = r.opt_int(key, 1).value_or(fallback);
    if (c.num_heads % c.num_kv_heads != 0)
      fail(src, key + " (" + std::to_string(c.num_kv_heads) + ") does not divide num_attention_heads (" + std::to_string(c.num_heads) + ")");
  }
  if (k.intermediate_per_hidden > 0)
    c.intermediate_size = r.opt_int(std::string(k.intermediate_size.name), 0).value_or(k.intermediate_per_hidden * c.hidden_size);
  else
    c.intermediate_size = r.int_key(k.intermediate_size, 0);
  c.activation = r.string_or(std::string(k.activation.name), std::string(k.activation.fallback));
  c.max_positions = r.int_key(k.max_positions, 0);
  c.type_vocab_size = k.type_vocab_size.present() ? r.int_key(k.type_vocab_size, 0) : 0;
  c.norm_eps = r.number_or(std::string(k.norm_eps.name), k.norm_eps.fallback);
  c.pad_token_id = r.token_id("pad_token_id", k.pad_token_id);
  c.bos_token_id = r.token_id("bos_token_id", k.bos_token_id);
  c.eos_token_id = r.token_id("eos_token_id", k.eos_token_id);
  c.tie_word_embeddings = r.bool_or("tie_word_embeddings", k.tie_word_embeddings);
  c.attention_bias = k.attention_bias.present() && r.bool_or(std::string(k.attention_bias.name), k.attention_bias.fallback);
  c.mlp_bias = k.mlp_bias.present() && r.bool_or(std::string(k.mlp_bias.name), k.mlp_bias.fallback);
  if (f.positions == nn::position_kind::rotary) parse_rope(r, c, k.rope_theta);
  if (c.num_layers > config_max_layers) fail(src, "number of layers " + std::to_string(c.num_layers) + " is implausibly large");
  const auto at_most = [&](std::string_view key, index v, index cap) {
    if (v > cap)
      fail(src, "key " + quote(key) + " is " + std::to_string(v) + ", above the limit of " + std::to_string(cap) + " (no real model comes near it)");
  };
  at_most(k.vocab_size.name, c.vocab_size, config_max_vocab);
  at_most(k.hidden_size.name, c.hidden_size, config_max_hidden);
  at_most(k.intermediate_size.name, c.intermediate_size, config_max_intermediate);
  at_most(k.num_heads.name, c.num_heads, config_max_heads);
  at_most(k.max_positions.name, c.max_positions, config_max_positions);
  if (c.num_layers < 1) fail(src, "key " + quote(k.num_layers.name) + " must be at least 1, got " + std::to_string(c.num_layers));
  if (!(c.norm_eps > 0) || !std::isfinite(c.norm_eps))  // 0 divides by zero on a constant row; < 0 gives NaN
    fail(src, "key " + quote(k.norm_eps.name) + " must be a positive finite number, got " + std::to_string(c.norm_eps));
  // "head_dim": read by transformers for some families; for the others a vtrans extension that
  // keeps a pruned hidden size (no longer heads * head_dim) readable.
  if (auto hd = r.opt_int("head_dim", 1)) {
    at_most("head_dim", *hd, config_max_hidden);
    c.head_dim = *hd;
  } else {
    if (c.hidden_size % c.num_heads != 0)
      fail(src, "hidden size " + std::to_string(c.hidden_size) + " is not divisible by the " + std::to_string(c.num_heads) +
                    " attention heads");
    c.head_dim = c.hidden_size / c.num_heads;
  }
}

}  // namespace detail

// Parse a config.json already read as JSON. source_name appears in every error message.
inline model_config parse_config(const nlohmann::json& j, const std::string& source_name = "config.json") {
  const std::string& src = source_name;
  if (!j.is_object()) detail::fail(src, "config must be a JSON object, got " + std::string(j.type_name()));
  if (detail::json_deeper_than(j, 64)) detail::fail(src, "config nests deeper than 64 levels");
  detail::config_reader r(j, src);
  model_config c;
  c.raw = j;

  auto mt = j.find("model_type");
  if (mt == j.end() || mt->is_null()) detail::fail(src, "missing \"model_type\" (expected " + nn::family_names() + ")");
  if (!mt->is_string()) r.bad("model_type", "must be a string, got " + detail::show(*mt));
  c.model_type = mt->get<std::string>();
  auto fam = nn::find_family(c.model_type);
  if (!fam) detail::fail(src, "unknown model_type " + detail::quote(c.model_type) + " (expected " + nn::family_names() + ")");
  c.family = *fam;

  if (const nlohmann::json* a = r.get("architectures")) {
    if (!a->is_array()) r.bad("architectures", "must be a list of strings, got " + std::string(a->type_name()));
    for (const auto& s : *a) {
      if (!s.is_string()) r.bad("architectures", "must be a list of strings, has " + detail::show(s));
      c.architectures.push_back(s.get<std::string>());
    }
  }
  c.initializer_range = r.number_or("initializer_range", 0.02);
  detail::parse_sizes(r, c);
  detail::parse_labels(r, c);
  detail::parse_layers(r, c);
  detail::parse_windows(r, c);
  return c;
}

// The defaults of transformers' config class for a family, as if config.json held only model_type.
inline model_config default_config(io::family f) {
  return parse_config(nlohmann::json{{"model_type", std::string(f.name())}}, "default " + std::string(f.name()) + " config");
}

// Read config.json; path may also be the model folder holding it.
inline model_config load_config(const std::string& path) {
  std::string file = path;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) file = (std::filesystem::path(path) / "config.json").string();
  return parse_config(read_json_file(file), file);
}

namespace detail {

// Writes the sliding windows back under the family's rule; throws when the rule cannot express them.
inline void write_windows(const model_config& c, const nlohmann::json& raw, nlohmann::json& j) {
  const std::string src = "model_config";
  std::set<index> sizes;
  for (const auto& L : c.layers)
    if (L.window > 0) sizes.insert(L.window);
  if (sizes.size() > 1) fail(src, "layers have different sliding windows, which " + c.model_type + "'s config.json cannot express");
  const index w = sizes.empty() ? 0 : *sizes.begin();
  switch (c.spec().windows) {
    case nn::window_rule::none:
      if (w > 0) fail(src, c.model_type + " has no sliding-window attention");
      return;
    case nn::window_rule::every_layer:
      for (const auto& L : c.layers)
        if (L.window != w) fail(src, "only some layers have a sliding window, which " + c.model_type + "'s config.json cannot express");
      j["sliding_window"] = w > 0 ? nlohmann::json(w) : nlohmann::json(nullptr);
      return;
    case nn::window_rule::upper_layers: {
      if (w == 0) {
        if (raw.contains("use_sliding_window")) j["use_sliding_window"] = false;
        return;
      }
      j["use_sliding_window"] = true;
      j["sliding_window"] = w;
      std::size_t first = 0;
      while (first < c.layers.size() && c.layers[first].window == 0) ++first;
      bool suffix = true;
      for (std::size_t i = first; i < c.layers.size(); ++i) suffix = suffix && c.layers[i].window > 0;
      if (suffix) j["max_window_layers"] = first;
      if (!suffix || raw.contains("layer_types")) {
        nlohmann::json types = nlohmann::json::array();
        for (const auto& L : c.layers) types.push_back(L.window > 0 ? "sliding_attention" : "full_attention");
        j["layer_types"] = types;
      }
      return;
    }
  }
}

}  // namespace detail

// Per-layer sizes are written against the config's own global fields (num_heads, num_kv_heads,
// intermediate_size): parse_config(to_json(c)) == c exactly. Call use_most_common_layer_sizes first
// to make the globals the most common per-layer values, which gives the sparsest per_layer_config and a
// stock config whenever every layer was pruned alike.
inline nlohmann::json to_json(const model_config& c) {
  const std::string src = "model_config";
  const nn::family_spec& f = c.spec();
  const nn::config_schema& k = f.config;
  const bool gqa = f.grouped_query();
  if (c.layers.size() != static_cast<std::size_t>(c.num_layers))
    detail::fail(src, "has " + std::to_string(c.layers.size()) + " layer entries for num_layers = " + std::to_string(c.num_layers));
  if (c.num_heads <= 0 || c.hidden_size <= 0 || c.num_kv_heads <= 0)
    detail::fail(src, "hidden size, heads and key/value heads must be positive");
  const bool implied_head_dim = c.hidden_size % c.num_heads == 0 && c.hidden_size / c.num_heads == c.head_dim;
  if (!gqa && c.num_kv_heads != c.num_heads)
    detail::fail(src, c.model_type + " has no grouped-query attention: num_kv_heads must equal num_heads");

  nlohmann::json j = c.raw.is_object() ? c.raw : nlohmann::json::object();
  const nlohmann::json raw = j;
  const auto had = [&](std::string_view key) {
    const auto it = raw.find(std::string(key));
    return it != raw.end() && !it->is_null();
  };
  // Heads removed by "pruned_heads" are already in `layers`; writing the list again would prune twice.
  j.erase("pruned_heads");
  j.erase("per_layer_config");
  // a key in the family's spelling; the other spelling goes
  const auto put = [&](const auto& key, const nlohmann::json& value) {
    if (!key.alias.empty()) j.erase(std::string(key.alias));
    j[std::string(key.name)] = value;
  };

  j["model_type"] = std::string(f.model_type);
  if (!c.architectures.empty()) j["architectures"] = c.architectures;
  else j.erase("architectures");
  put(k.vocab_size, c.vocab_size);
  j["initializer_range"] = c.initializer_range;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  const auto token = [&](const char* key, index id) {
    // Keep a list of ids (LLaMA 3's eos) when its first entry is still the id we hold.
    if (raw.contains(key) && raw[key].is_array() && !raw[key].empty() && raw[key].front() == id) return;
    j[key] = id >= 0 ? nlohmann::json(id) : nlohmann::json(nullptr);
  };
  token("pad_token_id", c.pad_token_id);
  token("bos_token_id", c.bos_token_id);
  token("eos_token_id", c.eos_token_id);

  put(k.hidden_size, c.hidden_size);
  put(k.num_layers, c.num_layers);
  put(k.num_heads, c.num_heads);
  if (gqa) put(k.num_kv_heads, c.num_kv_heads);
  const bool implied_ffn = k.intermediate_per_hidden > 0 && c.intermediate_size == k.intermediate_per_hidden * c.hidden_size;
  put(k.intermediate_size, implied_ffn && !had(k.intermediate_size.name) ? nlohmann::json(nullptr) : nlohmann::json(c.intermediate_size));
  put(k.activation, c.activation);
  put(k.max_positions, c.max_positions);
  if (k.type_vocab_size.present()) put(k.type_vocab_size, c.type_vocab_size);
  put(k.norm_eps, c.norm_eps);
  if (k.attention_bias.present()) put(k.attention_bias, c.attention_bias);
  if (k.mlp_bias.present()) put(k.mlp_bias, c.mlp_bias);
  if (!implied_head_dim || had("head_dim")) j["head_dim"] = c.head_dim;
  if (f.positions == nn::position_kind::rotary) {
    if (had("rope_parameters") && raw["rope_parameters"].is_object()) {
      j["rope_parameters"]["rope_theta"] = c.rope_theta;
      if (had("rope_theta")) j["rope_theta"] = c.rope_theta;
    } else {
      j["rope_theta"] = c.rope_theta;
    }
  }
  detail::write_windows(c, raw, j);

  // Labels: written when the file had them or they differ from transformers' two LABEL_i defaults.
  std::vector<std::string> labels = c.id2label;
  if (labels.empty())
    for (index i = 0; i < c.num_labels; ++i) labels.push_back("LABEL_" + std::to_string(i));
  if (static_cast<index>(labels.size()) != c.num_labels)
    detail::fail(src, "has " + std::to_string(labels.size()) + " id2label entries for num_labels = " + std::to_string(c.num_labels));
  const bool default_labels = labels == std::vector<std::string>{"LABEL_0", "LABEL_1"};
  if (!default_labels || had("id2label") || had("label2id")) {
    nlohmann::json id2label = nlohmann::json::object(), label2id = nlohmann::json::object();
    for (std::size_t i = 0; i < labels.size(); ++i) {
      id2label[std::to_string(i)] = labels[i];
      label2id[labels[i]] = i;
    }
    j["id2label"] = id2label;
    j["label2id"] = label2id;
  }
  if (had("num_labels")) j["num_labels"] = c.num_labels;
  if (!c.problem_type.empty()) j["problem_type"] = c.problem_type;
  else if (raw.contains("problem_type")) j["problem_type"] = nullptr;

  nlohmann::json plc = nlohmann::json::object();
  for (std::size_t i = 0; i < c.layers.size(); ++i) {
    const layer_sizes& L = c.layers[i];
    if (!gqa && L.kv_heads != L.heads)
      detail::fail(src, "layer " + std::to_string(i) + ": " + c.model_type + " needs as many key/value heads as heads");
    nlohmann::json e = nlohmann::json::object();
    if (L.heads != c.num_heads) e[std::string(k.num_heads.name)] = L.heads;
    if (gqa && L.kv_heads != c.num_kv_heads) e[std::string(k.num_kv_heads.name)] = L.kv_heads;
    if (L.intermediate != c.intermediate_size) e[std::string(k.intermediate_size.name)] = L.intermediate;
    nlohmann::json skip = nlohmann::json::array();
    if (!L.has_attention) skip.push_back("attention");
    if (!L.has_mlp) skip.push_back("mlp");
    if (!skip.empty()) e["skip"] = skip;
    if (!e.empty()) plc[std::to_string(i)] = e;
  }
  if (!plc.empty()) j["per_layer_config"] = plc;
  return j;
}

// Set the global head, key/value head and FFN sizes to the most common per-layer values (ties: the
// smallest layer index wins). Heads stay as they are where transformers ignores "head_dim" (BERT,
// RoBERTa, GPT-2): there the global head count also fixes head_dim = hidden / heads.
inline void use_most_common_layer_sizes(model_config& c) {
  if (c.layers.empty()) return;
  const auto most_common = [&](index layer_sizes::*field) {
    std::map<index, std::pair<std::size_t, std::size_t>> count;  // value -> (count, first layer)
    for (std::size_t i = 0; i < c.layers.size(); ++i) {
      auto [it, inserted] = count.emplace(c.layers[i].*field, std::make_pair(std::size_t{0}, i));
      ++it->second.first;
    }
    index best = c.layers.front().*field;
    std::pair<std::size_t, std::size_t> best_key{0, 0};
    for (const auto& [value, cf] : count)
      if (cf.first > best_key.first || (cf.first == best_key.first && cf.second < best_key.second)) {
        best = value;
        best_key = cf;
      }
    return best;
  };
  c.intermediate_size = most_common(&layer_sizes::intermediate);
  if (c.spec().config.head_dim_honoured) {
    c.num_heads = most_common(&layer_sizes::heads);
    c.num_kv_heads = most_common(&layer_sizes::kv_heads);
  }
}

inline void save_config(const std::string& path, const model_config& c) {
  write_file_atomic(path, to_json(c).dump(2) + "\n");
}

}  // namespace vtrans::io
