// Attention probing: the aggregation on hand-built probabilities, probing real (tiny) models whose
// attention is uniform by construction, keyword selection and the probe-vs-pruning relation.
#include <doctest/doctest.h>

#include <cmath>

#include "vtrans/prune/probe.hpp"
#include "vtrans/tensor/cpu.hpp"

using namespace vtrans;
using prune::probe_category;

namespace {

// Two sequences of four positions; the second is padded after three tokens.
//   row 0: [CLS]=101  7  kw=8  [SEP]=102
//   row 1: [CLS]=101  9  [SEP]=102  pad
// head 0 puts all mass on position 0 ([CLS]); head 1 is uniform over the real keys.
std::vector<float> two_head_probs() {
  const int B = 2, H = 2, S = 4;
  std::vector<float> p(std::size_t(B * H * S * S), 0.0f);
  auto at = [&](int b, int h, int q, int k) -> float& { return p[std::size_t(((b * H + h) * S + q) * S + k)]; };
  const int len[2] = {4, 3};
  for (int b = 0; b < B; ++b)
    for (int q = 0; q < S; ++q) {
      if (q >= len[b]) {  // a padded query: garbage the probe must ignore
        for (int k = 0; k < S; ++k) at(b, 0, q, k) = at(b, 1, q, k) = 0.25f;
        continue;
      }
      at(b, 0, q, 0) = 1.0f;
      for (int k = 0; k < len[b]; ++k) at(b, 1, q, k) = 1.0f / float(len[b]);
    }
  return p;
}

prune::attention_probe synthetic_probe() {
  prune::attention_probe_accumulator acc({2}, {1}, {102, 101, 101}, {8});
  acc.begin_batch(2, 4, {101, 7, 8, 102, 101, 9, 102, 0}, {1, 1, 1, 1, 1, 1, 1, 0});
  const auto p = two_head_probs();
  acc.add_layer(0, p.data(), 2, 2, 4, 4);
  return acc.result();
}

}  // namespace

TEST_CASE("the probe aggregation reproduces hand-computed masses, entropies and counts") {
  const auto r = synthetic_probe();
  REQUIRE(r.layers.size() == 1);
  REQUIRE(r.layers[0].size() == 2);
  CHECK(r.special_ids == std::vector<std::int32_t>{101, 102});
  CHECK(r.keyword_ids == std::vector<std::int32_t>{8});
  CHECK(r.counts.sequences == 2);
  CHECK(r.counts.tokens == 7);
  CHECK(r.counts.special_tokens == 4);
  CHECK(r.counts.keyword_tokens == 1);
  CHECK(r.counts.previous_queries == 5);
  CHECK(r.counts.special_queries == 7);
  CHECK(r.counts.keyword_queries == 4);

  const auto& h0 = r.layers[0][0];  // everything on [CLS]
  CHECK(h0.special == doctest::Approx(1.0));
  CHECK(h0.self == doctest::Approx(2.0 / 7));       // only the two [CLS] queries attend to themselves
  CHECK(h0.previous == doctest::Approx(2.0 / 5));   // only position 1 has [CLS] before it
  CHECK(h0.keyword == doctest::Approx(0.0));
  CHECK(h0.special_or_self == doctest::Approx(1.0));
  CHECK(h0.entropy == doctest::Approx(0.0));

  const auto& h1 = r.layers[0][1];  // uniform over 4 (row 0) or 3 (row 1) keys
  CHECK(h1.special == doctest::Approx((4 * 2.0 / 4 + 3 * 2.0 / 3) / 7));
  CHECK(h1.self == doctest::Approx((4 * 0.25 + 3 * (1.0 / 3)) / 7));
  CHECK(h1.previous == doctest::Approx((3 * 0.25 + 2 * (1.0 / 3)) / 5));
  CHECK(h1.keyword == doctest::Approx(0.25));  // averaged over row 0, the only row with a keyword
  // row 0: [CLS],[SEP] queries 2/4, others 3/4; row 1: [CLS],[SEP] 2/3, the middle token 3/3
  CHECK(h1.special_or_self == doctest::Approx((0.5 + 0.75 + 0.75 + 0.5 + 2.0 / 3 + 1.0 + 2.0 / 3) / 7));
  CHECK(h1.entropy == doctest::Approx((4 * std::log(4.0) + 3 * std::log(3.0)) / 7));
}

TEST_CASE("the previous token is the nearest real one, and statistics accumulate over batches") {
  prune::attention_probe_accumulator acc({1}, {1}, {}, {});
  // one sequence with a hole: positions 0 and 2 are real
  acc.begin_batch(1, 3, {5, 0, 6}, {1, 0, 1});
  const std::vector<double> p{0.5, 0, 0.5, 0, 0, 0, 0.9, 0, 0.1};
  acc.add_layer(0, p.data(), 1, 1, 3, 3);
  // a second batch without mask (all real)
  acc.begin_batch(1, 2, {5, 6}, {});
  const std::vector<double> p2{1, 0, 0.3, 0.7};
  acc.add_layer(0, p2.data(), 1, 1, 2, 2);
  const auto r = acc.result();
  CHECK(r.counts.tokens == 4);
  CHECK(r.counts.previous_queries == 2);
  CHECK(r.counts.special_queries == 0);
  CHECK(r.layers[0][0].previous == doctest::Approx((0.9 + 0.3) / 2));
  CHECK(r.layers[0][0].self == doctest::Approx((0.5 + 0.1 + 1 + 0.7) / 4));
  CHECK(r.layers[0][0].special == 0);  // no special tokens anywhere: 0, not NaN
  CHECK(r.layers[0][0].special_or_self == doctest::Approx(r.layers[0][0].self));
}

TEST_CASE("the probe accumulator rejects inconsistent shapes and order") {
  prune::attention_probe_accumulator acc({2, 0}, {2, 0}, {}, {});
  const std::vector<float> p(2 * 2 * 3 * 3, 0.1f);
  CHECK_THROWS_AS(acc.add_layer(0, p.data(), 2, 2, 3, 3), std::logic_error);
  acc.begin_batch(2, 3, std::vector<std::int32_t>(6, 1), {});
  CHECK_THROWS_AS(acc.add_layer(0, p.data(), 2, 3, 3, 3), vtrans::usage_error);
  CHECK_THROWS_AS(acc.add_layer(5, p.data(), 2, 2, 3, 3), std::out_of_range);
  CHECK_THROWS_AS(acc.begin_batch(2, 3, std::vector<std::int32_t>(5, 1), {}), vtrans::usage_error);
  CHECK_THROWS_AS(prune::attention_probe_accumulator({4}, {3}, {}, {}), vtrans::usage_error);
  CHECK_NOTHROW(acc.add_layer(0, p.data(), 2, 2, 3, 3));
  const auto r = acc.result();
  CHECK(r.layers[1].empty());
  CHECK(r.layers[0][1].entropy == doctest::Approx(-3 * 0.1 * std::log(0.1)));
}

TEST_CASE("probe JSON round-trips") {
  const auto r = synthetic_probe();
  const auto j = prune::probe_json(r);
  CHECK(j["kind"] == "attention_probe");
  CHECK(j["layers"][0]["special"][0].get<double>() == doctest::Approx(1.0));
  CHECK(j["counts"]["keyword_queries"] == 4);
  const auto back = prune::probe_from_json(nlohmann::json::parse(j.dump()));
  REQUIRE(back.layers.size() == 1);
  for (auto c : prune::probe_categories)
    for (std::size_t h = 0; h < 2; ++h) CHECK(back.layers[0][h].get(c) == doctest::Approx(r.layers[0][h].get(c)));
  CHECK(back.kv_heads == r.kv_heads);
  CHECK(back.counts.previous_queries == 5);
  CHECK(back.keyword_ids == r.keyword_ids);
  auto bad = j;
  bad["layers"][0]["self"] = {0.1};
  CHECK_THROWS_WITH_AS(prune::probe_from_json(bad), doctest::Contains("self"), vtrans::usage_error);
}

namespace {
// Make every query vector zero so that all attention logits are equal: each head is then uniform
// over the keys it may see (all real keys; keys up to the query for causal models).
template <class Model>
void flatten_attention(Model& m) {
  for (const auto& l : m.layers()) {
    autodiff::param<float, cpu> w = l.q_w, b = l.q_b, qkv = l.qkv_w;
    if (w.defined()) w.value() = tensor<float, cpu>::zeros(w.shape());
    if (b.defined()) b.value() = tensor<float, cpu>::zeros(b.shape());
    REQUIRE_FALSE(qkv.defined());
  }
}
}  // namespace

TEST_CASE("probing a BERT model with uniform attention gives the uniform masses") {
  auto c = io::parse_config(nlohmann::json{{"model_type", "bert"}, {"vocab_size", 120}, {"hidden_size", 32}, {"num_hidden_layers", 2},
                                           {"num_attention_heads", 4}, {"intermediate_size", 64}, {"max_position_embeddings", 16},
                                           {"architectures", {"BertForSequenceClassification"}}});
  nn::transformer<nn::bert> m(c, nn::head_kind::sequence_classification, 3);
  flatten_attention(m);
  std::vector<data::sequence> seqs(2);
  seqs[0].ids = {101, 7, 8, 102};
  seqs[1].ids = {101, 9, 102};
  const auto batches = prune::probe_batches(seqs, 2);
  REQUIRE(batches.size() == 1);
  CHECK(batches[0].seq == 4);
  const auto r = prune::probe_attention(m, batches, {101, 102}, {8});
  REQUIRE(r.layers.size() == 2);
  CHECK(r.kv_heads == std::vector<std::int64_t>{4, 4});
  for (std::size_t l = 0; l < 2; ++l) {
    REQUIRE(r.layers[l].size() == 4);
    for (const auto& h : r.layers[l]) {
      CHECK(h.special == doctest::Approx(4.0 / 7).epsilon(1e-4));
      CHECK(h.self == doctest::Approx(2.0 / 7).epsilon(1e-4));
      CHECK(h.previous == doctest::Approx((3 * 0.25 + 2 / 3.0) / 5).epsilon(1e-4));
      CHECK(h.keyword == doctest::Approx(0.25).epsilon(1e-4));
      CHECK(h.entropy == doctest::Approx((4 * std::log(4.0) + 3 * std::log(3.0)) / 7).epsilon(1e-4));
    }
  }
}

TEST_CASE("probing a causal grouped-query LLaMA model: uniform over the visible prefix") {
  auto c = io::parse_config(nlohmann::json{{"model_type", "llama"}, {"vocab_size", 64}, {"hidden_size", 32}, {"num_hidden_layers", 2},
                                           {"num_attention_heads", 4}, {"num_key_value_heads", 2}, {"intermediate_size", 48},
                                           {"max_position_embeddings", 32}, {"architectures", {"LlamaForCausalLM"}}});
  nn::transformer<nn::llama> m(c, nn::head_kind::causal_lm, 5);
  flatten_attention(m);
  std::vector<data::sequence> seqs(1);
  seqs[0].ids = {1, 5, 6, 7};  // BOS = 1
  const auto r = prune::probe_attention(m, prune::probe_batches(seqs, 1), {1}, {6});
  CHECK(r.kv_heads == std::vector<std::int64_t>{2, 2});
  const double harmonic = (1 + 1 / 2.0 + 1 / 3.0 + 1 / 4.0) / 4;
  for (std::size_t l = 0; l < 2; ++l) {
    REQUIRE(r.layers[l].size() == 4);
    for (const auto& h : r.layers[l]) {
      CHECK(h.special == doctest::Approx(harmonic).epsilon(1e-4));  // query q gives 1/(q+1) to BOS
      CHECK(h.self == doctest::Approx(harmonic).epsilon(1e-4));
      CHECK(h.previous == doctest::Approx((1 / 2.0 + 1 / 3.0 + 1 / 4.0) / 3).epsilon(1e-4));
      CHECK(h.keyword == doctest::Approx((0 + 0 + 1 / 3.0 + 1 / 4.0) / 4).epsilon(1e-4));  // id 6 sits at position 2
      CHECK(h.special_or_self == doctest::Approx((1 + 2 / 2.0 + 2 / 3.0 + 2 / 4.0) / 4).epsilon(1e-4));
      CHECK(h.entropy == doctest::Approx((0 + std::log(2.0) + std::log(3.0) + std::log(4.0)) / 4).epsilon(1e-4));
    }
  }
}

TEST_CASE("keyword selection finds the label-specific tokens, by chi-squared and by PMI") {
  // label 1 sequences always hold 50, label 0 always 60; 70 is everywhere; 80 occurs once (rare).
  std::vector<data::sequence> d;
  for (int i = 0; i < 8; ++i) {
    data::sequence s;
    s.label = i % 2;
    s.ids = {101, 70, s.label == 1 ? 50 : 60, 102};
    if (i == 1) s.ids.push_back(80);
    if (i == 3) s.ids.push_back(61);  // label 1, but a token that is not specific
    if (i == 2) s.ids.push_back(61);
    d.push_back(s);
  }
  d.push_back(data::sequence{{50, 60}, {}, {}, std::nullopt, std::nullopt, "unlabelled"});  // ignored

  prune::keyword_options opt;
  opt.per_label = 3;
  opt.min_count = 2;
  opt.exclude = {101, 102};
  const auto k = prune::select_keywords(d, opt);
  REQUIRE(k.size() == 2);  // 70 and 61 are not associated with either label, 80 is too rare
  CHECK(k[0].label == 0);
  CHECK(k[0].id == 60);
  CHECK(k[0].score == doctest::Approx(8.0));  // N (ad - bc)^2 / (...) = 8 * 16^2 / 4^4
  CHECK(k[0].count == 4);
  CHECK(k[0].total == 4);
  CHECK(k[1].label == 1);
  CHECK(k[1].id == 50);
  CHECK(prune::keyword_ids(k) == std::vector<std::int32_t>{50, 60});

  opt.rule = prune::keyword_rule::pmi;
  opt.min_count = 1;
  const auto p = prune::select_keywords(d, opt);
  // label 1: 80 (1 of 1 sequence is label 1) and 50 tie at log 2; the larger count comes first
  std::vector<std::int32_t> l1;
  for (const auto& w : p)
    if (w.label == 1) l1.push_back(w.id);
  CHECK(l1 == std::vector<std::int32_t>{50, 80});
  for (const auto& w : p) CHECK(w.score == doctest::Approx(std::log(2.0)));
  const auto j = prune::keywords_json(k);
  CHECK(j[1]["id"] == 50);
  CHECK(j[1]["label"] == 1);
}

namespace {
// Two layers: layer 0 has 4 heads (no GQA), layer 1 has 4 query heads in 2 key/value groups.
prune::attention_probe relation_probe() {
  prune::attention_probe p;
  p.kv_heads = {4, 2};
  const double ss0[4] = {0.9, 0.7, 0.2, 0.5}, kw0[4] = {0.0, 0.1, 0.6, 0.2};
  const double ss1[4] = {0.8, 0.6, 0.1, 0.3}, kw1[4] = {0.1, 0.1, 0.5, 0.7};
  p.layers.assign(2, std::vector<prune::head_attention_stats>(4));
  for (int h = 0; h < 4; ++h) {
    p.layers[0][std::size_t(h)].special_or_self = ss0[h];
    p.layers[0][std::size_t(h)].keyword = kw0[h];
    p.layers[1][std::size_t(h)].special_or_self = ss1[h];
    p.layers[1][std::size_t(h)].keyword = kw1[h];
    p.layers[1][std::size_t(h)].entropy = double(h);
  }
  return p;
}

nlohmann::json relation_report() {
  using nlohmann::json;
  json before = json::array({json{{"heads", 4}, {"kv_heads", 4}, {"intermediate", 64}, {"attention", true}, {"mlp", true}},
                             json{{"heads", 4}, {"kv_heads", 2}, {"intermediate", 64}, {"attention", true}, {"mlp", true}}});
  json after = json::array({json{{"heads", 1}, {"kv_heads", 1}, {"intermediate", 20}, {"attention", true}, {"mlp", true}},
                            json{{"heads", 2}, {"kv_heads", 1}, {"intermediate", 30}, {"attention", true}, {"mlp", true}}});
  // log alpha per step: [layer][group]
  json traj = json::array();
  const double s[3][6] = {{5, 5, 5, 5, 5, 5}, {-1, 3, 4, 4, 0, 6}, {-2, -0.5, 3, 0.5, -1, 7}};
  for (int t = 0; t < 3; ++t)
    traj.push_back({{"step", 10 * t}, {"loss", 1.0}, {"expected_sparsity", 0.1 * t}, {"target_sparsity", 0.15 * t}, {"lambda1", 0.0}, {"lambda2", 0.0},
                    {"head_scores", json::array({json::array({s[t][0], s[t][1], s[t][2], s[t][3]}), json::array({s[t][4], s[t][5]})})}});
  return {{"method", "vtrans/vib"}, {"budget", "params=0.5"}, {"layers", {{"before", before}, {"after", after}}},
          {"kept_heads", json::array({json::array({2}), json::array({1})})}, {"trajectory", traj}};
}
}  // namespace

TEST_CASE("relating a probe to a pruning report: fates, removal steps, GQA groups and the claim's statistics") {
  const auto r = prune::relate_probe_to_report(relation_probe(), relation_report());
  REQUIRE(r.heads.size() == 6);
  CHECK(r.removed == 4);
  CHECK(r.kept == 2);
  // layer 0: g0 crosses at step 10, g1 at 20, g2 kept (never), g3 never crosses but selection removed it
  CHECK(*r.heads[0].removed_step == 10);
  CHECK(*r.heads[1].removed_step == 20);
  CHECK_FALSE(r.heads[2].removed_step);
  CHECK(r.heads[2].kept);
  CHECK(r.heads[2].removal_order == 22);
  CHECK_FALSE(r.heads[3].removed_step);
  CHECK_FALSE(r.heads[3].kept);
  CHECK(r.heads[3].removal_order == 21);
  CHECK(r.heads[3].final_score == 0.5);
  // layer 1, group 0 (query heads 0, 1): log alpha 0 counts as removed (keep iff > 0)
  CHECK(r.heads[4].layer == 1);
  CHECK(r.heads[4].group == 0);
  CHECK(*r.heads[4].removed_step == 10);
  CHECK(r.heads[4].attention.special_or_self == doctest::Approx(0.7));  // mean of 0.8 and 0.6
  CHECK(r.heads[5].attention.keyword == doctest::Approx(0.6));
  CHECK(r.heads[5].attention.entropy == doctest::Approx(2.5));
  CHECK(r.special_self_removed == doctest::Approx(0.7));
  CHECK(r.special_self_kept == doctest::Approx(0.2));
  CHECK(r.keyword_removed == doctest::Approx(0.1));
  CHECK(r.keyword_kept == doctest::Approx(0.6));
  // ranks by hand: orders {10,20,22,21,10,22}, masses {.9,.7,.2,.5,.7,.2} -> -15.75 / 16.5
  CHECK(r.spearman_special_self_order == doctest::Approx(-15.75 / 16.5));
  CHECK(r.spearman_keyword_order > 0);
  CHECK(r.supports_special_self_first);
  CHECK(r.supports_keywords_kept);
  CHECK(r.removed_query_head(1, 1, 4, 2));
  CHECK_FALSE(r.removed_query_head(1, 3, 4, 2));

  const auto j = prune::relation_json(r);
  CHECK(j["removed"] == 4);
  CHECK(j["special_or_self"]["removed"].get<double>() == doctest::Approx(0.7));
  CHECK(j["heads"][2]["removed_step"].is_null());
  CHECK(j["supports"]["special_self_pruned_first"] == true);

  // a stricter threshold moves removal earlier: with threshold 4, layer 0 group 1 crosses at step 10
  const auto strict = prune::relate_probe_to_report(relation_probe(), relation_report(), 4.0);
  CHECK(*strict.heads[1].removed_step == 10);
  CHECK(*strict.heads[2].removed_step == 10);  // kept in the end, but its score fell to 4

  auto wrong = relation_probe();
  wrong.layers[1].pop_back();
  CHECK_THROWS_WITH_AS(prune::relate_probe_to_report(wrong, relation_report()), doctest::Contains("before pruning"), vtrans::usage_error);
  auto short_scores = relation_report();
  short_scores["trajectory"][1]["head_scores"][1] = {1.0};
  CHECK_THROWS_AS(prune::relate_probe_to_report(relation_probe(), short_scores), vtrans::usage_error);
}
