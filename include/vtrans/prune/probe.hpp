#pragma once
// Attention probing (method.md §8, after Clark et al. 2019): where does each head of the
// un-pruned model look, and does that predict what VTrans prunes?
//
// For every real query (attention_mask 1) of every sequence and every head (l, h), the row of
// attention probabilities p(q -> k) is reduced to
//   special         sum of p over real keys whose id is a special token ([CLS], [SEP], <s>, BOS...)
//   self            p(q -> q)
//   previous        p(q -> the nearest real token before q)
//   keyword         sum of p over real keys whose id is a task keyword
//   special_or_self mass on special tokens or on the query itself, counted once
//                   (= special + self, less self when the query itself is special)
//   entropy         -sum p log p (nats)
// and averaged over queries. Each statistic has its own population of queries, so it is never
// diluted by sequences where it cannot occur: self, special_or_self and entropy average over all
// real queries; previous over queries with a real token before them; special over queries of
// sequences holding at least one special token; keyword over queries of sequences holding at
// least one keyword. The categories overlap by design (a [SEP] query attending to itself counts as
// special and as self), except special_or_self.
//
// The aggregation (attention_probe_accumulator) works on host probability arrays and is tested
// on synthetic tensors; probe_attention() feeds it a model's attention.
//
// Keywords (select_keywords): the tokens most associated with each label of a labelled data set.
// A token "occurs" in a sequence when it appears at least once (document frequency, so long
// sequences do not dominate). With N sequences, N_c of label c, n_t holding token t and a of them
// with label c, the score is
//   chi2 (default)  N (a d - b c')^2 / ((a + b)(c' + d)(a + c')(b + d)) of the 2x2 table
//                   a = n(t,c), b = n_t - a, c' = N_c - a, d = N - N_c - b,
//                   counted only for positive association (a N > n_t N_c);
//   pmi             log(a N / (n_t N_c)), positive only;
// tokens with a < min_count are skipped (PMI rewards rare tokens), special ids and `exclude` are
// never keywords; per label the top `per_label` by score (ties: larger a, then smaller id).
//
// Relating a probe to a pruning report (relate_probe_to_report): the mask unit of attention is
// the key/value group (the head itself without GQA); query head h belongs to group
// h / (heads / kv_heads) and a group's statistics are the mean of its query heads. A group is
// removed when it is absent from the report's kept_heads; its removal step is the first
// trajectory step whose log alpha is <= threshold (the VIB keep rule is log alpha > 0). For the
// rank correlation every group gets a removal order: its removal step; a group that never crosses
// the threshold gets last step + 1 when the final selection removed it and last step + 2 when it
// was kept ("never removed = last"). The paper's claim predicts
//   special_or_self mass: removed > kept, and Spearman(special_or_self, removal order) < 0
//                         (more mass on special tokens and itself -> removed earlier);
//   keyword mass:         kept > removed, and Spearman(keyword, removal order) > 0.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "vtrans/autodiff/tape.hpp"
#include "vtrans/data/batching.hpp"
#include "vtrans/error.hpp"
#include "vtrans/nn/transformer.hpp"
#include "vtrans/train/metrics.hpp"

namespace vtrans::prune {

enum class probe_category { special, self, previous, keyword, special_or_self, entropy };

inline constexpr std::array<probe_category, 6> probe_categories{probe_category::special,  probe_category::self,
                                                                 probe_category::previous, probe_category::keyword,
                                                                 probe_category::special_or_self, probe_category::entropy};

inline const char* category_name(probe_category c) {
  switch (c) {
    case probe_category::special: return "special";
    case probe_category::self: return "self";
    case probe_category::previous: return "previous";
    case probe_category::keyword: return "keyword";
    case probe_category::special_or_self: return "special_or_self";
    case probe_category::entropy: return "entropy";
  }
  return "?";
}

inline probe_category parse_probe_category(const std::string& name) {
  for (auto c : probe_categories)
    if (name == category_name(c)) return c;
  throw vtrans::usage_error("vtrans::prune::parse_probe_category: unknown category '" + name + "'");
}

// The statistics of one head (or the mean of a key/value group's heads).
struct head_attention_stats {
  double special = 0, self = 0, previous = 0, keyword = 0, special_or_self = 0, entropy = 0;

  double get(probe_category c) const { return const_cast<head_attention_stats&>(*this).get(c); }
  double& get(probe_category c) {
    switch (c) {
      case probe_category::special: return special;
      case probe_category::self: return self;
      case probe_category::previous: return previous;
      case probe_category::keyword: return keyword;
      case probe_category::special_or_self: return special_or_self;
      case probe_category::entropy: break;
    }
    return entropy;
  }
};

// How many tokens and queries the averages are over (the same for every head).
struct probe_counts {
  std::int64_t sequences = 0;
  std::int64_t tokens = 0;            // real tokens (= real queries)
  std::int64_t special_tokens = 0;
  std::int64_t keyword_tokens = 0;
  std::int64_t previous_queries = 0;  // real queries with a real token before them
  std::int64_t special_queries = 0;   // real queries in sequences with a special token
  std::int64_t keyword_queries = 0;   // real queries in sequences with a keyword
};

struct attention_probe {
  std::vector<std::vector<head_attention_stats>> layers;  // [layer][query head]; empty: no attention
  std::vector<std::int64_t> kv_heads;                     // per layer; 0 without attention
  probe_counts counts;
  std::vector<std::int32_t> special_ids, keyword_ids;     // sorted, distinct

  std::size_t num_layers() const { return layers.size(); }
  std::size_t heads(std::size_t layer) const { return layers.at(layer).size(); }
};

// Sums attention statistics over batches. Call begin_batch() with a batch's ids and mask, then
// add_layer() once per layer with that batch's probabilities, and result() at the end.
class attention_probe_accumulator {
 public:
  // heads / kv_heads per layer (0 heads: a layer without attention).
  attention_probe_accumulator(std::vector<std::int64_t> heads, std::vector<std::int64_t> kv_heads, std::vector<std::int32_t> special_ids,
                              std::vector<std::int32_t> keyword_ids)
      : heads_(std::move(heads)), kv_heads_(std::move(kv_heads)), special_(sorted(std::move(special_ids))), keyword_(sorted(std::move(keyword_ids))) {
    if (heads_.size() != kv_heads_.size())
      throw vtrans::usage_error("vtrans::prune::attention_probe_accumulator: " + std::to_string(heads_.size()) + " layers of heads but " +
                                  std::to_string(kv_heads_.size()) + " of kv_heads");
    for (std::size_t l = 0; l < heads_.size(); ++l)
      if (heads_[l] < 0 || kv_heads_[l] < 0 || (heads_[l] > 0 && (kv_heads_[l] == 0 || heads_[l] % kv_heads_[l] != 0)))
        throw vtrans::usage_error("vtrans::prune::attention_probe_accumulator: layer " + std::to_string(l) + " has " +
                                    std::to_string(heads_[l]) + " heads and " + std::to_string(kv_heads_[l]) + " kv heads");
    sums_.resize(heads_.size());
    for (std::size_t l = 0; l < heads_.size(); ++l) sums_[l].assign(static_cast<std::size_t>(heads_[l]), {});
    layer_counts_.assign(heads_.size(), {});
  }

  // ids and attention_mask are row-major [batch, seq]; an empty mask means every token is real.
  void begin_batch(index batch, index seq, const std::vector<std::int32_t>& ids, const std::vector<std::int32_t>& attention_mask) {
    const auto cells = static_cast<std::size_t>(batch * seq);
    if (batch < 0 || seq < 0 || ids.size() != cells || (!attention_mask.empty() && attention_mask.size() != cells))
      throw vtrans::usage_error("vtrans::prune::attention_probe_accumulator: batch " + std::to_string(batch) + " x " + std::to_string(seq) +
                                  " with " + std::to_string(ids.size()) + " ids and " + std::to_string(attention_mask.size()) + " mask values");
    batch_ = batch;
    seq_ = seq;
    real_.assign(cells, 1);
    is_special_.assign(cells, 0);
    is_keyword_.assign(cells, 0);
    previous_.assign(cells, -1);
    seq_has_special_.assign(static_cast<std::size_t>(batch), 0);
    seq_has_keyword_.assign(static_cast<std::size_t>(batch), 0);
    batch_counts_ = {};
    for (index b = 0; b < batch; ++b) {
      index last = -1;
      bool any = false;
      for (index s = 0; s < seq; ++s) {
        const auto i = static_cast<std::size_t>(b * seq + s);
        real_[i] = attention_mask.empty() || attention_mask[i] != 0;
        if (!real_[i]) continue;
        any = true;
        ++batch_counts_.tokens;
        is_special_[i] = contains(special_, ids[i]);
        is_keyword_[i] = contains(keyword_, ids[i]);
        previous_[i] = last;
        last = s;
        if (previous_[i] >= 0) ++batch_counts_.previous_queries;
        if (is_special_[i]) ++batch_counts_.special_tokens, seq_has_special_[static_cast<std::size_t>(b)] = 1;
        if (is_keyword_[i]) ++batch_counts_.keyword_tokens, seq_has_keyword_[static_cast<std::size_t>(b)] = 1;
      }
      if (!any) continue;
      ++batch_counts_.sequences;
      for (index s = 0; s < seq; ++s) {
        const auto i = static_cast<std::size_t>(b * seq + s);
        if (!real_[i]) continue;
        if (seq_has_special_[static_cast<std::size_t>(b)]) ++batch_counts_.special_queries;
        if (seq_has_keyword_[static_cast<std::size_t>(b)]) ++batch_counts_.keyword_queries;
      }
    }
    counts_.sequences += batch_counts_.sequences;
    counts_.tokens += batch_counts_.tokens;
    counts_.special_tokens += batch_counts_.special_tokens;
    counts_.keyword_tokens += batch_counts_.keyword_tokens;
    counts_.previous_queries += batch_counts_.previous_queries;
    counts_.special_queries += batch_counts_.special_queries;
    counts_.keyword_queries += batch_counts_.keyword_queries;
    in_batch_ = true;
  }

  // probs: row-major [batch, heads, q_len, k_len] probabilities of `layer` for the current batch,
  // with q_len = k_len = seq.
  template <class T>
  void add_layer(std::size_t layer, const T* probs, index batch, index heads, index q_len, index k_len) {
    const std::string where = "vtrans::prune::attention_probe_accumulator: layer " + std::to_string(layer);
    if (!in_batch_) throw std::logic_error(where + ": add_layer before begin_batch");
    if (layer >= heads_.size()) throw std::out_of_range(where + " of " + std::to_string(heads_.size()));
    if (batch != batch_ || heads != heads_[layer] || q_len != seq_ || k_len != seq_)
      throw vtrans::usage_error(where + ": attention [" + std::to_string(batch) + "," + std::to_string(heads) + "," + std::to_string(q_len) +
                                  "," + std::to_string(k_len) + "], expected [" + std::to_string(batch_) + "," + std::to_string(heads_[layer]) +
                                  "," + std::to_string(seq_) + "," + std::to_string(seq_) + "]");
    const auto S = static_cast<std::size_t>(seq_);
    for (index b = 0; b < batch; ++b) {
      const std::size_t row0 = static_cast<std::size_t>(b) * S;
      const bool has_special = seq_has_special_[static_cast<std::size_t>(b)] != 0;
      const bool has_keyword = seq_has_keyword_[static_cast<std::size_t>(b)] != 0;
      for (index h = 0; h < heads; ++h) {
        sums& acc = sums_[layer][static_cast<std::size_t>(h)];
        for (std::size_t q = 0; q < S; ++q) {
          if (!real_[row0 + q]) continue;
          const T* p = probs + ((static_cast<std::size_t>(b) * static_cast<std::size_t>(heads) + static_cast<std::size_t>(h)) * S + q) * S;
          double special = 0, keyword = 0, entropy = 0;
          for (std::size_t k = 0; k < S; ++k) {
            if (!real_[row0 + k]) continue;
            const double v = static_cast<double>(p[k]);
            if (is_special_[row0 + k]) special += v;
            if (is_keyword_[row0 + k]) keyword += v;
            if (v > 0) entropy -= v * std::log(v);
          }
          const double self = static_cast<double>(p[q]);
          acc.self += self;
          acc.entropy += entropy;
          acc.special_or_self += special + (is_special_[row0 + q] ? 0.0 : self);
          if (previous_[row0 + q] >= 0) acc.previous += static_cast<double>(p[static_cast<std::size_t>(previous_[row0 + q])]);
          if (has_special) acc.special += special;
          if (has_keyword) acc.keyword += keyword;
        }
      }
    }
    auto& c = layer_counts_[layer];
    c.tokens += batch_counts_.tokens;
    c.previous_queries += batch_counts_.previous_queries;
    c.special_queries += batch_counts_.special_queries;
    c.keyword_queries += batch_counts_.keyword_queries;
  }

  attention_probe result() const {
    attention_probe out;
    out.kv_heads = kv_heads_;
    out.counts = counts_;
    out.special_ids = special_;
    out.keyword_ids = keyword_;
    out.layers.resize(heads_.size());
    auto mean = [](double sum, std::int64_t n) { return n > 0 ? sum / static_cast<double>(n) : 0.0; };
    for (std::size_t l = 0; l < heads_.size(); ++l) {
      const auto& c = layer_counts_[l];
      for (const sums& s : sums_[l])
        out.layers[l].push_back({mean(s.special, c.special_queries), mean(s.self, c.tokens), mean(s.previous, c.previous_queries),
                                 mean(s.keyword, c.keyword_queries), mean(s.special_or_self, c.tokens), mean(s.entropy, c.tokens)});
    }
    return out;
  }

 private:
  using sums = head_attention_stats;

  static std::vector<std::int32_t> sorted(std::vector<std::int32_t> v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
  }
  static bool contains(const std::vector<std::int32_t>& v, std::int32_t id) { return std::binary_search(v.begin(), v.end(), id); }

  std::vector<std::int64_t> heads_, kv_heads_;
  std::vector<std::int32_t> special_, keyword_;
  std::vector<std::vector<sums>> sums_;
  std::vector<probe_counts> layer_counts_;
  probe_counts counts_, batch_counts_;
  index batch_ = 0, seq_ = 0;
  bool in_batch_ = false;
  std::vector<char> real_, is_special_, is_keyword_, seq_has_special_, seq_has_keyword_;
  std::vector<index> previous_;
};

// Probe a model: one no-record forward pass per batch with the attention kept.
template <class Model>
attention_probe probe_attention(const Model& model, const std::vector<nn::batch_input>& batches, const std::vector<std::int32_t>& special_ids,
                                const std::vector<std::int32_t>& keyword_ids) {
  std::vector<std::int64_t> heads, kv_heads;
  for (const auto& l : model.layers()) {
    heads.push_back(l.size.has_attention ? static_cast<std::int64_t>(l.size.heads) : 0);
    kv_heads.push_back(l.size.has_attention ? static_cast<std::int64_t>(l.size.kv_heads) : 0);
  }
  attention_probe_accumulator acc(heads, kv_heads, special_ids, keyword_ids);
  autodiff::no_record guard;
  nn::forward_options opt;
  opt.keep_attention = true;
  for (const auto& in : batches) {
    acc.begin_batch(in.batch, in.seq, in.ids, in.attention_mask);
    const auto out = model.forward(in, opt);
    std::size_t next = 0;
    for (std::size_t l = 0; l < heads.size(); ++l) {
      if (heads[l] == 0) continue;
      if (next >= out.attention.size())
        throw std::logic_error("vtrans::prune::probe_attention: the model returned " + std::to_string(out.attention.size()) +
                               " attention tensors, fewer than its layers with attention");
      const auto& a = out.attention[next++];
      const auto& s = a.shape();
      if (s.rank() != 4) throw std::logic_error("vtrans::prune::probe_attention: attention of layer " + std::to_string(l) + " has shape " + s.str());
      const auto host = a.to_host();
      acc.add_layer(l, host.data(), s[0], s[1], s[2], s[3]);
    }
  }
  return acc.result();
}

// Padded batches of `batch_size` sequences (in order) for probe_attention.
inline std::vector<nn::batch_input> probe_batches(const std::vector<data::sequence>& data, index batch_size, index max_length = 0,
                                                  std::int32_t pad_id = 0) {
  if (batch_size < 1) throw vtrans::usage_error("vtrans::prune::probe_batches: batch_size must be positive");
  std::vector<nn::batch_input> out;
  data::collate_options co;
  co.pad_id = pad_id;
  co.max_length = max_length;
  for (std::size_t i = 0; i < data.size(); i += static_cast<std::size_t>(batch_size)) {
    std::vector<std::size_t> idx;
    for (std::size_t j = i; j < std::min(data.size(), i + static_cast<std::size_t>(batch_size)); ++j) idx.push_back(j);
    const auto b = data::collate(data, idx, co);
    nn::batch_input in;
    in.batch = b.batch_size;
    in.seq = b.seq_len;
    in.ids = b.ids;
    in.attention_mask = b.attention_mask;
    in.token_type_ids = b.token_type_ids;
    out.push_back(std::move(in));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// JSON

inline nlohmann::json probe_json(const attention_probe& p) {
  nlohmann::json layers = nlohmann::json::array();
  for (std::size_t l = 0; l < p.layers.size(); ++l) {
    nlohmann::json layer{{"heads", p.layers[l].size()}, {"kv_heads", l < p.kv_heads.size() ? p.kv_heads[l] : 0}};
    for (auto c : probe_categories) {
      nlohmann::json v = nlohmann::json::array();
      for (const auto& h : p.layers[l]) v.push_back(h.get(c));
      layer[category_name(c)] = v;
    }
    layers.push_back(layer);
  }
  nlohmann::json categories = nlohmann::json::array();
  for (auto c : probe_categories) categories.push_back(category_name(c));
  const auto& c = p.counts;
  return {{"kind", "attention_probe"},
          {"categories", categories},
          {"layers", layers},
          {"counts",
           {{"sequences", c.sequences}, {"tokens", c.tokens}, {"special_tokens", c.special_tokens}, {"keyword_tokens", c.keyword_tokens},
            {"previous_queries", c.previous_queries}, {"special_queries", c.special_queries}, {"keyword_queries", c.keyword_queries}}},
          {"special_ids", p.special_ids},
          {"keyword_ids", p.keyword_ids}};
}

inline attention_probe probe_from_json(const nlohmann::json& j) {
  const std::string where = "vtrans::prune::probe_from_json: ";
  if (!j.is_object() || !j.contains("layers") || !j["layers"].is_array()) throw vtrans::usage_error(where + "no \"layers\" array");
  attention_probe p;
  for (std::size_t l = 0; l < j["layers"].size(); ++l) {
    const auto& jl = j["layers"][l];
    const auto heads = jl.at("heads").get<std::size_t>();
    p.kv_heads.push_back(jl.at("kv_heads").get<std::int64_t>());
    std::vector<head_attention_stats> hs(heads);
    for (auto c : probe_categories) {
      const auto& v = jl.at(category_name(c));
      if (v.size() != heads)
        throw vtrans::usage_error(where + "layer " + std::to_string(l) + " has " + std::to_string(v.size()) + " values of " + category_name(c) +
                                    " for " + std::to_string(heads) + " heads");
      for (std::size_t h = 0; h < heads; ++h) hs[h].get(c) = v[h].get<double>();
    }
    p.layers.push_back(std::move(hs));
  }
  if (j.contains("counts")) {
    const auto& c = j["counts"];
    p.counts = {c.value("sequences", std::int64_t{0}),        c.value("tokens", std::int64_t{0}),
                c.value("special_tokens", std::int64_t{0}),   c.value("keyword_tokens", std::int64_t{0}),
                c.value("previous_queries", std::int64_t{0}), c.value("special_queries", std::int64_t{0}),
                c.value("keyword_queries", std::int64_t{0})};
  }
  if (j.contains("special_ids")) p.special_ids = j["special_ids"].get<std::vector<std::int32_t>>();
  if (j.contains("keyword_ids")) p.keyword_ids = j["keyword_ids"].get<std::vector<std::int32_t>>();
  return p;
}

// ---------------------------------------------------------------------------------------------
// Keywords

enum class keyword_rule { chi2, pmi };

struct keyword_options {
  std::size_t per_label = 10;
  std::int64_t min_count = 3;  // sequences of the label that must hold the token
  keyword_rule rule = keyword_rule::chi2;
  std::vector<std::int32_t> exclude;  // never keywords (special tokens, padding, punctuation...)
};

struct keyword {
  std::int32_t id = 0;
  int label = 0;
  double score = 0;
  std::int64_t count = 0;  // sequences of this label holding the token
  std::int64_t total = 0;  // sequences holding the token
};

// Per label (ascending), its keywords best first. Sequences without a label are ignored.
inline std::vector<keyword> select_keywords(const std::vector<data::sequence>& data, const keyword_options& opt = {}) {
  std::map<int, std::int64_t> per_label;                          // N_c
  std::map<std::int32_t, std::map<int, std::int64_t>> together;  // n(t, c)
  std::map<std::int32_t, std::int64_t> per_token;                 // n_t
  std::int64_t n = 0;
  std::set<std::int32_t> excluded(opt.exclude.begin(), opt.exclude.end());
  for (const auto& s : data) {
    if (!s.label) continue;
    ++n;
    ++per_label[*s.label];
    std::set<std::int32_t> present(s.ids.begin(), s.ids.end());
    for (auto t : present) {
      if (excluded.count(t)) continue;
      ++per_token[t];
      ++together[t][*s.label];
    }
  }
  std::vector<keyword> out;
  for (const auto& [label, nc] : per_label) {
    std::vector<keyword> cand;
    for (const auto& [t, by_label] : together) {
      auto it = by_label.find(label);
      if (it == by_label.end()) continue;
      const double a = double(it->second), nt = double(per_token.at(t)), N = double(n), Nc = double(nc);
      if (it->second < opt.min_count || !(a * N > nt * Nc)) continue;
      double score = 0;
      if (opt.rule == keyword_rule::pmi) {
        score = std::log(a * N / (nt * Nc));
      } else {
        const double b = nt - a, c = Nc - a, d = N - Nc - b;
        const double denom = (a + b) * (c + d) * (a + c) * (b + d);
        score = denom > 0 ? N * (a * d - b * c) * (a * d - b * c) / denom : 0.0;
      }
      cand.push_back({t, label, score, it->second, per_token.at(t)});
    }
    std::sort(cand.begin(), cand.end(), [](const keyword& x, const keyword& y) {
      if (x.score != y.score) return x.score > y.score;
      if (x.count != y.count) return x.count > y.count;
      return x.id < y.id;
    });
    if (cand.size() > opt.per_label) cand.resize(opt.per_label);
    out.insert(out.end(), cand.begin(), cand.end());
  }
  return out;
}

// The distinct ids of a keyword list, sorted.
inline std::vector<std::int32_t> keyword_ids(const std::vector<keyword>& k) {
  std::vector<std::int32_t> ids;
  for (const auto& w : k) ids.push_back(w.id);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

inline nlohmann::json keywords_json(const std::vector<keyword>& k) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& w : k) out.push_back({{"id", w.id}, {"label", w.label}, {"score", w.score}, {"count", w.count}, {"total", w.total}});
  return out;
}

// ---------------------------------------------------------------------------------------------
// Probe vs pruning report

struct head_fate {
  std::size_t layer = 0, group = 0;          // group: the key/value group (the mask unit)
  bool kept = true;                          // in the report's kept_heads
  std::optional<std::int64_t> removed_step;  // first trajectory step with log alpha <= threshold
  double removal_order = 0;                  // see the header comment
  double final_score = std::numeric_limits<double>::quiet_NaN();  // log alpha at the last trajectory step
  head_attention_stats attention;            // mean over the group's query heads
};

struct probe_relation {
  std::vector<head_fate> heads;  // every group of every layer with attention before pruning
  std::size_t removed = 0, kept = 0;
  // NaN when there is no head on that side.
  double special_self_removed = std::numeric_limits<double>::quiet_NaN(), special_self_kept = std::numeric_limits<double>::quiet_NaN();
  double keyword_removed = std::numeric_limits<double>::quiet_NaN(), keyword_kept = std::numeric_limits<double>::quiet_NaN();
  double spearman_special_self_order = 0;  // < 0 supports "special/self heads are pruned first"
  double spearman_keyword_order = 0;       // > 0 supports "kept heads attend to keywords"
  bool supports_special_self_first = false;  // special_self_removed > special_self_kept and spearman < 0
  bool supports_keywords_kept = false;       // keyword_kept > keyword_removed

  // Whether query head `head` of `layer` (in the probe's numbering) was removed.
  bool removed_query_head(std::size_t layer, std::size_t head, std::size_t query_heads, std::size_t kv_groups) const {
    const std::size_t group = head / (query_heads / kv_groups);
    for (const auto& f : this->heads)
      if (f.layer == layer && f.group == group) return !f.kept;
    return false;
  }
};

inline probe_relation relate_probe_to_report(const attention_probe& probe, const nlohmann::json& report, double threshold = 0.0) {
  const std::string where = "vtrans::prune::relate_probe_to_report: ";
  const auto& before = report.at("layers").at("before");
  const auto& kept_heads = report.at("kept_heads");
  const nlohmann::json empty = nlohmann::json::array();
  const auto& trajectory = report.contains("trajectory") ? report["trajectory"] : empty;
  if (before.size() != probe.layers.size())
    throw vtrans::usage_error(where + "the probe has " + std::to_string(probe.layers.size()) + " layers, the report " + std::to_string(before.size()));
  if (kept_heads.size() != before.size())
    throw vtrans::usage_error(where + "kept_heads has " + std::to_string(kept_heads.size()) + " layers, the report " + std::to_string(before.size()));
  const double last_step = trajectory.empty() ? 0.0 : trajectory.back().at("step").get<double>();

  probe_relation r;
  for (std::size_t l = 0; l < before.size(); ++l) {
    const bool has_attention = before[l].value("attention", true);
    const auto heads = before[l].at("heads").get<std::size_t>();
    const auto groups = before[l].at("kv_heads").get<std::size_t>();
    if (!has_attention || heads == 0) continue;
    if (groups == 0 || heads % groups != 0)
      throw vtrans::usage_error(where + "layer " + std::to_string(l) + " has " + std::to_string(heads) + " heads and " + std::to_string(groups) +
                                  " kv heads");
    if (probe.layers[l].size() != heads)
      throw vtrans::usage_error(where + "layer " + std::to_string(l) + ": the probe has " + std::to_string(probe.layers[l].size()) +
                                  " heads, the un-pruned model " + std::to_string(heads) + " (probe the model before pruning)");
    const std::size_t per_group = heads / groups;
    std::set<std::size_t> kept;
    for (const auto& g : kept_heads[l]) kept.insert(g.get<std::size_t>());
    for (std::size_t g = 0; g < groups; ++g) {
      head_fate f;
      f.layer = l;
      f.group = g;
      f.kept = kept.count(g) > 0;
      for (const auto& pt : trajectory) {
        const auto& scores = pt.at("head_scores");
        if (l >= scores.size() || scores[l].size() != groups)
          throw vtrans::usage_error(where + "trajectory step " + pt.at("step").dump() + " has no " + std::to_string(groups) +
                                      " head scores for layer " + std::to_string(l));
        const double s = scores[l][g].get<double>();
        f.final_score = s;
        if (!f.removed_step && s <= threshold) f.removed_step = pt.at("step").get<std::int64_t>();
      }
      f.removal_order = f.removed_step ? double(*f.removed_step) : last_step + (f.kept ? 2.0 : 1.0);
      for (std::size_t h = g * per_group; h < (g + 1) * per_group; ++h)
        for (auto c : probe_categories) f.attention.get(c) += probe.layers[l][h].get(c) / double(per_group);
      r.heads.push_back(f);
    }
  }

  double ss_rem = 0, ss_kept = 0, kw_rem = 0, kw_kept = 0;
  std::vector<double> ss, kw, order;
  for (const auto& f : r.heads) {
    (f.kept ? r.kept : r.removed) += 1;
    (f.kept ? ss_kept : ss_rem) += f.attention.special_or_self;
    (f.kept ? kw_kept : kw_rem) += f.attention.keyword;
    ss.push_back(f.attention.special_or_self);
    kw.push_back(f.attention.keyword);
    order.push_back(f.removal_order);
  }
  if (r.removed) r.special_self_removed = ss_rem / double(r.removed), r.keyword_removed = kw_rem / double(r.removed);
  if (r.kept) r.special_self_kept = ss_kept / double(r.kept), r.keyword_kept = kw_kept / double(r.kept);
  r.spearman_special_self_order = train::spearman(ss, order);
  r.spearman_keyword_order = train::spearman(kw, order);
  r.supports_special_self_first = r.removed && r.kept && r.special_self_removed > r.special_self_kept && r.spearman_special_self_order < 0;
  r.supports_keywords_kept = r.removed && r.kept && r.keyword_kept > r.keyword_removed;
  return r;
}

inline nlohmann::json relation_json(const probe_relation& r) {
  auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  nlohmann::json heads = nlohmann::json::array();
  for (const auto& f : r.heads) {
    nlohmann::json att;
    for (auto c : probe_categories) att[category_name(c)] = f.attention.get(c);
    heads.push_back({{"layer", f.layer},
                     {"group", f.group},
                     {"kept", f.kept},
                     {"removed_step", f.removed_step ? nlohmann::json(*f.removed_step) : nlohmann::json(nullptr)},
                     {"removal_order", f.removal_order},
                     {"final_score", number(f.final_score)},
                     {"attention", att}});
  }
  return {{"kind", "probe_relation"},
          {"removed", r.removed},
          {"kept", r.kept},
          {"special_or_self", {{"removed", number(r.special_self_removed)}, {"kept", number(r.special_self_kept)}}},
          {"keyword", {{"removed", number(r.keyword_removed)}, {"kept", number(r.keyword_kept)}}},
          {"spearman_vs_removal_order", {{"special_or_self", r.spearman_special_self_order}, {"keyword", r.spearman_keyword_order}}},
          {"supports",
           {{"special_self_pruned_first", r.supports_special_self_first}, {"kept_heads_attend_to_keywords", r.supports_keywords_kept}}},
          {"heads", heads}};
}

}  // namespace vtrans::prune
