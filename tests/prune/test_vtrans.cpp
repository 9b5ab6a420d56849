// Budgets, the Lagrangian and the whole pruning loop on small models.
#include <doctest/doctest.h>

#include <cmath>

#include "support/backends.hpp"
#include "support/toy_task.hpp"
#include "vtrans/nn/load.hpp"
#include "vtrans/nn/save.hpp"
#include "vtrans/prune/cost.hpp"
#include "vtrans/prune/baselines.hpp"
#include "vtrans/prune/vtrans.hpp"

using namespace vtrans;

namespace {
const std::string models_dir = std::string(VTRANS_TEST_DATA_DIR) + "/models/";

using vtrans_test::toy_classification;

io::model_config tiny_bert() {
  auto c = io::parse_config(nlohmann::json{{"model_type", "bert"}, {"vocab_size", 60}, {"hidden_size", 48}, {"num_hidden_layers", 2},
                                           {"num_attention_heads", 4}, {"intermediate_size", 96}, {"max_position_embeddings", 16},
                                           {"hidden_dropout_prob", 0.0}, {"architectures", {"BertForSequenceClassification"}}});
  return c;
}

// A short run of `kind` to `budget` on tiny_bert's toy task, silent.
prune::prune_options short_run(prune::variant kind, const std::string& budget, std::int64_t prune_steps, std::int64_t finetune_steps) {
  prune::prune_options o;
  o.kind = kind;
  o.data_fraction = 1.0;
  o.target = prune::budget::parse(budget);
  o.target.seq_len = 11;
  o.prune_steps = prune_steps;
  o.finetune_steps = finetune_steps;
  o.batch_size = 8;
  o.progress = train::progress_style::silent;
  return o;
}
}  // namespace

TEST_CASE("budgets parse and reject nonsense") {
  CHECK(prune::budget::parse("params=0.3").kind == prune::budget_kind::param_fraction);
  CHECK(prune::budget::parse("params=30M").value == doctest::Approx(30e6));
  CHECK(prune::budget::parse("params=800k").kind == prune::budget_kind::param_count);
  CHECK(prune::budget::parse("flops=0.2").on_flops());
  CHECK_THROWS_WITH_AS(prune::budget::parse("params=1.5x"), doctest::Contains("suffix"), vtrans::usage_error);
  CHECK_THROWS_AS(prune::budget::parse("flops=3"), vtrans::usage_error);
  CHECK_THROWS_AS(prune::budget::parse("size=0.3"), vtrans::usage_error);
}

TEST_CASE("the budget formula equals the exact counts of every reference model") {
  for (const char* name : {"bert-cls", "bert-mlm", "bert-token-cls", "bert-pruned-heads", "roberta-cls", "gpt2-lm", "gpt2-cls",
                           "llama-gqa", "llama-hetero"}) {
    INFO(name);
    const auto c = io::load_config(models_dir + name + "/config.json");
    const auto head = nn::head_from_architectures(c.family, c.architectures, name);
    const auto exact = prune::exact_cost(c, head, 8);
    const auto m = prune::cost(c, head, 8);
    CHECK(exact.params == doctest::Approx(double(m.total_params())));
    CHECK(exact.flops == doctest::Approx(m.flops_per_token()));
    CHECK(prune::exact_cost(c, head, 8, false).params == doctest::Approx(double(m.total_params() - m.embedding_params)));
  }
}

TEST_CASE("the expected cost at keep-probability 1 is the full cost, and it is differentiable") {
  auto sharp = masks::structure_options<masks::vib>::defaults();
  sharp.hidden.keep_temperature = sharp.heads.keep_temperature = sharp.layers.keep_temperature = sharp.intermediate.keep_temperature = 10;
  nn::transformer<nn::bert, masks::vib> m(tiny_bert(), nn::head_kind::sequence_classification, 1, sharp);  // P(keep) = 1 - 1e-39
  const auto full = prune::exact_cost(m.config(), m.head(), 11);
  const auto e = prune::expected_cost(m, 11);
  CHECK(double(e.params.item()) == doctest::Approx(full.params).epsilon(1e-4));
  CHECK(double(e.flops.item()) == doctest::Approx(full.flops).epsilon(1e-4));
  CHECK(prune::predicted_cost(m, 11).params == doctest::Approx(full.params));
}

TEST_CASE("the Lagrangian drives the expected sparsity to its target, and the pruned model meets its budget") {
  const auto config = tiny_bert();
  nn::transformer<nn::bert> teacher(config, nn::head_kind::sequence_classification, 3);
  const auto train_set = toy_classification(256, 1, config.vocab_size);
  prune::prune_options o;
  o.kind = prune::variant::faster;
  o.target = prune::budget::parse("params=0.5");
  o.target.seq_len = 11;
  o.prune_steps = 100;
  o.finetune_steps = 10;
  o.batch_size = 16;
  o.lagrangian_warmup = 0.3;
  o.progress = train::progress_style::silent;
  auto r = prune::vtrans_prune<masks::vib>(teacher, train::task_kind::sequence_classification, train_set, data::collate_options{}, o);
  const double target = 0.5 * r.full.params;
  REQUIRE(!r.trajectory.empty());
  INFO("expected sparsity " << r.trajectory.back().expected_sparsity << ", final size " << r.pruned.params << " of " << r.full.params);
  CHECK(std::abs(r.trajectory.back().expected_sparsity - 0.5) < 0.08);
  CHECK(r.pruned.params <= target);
  CHECK(r.pruned.params >= 0.99 * target);
  CHECK(double(r.model.parameter_count()) == doctest::Approx(r.pruned.params));
}

TEST_CASE("a pruned model exports and loads back with the same outputs") {
  const auto config = tiny_bert();
  nn::transformer<nn::bert> teacher(config, nn::head_kind::sequence_classification, 5);
  const auto train_set = toy_classification(64, 2, config.vocab_size);
  prune::prune_options o;
  o.kind = prune::variant::faster;
  o.target = prune::budget::parse("params=0.6");
  o.target.seq_len = 11;
  o.prune_steps = 40;
  o.finetune_steps = 5;
  o.progress = train::progress_style::silent;
  auto r = prune::vtrans_prune<masks::vib>(teacher, train::task_kind::sequence_classification, train_set, data::collate_options{}, o);
  const std::string dir = std::string(VTRANS_BINARY_DIR) + "/test-prune-export";
  nn::save_pretrained(r.model, dir);
  auto back = nn::load_pretrained<nn::bert>(dir);
  CHECK(back.config().layers == r.model.config().layers);
  nn::batch_input in{2, 11, {}, {}, {}, {}};
  for (const auto& s : {train_set[0], train_set[1]}) in.ids.insert(in.ids.end(), s.ids.begin(), s.ids.end());
  autodiff::no_record guard;
  const auto a = r.model.forward(in).logits.value().to_host(), b = back.forward(in).logits.value().to_host();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-6));
}

TEST_CASE("magnitude and random baselines meet the budget; magnitude keeps the largest units") {
  const auto config = tiny_bert();
  nn::transformer<nn::bert> teacher(config, nn::head_kind::sequence_classification, 7);
  // make FFN neuron 3 of layer 0 by far the largest
  auto up = teacher.parameter("encoder.layer.0.intermediate.dense.weight").value().to_host();
  for (vtrans::index c = 0; c < 48; ++c) up[std::size_t(3 * 48 + c)] = 5.0f;
  teacher.assign("encoder.layer.0.intermediate.dense.weight", tensor<float, cpu>::from_host(shape{96, 48}, up));
  const auto train_set = toy_classification(32, 3, config.vocab_size);
  prune::prune_options o;
  o.target = prune::budget::parse("params=0.4");
  o.target.seq_len = 11;
  o.finetune_steps = 2;
  o.progress = train::progress_style::silent;
  for (auto kind : {prune::baseline::magnitude, prune::baseline::random}) {
    auto r = prune::baseline_prune(teacher, kind, train::task_kind::sequence_classification, train_set, data::collate_options{}, o);
    CHECK(r.pruned.params <= 0.4 * r.full.params);
    CHECK(r.pruned.params >= 0.35 * r.full.params);
    if (kind == prune::baseline::magnitude) {
      const auto& kept = r.kept.layers[0].intermediate;
      CHECK(std::find(kept.begin(), kept.end(), 3) != kept.end());
    }
  }
}

TEST_CASE_TEMPLATE("a short VTrans run and its compaction on every backend", B, VTRANS_TEST_BACKENDS) {
  const auto config = tiny_bert();
  nn::transformer<nn::bert, masks::none, B, float> teacher(config, nn::head_kind::sequence_classification, 11);
  const auto train_set = toy_classification(48, 4, config.vocab_size);
  const prune::prune_options o = short_run(prune::variant::vtrans, "params=0.7", 12, 3);
  auto r = prune::vtrans_prune<masks::vib>(teacher, train::task_kind::sequence_classification, train_set, data::collate_options{}, o);
  CHECK(r.pruned.params <= 0.7 * r.full.params);
  CHECK(double(r.model.parameter_count()) == doctest::Approx(r.pruned.params));
  CHECK(r.trajectory.size() >= 2);
  for (const auto& [name, p] : r.model.parameters())
    for (float v : p.value().to_host()) REQUIRE(std::isfinite(v));
}

TEST_CASE("a Faster-VTrans student holds its teacher's weights themselves; the teacher is left as it was") {
  const auto config = tiny_bert();
  nn::transformer<nn::bert, masks::none, cpu, float> teacher(config, nn::head_kind::sequence_classification, 11);
  const auto mask_options = masks::structure_options<masks::vib>::defaults();
  {
    const auto faster = prune::make_student<masks::vib>(teacher, prune::variant::faster, 3, mask_options);
    const auto vtrans = prune::make_student<masks::vib>(teacher, prune::variant::vtrans, 3, mask_options);
    REQUIRE(faster.parameters().size() == teacher.parameters().size());
    for (const auto& [name, p] : teacher.parameters()) {
      INFO(name);
      CHECK(faster.parameter(name).get() == p.get());  // the same node: nothing copied
      CHECK(vtrans.parameter(name).get() != p.get());  // a copy that may train
      CHECK(vtrans.parameter(name).value().to_host() == p.value().to_host());
    }
    // the same masks (same seed) over the same weights: the same logits, bit for bit
    nn::batch_input in{2, 5, {2, 7, 9, 11, 3, 2, 8, 8, 3, 0}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 0}, {}, {}};
    nn::forward_options fo;
    fo.deterministic_masks = true;
    CHECK(faster.forward(in, fo).logits.value().to_host() == vtrans.forward(in, fo).logits.value().to_host());
  }
  const auto before = teacher.parameter("embeddings.word_embeddings.weight").value().to_host();
  const auto train_set = toy_classification(48, 4, config.vocab_size);
  const prune::prune_options o = short_run(prune::variant::faster, "params=0.7", 12, -1);
  const auto r = prune::vtrans_prune<masks::vib>(teacher, train::task_kind::sequence_classification, train_set, data::collate_options{}, o);
  CHECK(r.pruned.params <= 0.7 * r.full.params);
  CHECK(teacher.parameter("embeddings.word_embeddings.weight").value().to_host() == before);
  for (const auto& [name, p] : teacher.parameters()) {
    INFO(name);
    CHECK(p.trainable());  // frozen only while its student pruned
    CHECK(p.get()->value.shape() == p.shape());
  }
}

TEST_CASE("selection ranks units only within their structure and keeps each structure's share") {
  const auto config = tiny_bert();  // hidden 48, 2 layers of 4 heads and 96 FFN neurons
  nn::transformer<nn::bert, masks::vib> m(config, nn::head_kind::sequence_classification);
  // log alpha = log mu^2 - log sigma^2: every unit above the threshold (all kept by the policy),
  // heads scored lowest of all
  auto set = [](auto& u, double log_alpha_base) {
    std::vector<float> mu(std::size_t(u.size()), 1.0f), lv(std::size_t(u.size()));
    for (std::size_t i = 0; i < lv.size(); ++i) lv[i] = float(-(log_alpha_base + 0.01 * double(i)));  // unit i scores base + 0.01 i
    const_cast<autodiff::param<float, cpu>&>(u.mu()).value() = tensor<float, cpu>::from_host(shape{u.size()}, mu);
    const_cast<autodiff::param<float, cpu>&>(u.log_var()).value() = tensor<float, cpu>::from_host(shape{u.size()}, lv);
  };
  auto& masks = m.masks();
  set(masks.hidden, 6);
  set(masks.attention, 6);
  set(masks.mlp, 6);
  for (auto& h : masks.heads) set(h, 1);
  for (auto& f : masks.intermediate) set(f, 5);
  const auto full = prune::exact_cost(config, m.head(), 16, true);
  auto b = prune::budget::parse("params=0.5");
  b.seq_len = 16;
  const auto r = prune::select_to_budget(m, b, full);
  CHECK(r.threshold_size == doctest::Approx(full.params));
  CHECK(r.final_size <= 0.5 * full.params);
  CHECK(r.final_size >= 0.49 * full.params);
  INFO("scale " << r.scale << " flipped " << r.flipped_units);
  CHECK(r.scale > 0.5);
  CHECK(r.scale < 1.0);
  auto kept = [](const auto& u) { vtrans::index n = 0; for (bool k : u.keep()) n += k; return n; };
  // ranking across structures would drop every head (lowest scores) first; here each layer keeps
  // about the common share of its heads, and the highest-scored ones
  for (const auto& h : masks.heads) {
    INFO("heads " << kept(h) << " hidden " << kept(masks.hidden) << " ffn " << kept(masks.intermediate[0]));
    CHECK(kept(h) >= 2);
    CHECK(h.keep().back());
    CHECK_FALSE(h.keep().front());
  }
  const double share = double(kept(masks.hidden)) / 48.0;
  for (const auto& f : masks.intermediate) CHECK(double(kept(f)) / 96.0 == doctest::Approx(share).epsilon(0.1));
  CHECK(masks.hidden.keep().back());
  CHECK_FALSE(masks.hidden.keep().front());
}
