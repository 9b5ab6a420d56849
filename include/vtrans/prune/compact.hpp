#pragma once
// compact(): turns a masked model into the smaller dense model it stands for. Every matrix is
// rebuilt without the removed units, the deterministic mask values (VIB's mu, CoFi's soft z) are
// folded into the weights that follow them, and removed attention/FFN sub-layers are dropped.
// With deterministic masks the two models compute the same function (tests/prune).
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "vtrans/nn/transformer.hpp"

namespace vtrans::prune {

// What survives of a masked model: kept unit indices and the values folded into the weights.
struct kept_units {
  std::vector<index> hidden;
  std::vector<double> hidden_scale;  // one per kept hidden unit
  struct layer {
    bool attention = false, mlp = false;
    std::vector<index> kv_heads;      // kept key/value groups (= heads without GQA)
    std::vector<double> head_scale;   // per kept group
    double attention_scale = 1, mlp_scale = 1;
    std::vector<index> intermediate;
    std::vector<double> intermediate_scale;
  };
  std::vector<layer> layers;
};

namespace detail {
template <class Unit>
void kept_of(const Unit& u, std::vector<index>& idx, std::vector<double>* scale) {
  const auto k = u.keep();
  const auto s = u.scale();
  for (std::size_t i = 0; i < k.size(); ++i)
    if (k[i]) {
      idx.push_back(index(i));
      if (scale) scale->push_back(s[i]);
    }
}
}  // namespace detail

template <class Model>
kept_units kept_of(const Model& m) {
  kept_units k;
  const auto& masks = m.masks();
  detail::kept_of(masks.hidden, k.hidden, &k.hidden_scale);
  const auto att_keep = masks.attention.keep(), mlp_keep = masks.mlp.keep();
  const auto att_scale = masks.attention.scale(), mlp_scale = masks.mlp.scale();
  for (std::size_t l = 0; l < m.layers().size(); ++l) {
    kept_units::layer L;
    const auto& size = m.layers()[l].size;
    if (size.has_attention) detail::kept_of(masks.heads[l], L.kv_heads, &L.head_scale);
    if (size.has_mlp) detail::kept_of(masks.intermediate[l], L.intermediate, &L.intermediate_scale);
    L.attention = size.has_attention && att_keep[l] && !L.kv_heads.empty();
    L.mlp = size.has_mlp && mlp_keep[l] && !L.intermediate.empty();
    L.attention_scale = att_scale[l];
    L.mlp_scale = mlp_scale[l];
    k.layers.push_back(std::move(L));
  }
  if (k.hidden.empty()) throw std::invalid_argument("compact: every hidden unit is removed");
  return k;
}

// The sizes of the compacted model.
inline io::model_config compacted_config(io::model_config c, const kept_units& k) {
  c.hidden_size = index(k.hidden.size());
  for (std::size_t l = 0; l < c.layers.size(); ++l) {
    auto& s = c.layers[l];
    const auto& L = k.layers[l];
    const index group = s.kv_heads > 0 ? s.heads / s.kv_heads : 1;
    s.has_attention = L.attention;
    s.has_mlp = L.mlp;
    s.kv_heads = L.attention ? index(L.kv_heads.size()) : 0;
    s.heads = s.kv_heads * group;
    s.intermediate = L.mlp ? index(L.intermediate.size()) : 0;
  }
  return c;
}

namespace detail {
// rows/cols of a host matrix picked and scaled (an empty index list keeps all, empty scales are 1)
template <class T>
std::vector<T> pick(const std::vector<T>& a, index rows, index cols, const std::vector<index>& r, const std::vector<double>& rs,
                    const std::vector<index>& c, const std::vector<double>& cs) {
  const index nr = r.empty() ? rows : index(r.size()), nc = c.empty() ? cols : index(c.size());
  std::vector<T> out(std::size_t(nr * nc));
  for (index i = 0; i < nr; ++i) {
    const index src_r = r.empty() ? i : r[std::size_t(i)];
    const double fr = rs.empty() ? 1.0 : rs[std::size_t(i)];
    for (index j = 0; j < nc; ++j) {
      const index src_c = c.empty() ? j : c[std::size_t(j)];
      const double fc = cs.empty() ? 1.0 : cs[std::size_t(j)];
      out[std::size_t(i * nc + j)] = static_cast<T>(a[std::size_t(src_r * cols + src_c)] * fr * fc);
    }
  }
  return out;
}
inline std::vector<double> times(const std::vector<double>& v, double f) {
  std::vector<double> out(v);
  for (auto& x : out) x *= f;
  return out;
}
// column (or row) indices of the kept heads: head h owns [h * hd, (h + 1) * hd)
inline std::vector<index> head_units(const std::vector<index>& heads, index group, index hd, index offset, const std::vector<double>* scale,
                                     std::vector<double>* unit_scale) {
  std::vector<index> out;
  for (std::size_t i = 0; i < heads.size(); ++i)
    for (index q = heads[i] * group; q < (heads[i] + 1) * group; ++q)
      for (index d = 0; d < hd; ++d) {
        out.push_back(offset + q * hd + d);
        if (unit_scale) unit_scale->push_back(scale ? (*scale)[i] : 1.0);
      }
  return out;
}
}  // namespace detail

template <class Family, class Mask, class B, class T>
nn::transformer<Family, masks::none, B, T> compact(const nn::transformer<Family, Mask, B, T>& m) {
  static_assert(Mask::active, "compact() takes a masked model");
  const kept_units k = kept_of(m);
  const io::model_config& old = m.config();
  nn::transformer<Family, masks::none, B, T> out(compacted_config(old, k), m.head());
  const std::vector<index>& K = k.hidden;
  const std::vector<double>& mu = k.hidden_scale;
  const std::vector<index> none;
  const std::vector<double> ones;
  const bool decoder = Family::final_norm;

  // copies parameter `name` with the given rows/cols (a vector is one column)
  std::set<std::string> assigned;
  auto move = [&](const std::string& name, const std::vector<index>& r, const std::vector<double>& rs, const std::vector<index>& c,
                  const std::vector<double>& cs) {
    if (!out.has_parameter(name)) return;
    assigned.insert(name);
    const auto& p = m.parameter(name);
    const shape& s = p.shape();
    const index rows = s[0], cols = s.rank() == 2 ? s[1] : 1;
    const auto v = detail::pick(p.value().to_host(), rows, cols, r, rs, c, cs);
    out.assign(name, tensor<T, B>::from_host(out.parameter(name).shape(), v));
  };
  auto vec = [&](const std::string& name, const std::vector<index>& r, const std::vector<double>& rs) { move(name, r, rs, none, ones); };

  const index hd = old.head_dim;

  if constexpr (Family::id == io::family::gpt2) {
    move("wte.weight", none, ones, K, mu);
    move("wpe.weight", none, ones, K, mu);
    vec("ln_f.weight", K, ones);
    vec("ln_f.bias", K, ones);
  } else if constexpr (Family::id == io::family::llama) {
    move("embed_tokens.weight", none, ones, K, mu);
    vec("norm.weight", K, ones);
  } else {
    for (const char* t : {"word_embeddings", "position_embeddings", "token_type_embeddings"})
      move(std::string("embeddings.") + t + ".weight", none, ones, K, mu);
    vec("embeddings.LayerNorm.weight", K, mu);
    vec("embeddings.LayerNorm.bias", K, mu);
  }

  for (std::size_t l = 0; l < k.layers.size(); ++l) {
    const auto& L = k.layers[l];
    const auto& s = old.layers[l];
    const std::string n = std::to_string(l);
    const index group = s.kv_heads > 0 ? s.heads / s.kv_heads : 1;
    const std::vector<double> out_scale_a = detail::times(mu, L.attention_scale), out_scale_f = detail::times(mu, L.mlp_scale);
    std::vector<double> head_col_scale, inter_scale = L.intermediate_scale;
    const auto q_units = detail::head_units(L.kv_heads, group, hd, 0, &L.head_scale, &head_col_scale);
    const auto kv_units = detail::head_units(L.kv_heads, 1, hd, 0, nullptr, nullptr);
    if constexpr (Family::id == io::family::gpt2) {
      const std::string p = "h." + n + ".";
      if (L.attention) {
        const index qw = s.heads * hd;
        std::vector<index> qkv = detail::head_units(L.kv_heads, 1, hd, 0, nullptr, nullptr);
        for (index part : {index(1), index(2)})
          for (index u : detail::head_units(L.kv_heads, 1, hd, part * qw, nullptr, nullptr)) qkv.push_back(u);
        vec(p + "ln_1.weight", K, ones);
        vec(p + "ln_1.bias", K, ones);
        move(p + "attn.c_attn.weight", qkv, ones, K, ones);
        vec(p + "attn.c_attn.bias", qkv, ones);
        move(p + "attn.c_proj.weight", K, out_scale_a, q_units, head_col_scale);
        vec(p + "attn.c_proj.bias", K, out_scale_a);
      }
      if (L.mlp) {
        vec(p + "ln_2.weight", K, ones);
        vec(p + "ln_2.bias", K, ones);
        move(p + "mlp.c_fc.weight", L.intermediate, ones, K, ones);
        vec(p + "mlp.c_fc.bias", L.intermediate, ones);
        move(p + "mlp.c_proj.weight", K, out_scale_f, L.intermediate, inter_scale);
        vec(p + "mlp.c_proj.bias", K, out_scale_f);
      }
    } else if constexpr (Family::id == io::family::llama) {
      const std::string p = "layers." + n + ".";
      if (L.attention) {
        const auto q_rows = detail::head_units(L.kv_heads, group, hd, 0, nullptr, nullptr);
        vec(p + "input_layernorm.weight", K, ones);
        move(p + "self_attn.q_proj.weight", q_rows, ones, K, ones);
        vec(p + "self_attn.q_proj.bias", q_rows, ones);
        for (const char* kv : {"k_proj", "v_proj"}) {
          move(p + "self_attn." + kv + ".weight", kv_units, ones, K, ones);
          vec(p + "self_attn." + kv + ".bias", kv_units, ones);
        }
        move(p + "self_attn.o_proj.weight", K, out_scale_a, q_units, head_col_scale);
        vec(p + "self_attn.o_proj.bias", K, out_scale_a);
      }
      if (L.mlp) {
        vec(p + "post_attention_layernorm.weight", K, ones);
        for (const char* in : {"gate_proj", "up_proj"}) {
          move(p + "mlp." + in + ".weight", L.intermediate, ones, K, ones);
          vec(p + "mlp." + in + ".bias", L.intermediate, ones);
        }
        move(p + "mlp.down_proj.weight", K, out_scale_f, L.intermediate, inter_scale);
        vec(p + "mlp.down_proj.bias", K, out_scale_f);
      }
    } else {
      const std::string p = "encoder.layer." + n + ".";
      if (L.attention) {
        for (const char* qkv : {"query", "key", "value"}) {
          move(p + "attention.self." + qkv + ".weight", kv_units, ones, K, ones);
          vec(p + "attention.self." + qkv + ".bias", kv_units, ones);
        }
        move(p + "attention.output.dense.weight", K, out_scale_a, q_units, head_col_scale);
        vec(p + "attention.output.dense.bias", K, out_scale_a);
        vec(p + "attention.output.LayerNorm.weight", K, mu);
        vec(p + "attention.output.LayerNorm.bias", K, mu);
      }
      if (L.mlp) {
        move(p + "intermediate.dense.weight", L.intermediate, ones, K, ones);
        vec(p + "intermediate.dense.bias", L.intermediate, ones);
        move(p + "output.dense.weight", K, out_scale_f, L.intermediate, inter_scale);
        vec(p + "output.dense.bias", K, out_scale_f);
        vec(p + "output.LayerNorm.weight", K, mu);
        vec(p + "output.LayerNorm.bias", K, mu);
      }
    }
  }

  // heads: inputs from the hidden stream; decoders read the final norm, whose mask scale folds
  // into the head weight (encoders' stream already carries it)
  const std::vector<double>& head_in = decoder ? mu : ones;
  move("pooler.dense.weight", K, ones, K, ones);
  vec("pooler.dense.bias", K, ones);
  move("classifier.dense.weight", K, ones, K, ones);
  vec("classifier.dense.bias", K, ones);
  move("classifier.out_proj.weight", none, ones, K, ones);
  vec("classifier.out_proj.bias", none, ones);
  move("classifier.weight", none, ones, K, head_in);
  vec("classifier.bias", none, ones);
  move("score.weight", none, ones, K, head_in);
  move("lm_head.weight", none, ones, K, mu);
  move("cls.predictions.transform.dense.weight", K, ones, K, ones);
  vec("cls.predictions.transform.dense.bias", K, ones);
  vec("cls.predictions.transform.LayerNorm.weight", K, ones);
  vec("cls.predictions.transform.LayerNorm.bias", K, ones);
  vec("cls.predictions.bias", none, ones);
  move("lm_head.dense.weight", K, ones, K, ones);
  vec("lm_head.dense.bias", K, ones);
  vec("lm_head.layer_norm.weight", K, ones);
  vec("lm_head.layer_norm.bias", K, ones);
  vec("lm_head.bias", none, ones);
  for (const auto& [name, p] : out.parameters())
    if (!assigned.count(name)) throw std::logic_error("compact: no rule rebuilds parameter " + name);
  return out;
}

}  // namespace vtrans::prune
