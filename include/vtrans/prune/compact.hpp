#pragma once
// compact(): turns a masked model into the smaller dense model it stands for. Every matrix is
// rebuilt without the removed units, the deterministic mask values (VIB's mu, CoFi's soft z) are
// folded into the weights that follow them, and removed attention/FFN sub-layers are dropped.
// With deterministic masks the two models compute the same function (tests/prune); a model whose
// layer matrices are kept in 16 bits stays so, its scaled rows rounded once more.
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "vtrans/error.hpp"
#include "vtrans/nn/copy_weights.hpp"
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
  if (k.hidden.empty()) throw vtrans::usage_error("compact: every hidden unit is removed");
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
  const nn::family_spec& f = m.spec();
  // every weight below is assigned (checked at the end): nothing to initialise
  nn::transformer<Family, masks::none, B, T> out(compacted_config(old, k), m.head(), nn::for_loading_t(m.matrices()));
  const std::vector<index>& K = k.hidden;
  const std::vector<double>& mu = k.hidden_scale;
  const std::vector<index> none;
  const std::vector<double> ones;

  // copies parameter `name` with the given rows/cols (a vector is one column)
  std::set<std::string> assigned;
  // (a layer matrix kept in 16 bits is picked in float and rounded back: scaled rows and columns
  // get the same values as a float model compacted and then rounded)
  auto move = [&](const std::string& name, const std::vector<index>& r, const std::vector<double>& rs, const std::vector<index>& c,
                  const std::vector<double>& cs) {
    if (out.has_parameter(name)) {
      assigned.insert(name);
      const auto& p = m.parameter(name);
      const shape& s = p.shape();
      const index rows = s[0], cols = s.rank() == 2 ? s[1] : 1;
      const auto v = detail::pick(p.value().to_host(), rows, cols, r, rs, c, cs);
      out.assign(name, tensor<T, B>::from_host(out.parameter(name).shape(), v));
    } else if (const auto* slot = out.find_frozen(name)) {
      assigned.insert(name);
      const auto* from = m.find_frozen(name);
      const auto v = nn::detail::widened_values<float>(nn::detail::frozen_of(m, *from));
      nn::detail::assign_rounded(out, name, slot->shape, detail::pick(v, from->shape[0], from->shape[1], r, rs, c, cs));
    }
  };
  // a role's weight [rows, cols] and bias [rows]
  auto linear = [&](const nn::role& role, index layer, const std::vector<index>& r, const std::vector<double>& rs, const std::vector<index>& c,
                    const std::vector<double>& cs) {
    if (!role.present()) return;
    move(nn::weight_name(role, layer), r, rs, c, cs);
    move(nn::bias_name(role, layer), r, rs, none, ones);
  };
  // a norm over the hidden units, its output scaled by `scale`
  auto norm = [&](const nn::role& role, index layer, const std::vector<double>& scale) { linear(role, layer, K, scale, none, ones); };

  // Embedding tables lose hidden columns; the hidden mask that follows them folds into them. A
  // norm whose output is the residual stream (post-norm) takes the hidden mask into its weights;
  // a final norm's mask folds into the head instead, as the head reads its output.
  for (const nn::role* table : {&f.model.token_embedding, &f.model.position_embedding, &f.model.token_type_embedding})
    if (table->present()) move(nn::weight_name(*table), none, ones, K, mu);
  norm(f.model.embedding_norm, -1, mu);
  norm(f.model.final_norm, -1, ones);
  const std::vector<double>& layer_norm_scale = f.pre_norm ? ones : mu;
  const std::vector<double>& head_in = f.model.final_norm.present() ? mu : ones;

  const index hd = old.head_dim;
  const nn::layer_roles& r = f.layer;
  for (std::size_t l = 0; l < k.layers.size(); ++l) {
    const auto& L = k.layers[l];
    const auto& s = old.layers[l];
    const index i = index(l);
    const index group = s.kv_heads > 0 ? s.heads / s.kv_heads : 1;
    const std::vector<double> out_scale_a = detail::times(mu, L.attention_scale), out_scale_f = detail::times(mu, L.mlp_scale);
    std::vector<double> head_col_scale;
    const auto q_units = detail::head_units(L.kv_heads, group, hd, 0, &L.head_scale, &head_col_scale);
    const auto q_rows = detail::head_units(L.kv_heads, group, hd, 0, nullptr, nullptr);
    const auto kv_rows = detail::head_units(L.kv_heads, 1, hd, 0, nullptr, nullptr);
    if (L.attention) {
      norm(r.attn_norm, i, layer_norm_scale);
      if (r.qkv.present()) {  // rows of Q, then K, then V in one matrix
        const index qw = s.heads * hd, kw = s.kv_heads * hd;
        std::vector<index> rows = q_rows;
        for (index offset : {qw, qw + kw})
          for (index u : detail::head_units(L.kv_heads, 1, hd, offset, nullptr, nullptr)) rows.push_back(u);
        linear(r.qkv, i, rows, ones, K, ones);
      }
      linear(r.q, i, q_rows, ones, K, ones);
      linear(r.k, i, kv_rows, ones, K, ones);
      linear(r.v, i, kv_rows, ones, K, ones);
      linear(r.o, i, K, out_scale_a, q_units, head_col_scale);
    }
    if (L.mlp) {
      norm(r.mlp_norm, i, layer_norm_scale);
      linear(r.gate, i, L.intermediate, ones, K, ones);
      linear(r.up, i, L.intermediate, ones, K, ones);
      linear(r.down, i, K, out_scale_f, L.intermediate, L.intermediate_scale);
    }
  }

  // heads: inputs from the hidden stream (scaled as head_in), or from a dense layer in the hidden space
  const nn::head_roles& h = f.heads;
  switch (m.head()) {
    case nn::head_kind::base: break;
    case nn::head_kind::sequence_classification: {
      linear(h.pooler, -1, K, ones, K, ones);
      linear(h.classifier_dense, -1, K, ones, K, ones);
      const bool dense_in = h.pooler.present() || h.classifier_dense.present();
      linear(h.classifier, -1, none, ones, K, dense_in ? ones : head_in);
      break;
    }
    case nn::head_kind::token_classification: linear(h.token_classifier, -1, none, ones, K, head_in); break;
    case nn::head_kind::masked_lm:
      linear(h.mlm_dense, -1, K, ones, K, ones);
      norm(h.mlm_norm, -1, ones);
      move(std::string(h.mlm_bias), none, ones, none, ones);
      break;
    case nn::head_kind::causal_lm: linear(h.lm_head, -1, none, ones, K, head_in); break;
  }
  for (const auto& [name, p] : out.parameters())
    if (!assigned.count(name)) throw std::logic_error("compact: no rule rebuilds parameter " + name);
  for (const auto& slot : out.frozen_matrices())
    if (!assigned.count(slot.name)) throw std::logic_error("compact: no rule rebuilds 16-bit matrix " + slot.name);
  return out;
}

}  // namespace vtrans::prune
