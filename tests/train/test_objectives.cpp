// Loss values of the objectives on tiny hand-made cases, MLM masking statistics, evaluation.
#include <doctest/doctest.h>

#include <cmath>

#include "tiny_models.hpp"
#include "vtrans/tensor/cpu.hpp"
#include "vtrans/train/evaluate.hpp"
#include "vtrans/train/objectives.hpp"

namespace {
using V = vtrans::autodiff::var<double, vtrans::cpu>;
using D = vtrans::tensor<double, vtrans::cpu>;

vtrans::nn::model_output<double, vtrans::cpu> output(const vtrans::shape& s, std::vector<double> logits) {
  vtrans::nn::model_output<double, vtrans::cpu> o;
  o.logits = V(D::from_host(s, logits), true);
  return o;
}
}  // namespace

TEST_CASE("sequence classification: mean cross-entropy") {
  vtrans::data::batch b;
  b.batch_size = 2;
  b.seq_len = 1;
  b.labels = {0, 1};
  const auto o = output({2, 2}, {0.0, 0.0, std::log(3.0), 0.0});
  // -log 1/2 and -log 1/4
  CHECK(vtrans::train::sequence_classification_loss(o, b).item() == doctest::Approx(1.5 * std::log(2.0)));
  b.labels = {vtrans::data::ignore_index, 1};
  CHECK(vtrans::train::sequence_classification_loss(o, b).item() == doctest::Approx(std::log(4.0)));
}

TEST_CASE("regression: mean squared error against the scores") {
  vtrans::data::batch b;
  b.batch_size = 2;
  b.scores = {1.5f, 2.5f};
  b.indices = {0, 1};
  const auto o = output({2, 1}, {1.0, 3.5});
  CHECK(vtrans::train::regression_loss(o, b).item() == doctest::Approx((0.25 + 1.0) / 2));
  b.scores.clear();
  CHECK_THROWS(vtrans::train::regression_loss(o, b));
}

TEST_CASE("token classification: cross-entropy over labelled tokens only") {
  vtrans::data::batch b;
  b.batch_size = 1;
  b.seq_len = 3;
  b.token_level = true;
  b.labels = {2, vtrans::data::ignore_index, 0};
  // token 0: uniform over 3 -> log 3; token 2: logits (log 2, 0, 0) -> -log(2/4) = log 2
  const auto o = output({1, 3, 3}, {0, 0, 0, 9, 9, 9, std::log(2.0), 0, 0});
  CHECK(vtrans::train::token_classification_loss(o, b).item() == doctest::Approx((std::log(3.0) + std::log(2.0)) / 2));
}

TEST_CASE("causal LM: shifted targets, padding ignored") {
  vtrans::data::batch b;
  b.batch_size = 2;
  b.seq_len = 4;
  b.ids = {5, 6, 7, 0, 8, 9, 10, 11};
  b.attention_mask = {1, 1, 1, 0, 1, 1, 1, 1};
  const auto t = vtrans::train::causal_lm_targets(b);
  const std::int32_t I = vtrans::data::ignore_index;
  CHECK(t == std::vector<std::int32_t>{6, 7, I, I, 9, 10, 11, I});
  std::vector<double> logits(8 * 12, 0.0);
  logits[0 * 12 + 6] = std::log(12.0 - 1);  // position 0 predicts 6 with p = 11 / 22 = 1/2
  const auto o = output({2, 4, 12}, logits);
  // five scored positions: one at log 2, four at log 12
  CHECK(vtrans::train::causal_lm_loss(o, b).item() == doctest::Approx((std::log(2.0) + 4 * std::log(12.0)) / 5));
}

TEST_CASE("MLM masking: 15% of real non-special tokens, 80/10/10, seeded") {
  vtrans::data::batch b;
  b.batch_size = 100;
  b.seq_len = 200;
  for (int r = 0; r < 100; ++r)
    for (int s = 0; s < 200; ++s) {
      const bool pad = s >= 180;
      b.ids.push_back(pad ? 0 : s == 0 ? 2 : 10 + (r * 7 + s) % 90);
      b.attention_mask.push_back(pad ? 0 : 1);
    }
  vtrans::train::mlm_options o;
  o.mask_id = 4;
  o.vocab_size = 100;
  o.special_ids = {0, 1, 2, 3, 4};
  o.seed = 17;
  const auto m = vtrans::train::mask_tokens(b, o, 3);
  std::size_t eligible = 0, masked = 0, kept = 0, random = 0;
  for (std::size_t i = 0; i < b.ids.size(); ++i) {
    const bool special = b.ids[i] < 5 || !b.attention_mask[i];
    eligible += !special;
    if (m.labels[i] == vtrans::data::ignore_index) {
      CHECK(m.input.ids[i] == b.ids[i]);
      continue;
    }
    REQUIRE(!special);
    CHECK(m.labels[i] == b.ids[i]);
    if (m.input.ids[i] == 4) ++masked;
    else if (m.input.ids[i] == b.ids[i]) ++kept;
    else ++random;
  }
  const double sel = double(m.selected);
  CHECK(m.selected == vtrans::index(masked + kept + random));
  CHECK(sel / double(eligible) == doctest::Approx(0.15).epsilon(0.07));
  CHECK(masked / sel == doctest::Approx(0.8).epsilon(0.04));
  CHECK(random / sel == doctest::Approx(0.1).epsilon(0.2));  // random may hit the original id (1 in 100)
  CHECK(m.input.labels == m.labels);
  CHECK(vtrans::train::mask_tokens(b, o, 3).input.ids == m.input.ids);
  CHECK(vtrans::train::mask_tokens(b, o, 4).input.ids != m.input.ids);
}

TEST_CASE("evaluate: metrics of a sequence classifier on a synthetic set") {
  auto config = vtrans_test::tiny_config("bert", 2);
  vtrans::nn::transformer<vtrans::nn::bert, vtrans::masks::none, vtrans::cpu, float> model(config, vtrans::nn::head_kind::sequence_classification, 3);
  vtrans::data::batch_plan_options plan;
  plan.batch_size = 8;
  plan.shuffle = false;
  vtrans::data::data_loader loader(vtrans_test::synthetic_set(20, 5), plan);
  const auto r = vtrans::train::evaluate(model, vtrans::train::task_kind::sequence_classification, loader);
  CHECK(r.examples == 20);
  REQUIRE(r.predictions.size() == 20);
  // Recompute accuracy from the predictions: the metric must agree.
  std::size_t hit = 0;
  for (std::size_t i = 0; i < 20; ++i) hit += r.predictions[i] == *loader.data()[i].label;
  CHECK(r.metrics.at("accuracy") == doctest::Approx(double(hit) / 20));
  CHECK(r.metrics.count("mcc") == 1);
  CHECK(r.metrics.count("f1") == 1);
  CHECK(r.metrics.at("loss") == doctest::Approx(std::log(2.0)).epsilon(0.1));  // untrained: near chance
  CHECK(vtrans::autodiff::tape<float, vtrans::cpu>::local().size() == 0);        // nothing recorded
}

TEST_CASE("masked LM on the selected rows only: the loss and gradients of predicting every position") {
  using model_t = vtrans::nn::transformer<vtrans::nn::bert, vtrans::masks::none, vtrans::cpu, double>;
  model_t model(vtrans_test::tiny_config("bert"), vtrans::nn::head_kind::masked_lm, 5);
  vtrans::data::batch b;
  b.batch_size = 3;
  b.seq_len = 7;
  for (int i = 0; i < 21; ++i) {
    b.ids.push_back(i % 7 == 0 ? 2 : 5 + (i * 11) % 30);
    b.attention_mask.push_back(i < 19 ? 1 : 0);
  }
  vtrans::train::mlm_options o;
  o.mask_id = 4;
  o.vocab_size = 40;
  o.special_ids = {0, 1, 2, 3, 4};
  o.probability = 0.4;
  o.seed = 9;
  const vtrans::data::batch masked = vtrans::train::mask_tokens(b, o, 1).input;
  vtrans::data::batch sparse = masked;
  const auto in = vtrans::train::predict_selected(sparse);
  REQUIRE(in.predict_rows.size() >= 4);
  REQUIRE(sparse.labels.size() == in.predict_rows.size());
  for (std::size_t k = 0; k < in.predict_rows.size(); ++k) CHECK(sparse.labels[k] == masked.labels[std::size_t(in.predict_rows[k])]);

  const auto grads = [&](const vtrans::nn::batch_input& input, const vtrans::data::batch& labels, double& loss) {
    for (auto& [n, p] : model.parameters()) p.zero_grad();
    const auto out = model.forward(input);
    auto l = vtrans::train::task_loss(vtrans::train::task_kind::masked_lm, out, labels);
    loss = l.item();
    vtrans::autodiff::backward(l);
    std::vector<std::vector<double>> g;
    for (auto& [n, p] : model.parameters()) g.push_back(p.has_grad() ? p.grad().to_host() : std::vector<double>{});
    return g;
  };
  double full_loss = 0, sparse_loss = 0;
  const auto full_g = grads(vtrans::train::to_input(masked), masked, full_loss);
  const auto sparse_g = grads(in, sparse, sparse_loss);
  CHECK(full_loss > 1.0);
  CHECK(sparse_loss == doctest::Approx(full_loss).epsilon(1e-12));
  for (std::size_t k = 0; k < full_g.size(); ++k)
    for (std::size_t i = 0; i < full_g[k].size(); ++i) REQUIRE(sparse_g[k][i] == doctest::Approx(full_g[k][i]).epsilon(1e-9).scale(1e-12));
}
