// Host crossings of the pruning loop, counted by the backend (tensor/transfers.hpp). On a GPU
// each crossing is a synchronising round trip, so after its first step a pruning step reads
// nothing back (keep decisions, noise, norms' unit counts, losses, clipping and the Lagrange
// multipliers stay on the device; the host reads every sync_every steps) and uploads nothing:
// its batch is gathered from the data set kept in the backend's memory (train/resident_set.hpp),
// which gives the batches the host would upload. The training loop reads only every sync_every
// steps.
#include <doctest/doctest.h>

#include "support/backends.hpp"
#include "support/toy_task.hpp"
#include "train/tiny_models.hpp"
#include "vtrans/masks/policies.hpp"
#include "vtrans/prune/vtrans.hpp"
#include "vtrans/train/resident_set.hpp"
#include "vtrans/train/trainer.hpp"

using namespace vtrans;

namespace {

io::model_config narrow_bert(vtrans::index layers) {
  return io::parse_config(nlohmann::json{{"model_type", "bert"}, {"vocab_size", 40}, {"hidden_size", 16}, {"num_hidden_layers", layers},
                                         {"num_attention_heads", 2}, {"intermediate_size", 24}, {"max_position_embeddings", 16},
                                         {"hidden_dropout_prob", 0.0}, {"architectures", {"BertForSequenceClassification"}}});
}

prune::prune_options short_run(prune::variant v, vtrans::index sync_every) {
  prune::prune_options o;
  o.kind = v;
  o.data_fraction = 1.0;
  o.target = prune::budget::parse("params=0.6");
  o.target.seq_len = 11;
  o.prune_steps = 10;
  o.max_extra_steps = 0;
  o.finetune_steps = 0;
  o.batch_size = 16;
  o.progress = train::progress_style::silent;
  o.sync_every = o.trajectory_every = sync_every;
  return o;
}

struct warm_steps {
  transfer_counts counts;  // over steps 1 to 9 (after the first)
  prune::kept_units kept;
};

template <class Policy, class B>
warm_steps count_warm_steps(vtrans::index layers, prune::variant v, double layer_weight = 0, double resident_data_mb = 1024, bool padded = false) {
  const nn::transformer<nn::bert, masks::none, B> teacher(narrow_bert(layers), nn::head_kind::sequence_classification, 3);
  // 3 batches: epoch 0 fills the teacher cache; padded: 5 to 13 tokens, batches padded to their longest
  const auto task = padded ? vtrans_test::synthetic_set(48, 5) : vtrans_test::toy_classification(48, 5, teacher.config().vocab_size);
  prune::prune_options o = short_run(v, 1000);
  o.distill.layer_weight = layer_weight;
  o.resident_data_mb = resident_data_mb;
  std::int64_t calls = 0;
  transfer_counts after_first{}, at_end{};
  o.stop_requested = [&] {  // called after every step
    ++calls;
    if (calls == 1) after_first = B::transfers().read();
    if (calls == 10) at_end = B::transfers().read();
    return false;
  };
  const auto r = prune::vtrans_prune<Policy>(teacher, train::task_kind::sequence_classification, task, data::collate_options{}, o);
  REQUIRE(r.pruning_steps == 10);
  transfer_counts d;
  d.uploads = at_end.uploads - after_first.uploads, d.downloads = at_end.downloads - after_first.downloads;
  d.upload_bytes = at_end.upload_bytes - after_first.upload_bytes, d.download_bytes = at_end.download_bytes - after_first.download_bytes;
  return {d, r.kept};
}

}  // namespace

TEST_CASE_TEMPLATE("a warm VTrans or Faster-VTrans step crosses to the host neither way, whatever the depth", B, VTRANS_TEST_BACKENDS) {
  for (auto v : {prune::variant::faster, prune::variant::vtrans}) {
    INFO(prune::variant_name(v));
    const auto shallow = count_warm_steps<masks::vib, B>(2, v), deep = count_warm_steps<masks::vib, B>(12, v);
    CHECK(shallow.counts.downloads == 0);
    CHECK(deep.counts.downloads == 0);
    CHECK(shallow.counts.uploads == 0);
    CHECK(deep.counts.uploads == 0);
    // with no memory for the data set, the batch is uploaded: token ids, attention mask, positions,
    // token types, labels, pooled rows (and the teacher's over the first epoch); nothing per layer
    const auto shallow_up = count_warm_steps<masks::vib, B>(2, v, 0, 0), deep_up = count_warm_steps<masks::vib, B>(12, v, 0, 0);
    CHECK(deep_up.counts.downloads == 0);
    CHECK(deep_up.counts.uploads >= 9 * 6);
    CHECK(deep_up.counts.uploads == shallow_up.counts.uploads);
    CHECK(deep_up.counts.upload_bytes == shallow_up.counts.upload_bytes);
  }
}

TEST_CASE_TEMPLATE("CoFi's layer distillation crosses once per step, whatever the depth", B, VTRANS_TEST_BACKENDS) {
  // hard-concrete keep decisions are ranked in backend memory (B::keep_highest); layer
  // distillation reads its matching's MSE table in one transfer, because the match chooses which
  // student layers enter the graph
  const auto shallow = count_warm_steps<masks::hard_concrete, B>(2, prune::variant::vtrans, 0.5);
  const auto deep = count_warm_steps<masks::hard_concrete, B>(12, prune::variant::vtrans, 0.5);
  CHECK(deep.counts.downloads == 9 * 1);
  CHECK(shallow.counts.downloads == 9 * 1);
  CHECK(deep.counts.uploads == 0);
  CHECK(shallow.counts.uploads == 0);
  // on padded batches the distilled rows are the real tokens': planned with the batches, not uploaded
  const auto padded = count_warm_steps<masks::hard_concrete, B>(12, prune::variant::vtrans, 0.5, 1024, true);
  CHECK(padded.counts.downloads == 9 * 1);
  CHECK(padded.counts.uploads == 0);
  const auto padded_up = count_warm_steps<masks::hard_concrete, B>(12, prune::variant::vtrans, 0.5, 0, true);
  CHECK(padded_up.counts.uploads >= 9 * 7);  // the batch and its token rows
}

TEST_CASE_TEMPLATE("reading the host less often changes nothing but the reads", B, VTRANS_TEST_BACKENDS) {
  const nn::transformer<nn::bert, masks::none, B> teacher(narrow_bert(12), nn::head_kind::sequence_classification, 3);
  const auto task = vtrans_test::toy_classification(48, 5, teacher.config().vocab_size);
  const auto every = prune::vtrans_prune<masks::vib>(teacher, train::task_kind::sequence_classification, task, data::collate_options{},
                                                    short_run(prune::variant::vtrans, 1));
  const auto rarely = prune::vtrans_prune<masks::vib>(teacher, train::task_kind::sequence_classification, task, data::collate_options{},
                                                     short_run(prune::variant::vtrans, 4));
  CHECK(every.kept.hidden == rarely.kept.hidden);
  REQUIRE(every.kept.layers.size() == rarely.kept.layers.size());
  for (std::size_t l = 0; l < every.kept.layers.size(); ++l) {
    CHECK(every.kept.layers[l].kv_heads == rarely.kept.layers[l].kv_heads);
    CHECK(every.kept.layers[l].intermediate == rarely.kept.layers[l].intermediate);
  }
  for (const auto& [name, p] : every.model.parameters()) {
    INFO(name);
    CHECK(p.value().to_host() == rarely.model.parameter(name).value().to_host());
  }
  CHECK(every.trajectory.size() > rarely.trajectory.size());
  CHECK_THROWS_AS(prune::vtrans_prune<masks::vib>(teacher, train::task_kind::sequence_classification, task, data::collate_options{},
                                                  short_run(prune::variant::vtrans, 0)),
                  vtrans::usage_error);
}

TEST_CASE_TEMPLATE("a training step uploads nothing, between host reads reads nothing, and the loss read is the steps' mean", B, VTRANS_TEST_BACKENDS) {
  const auto task = vtrans_test::toy_classification(48, 6, 40);
  data::batch_plan_options plan;
  plan.batch_size = 8;
  const data::data_loader loader(task, plan, data::collate_options{});
  std::vector<std::uint64_t> uploads;
  auto run = [&](std::int64_t sync_every, std::vector<train::step_report>& reports, std::vector<std::uint64_t>& downloads) {
    nn::transformer<nn::bert, masks::none, B> model(narrow_bert(4), nn::head_kind::sequence_classification, 3);
    train::adamw<float, B> opt(model.parameters(), {1e-3, 0.9, 0.999, 1e-8, 0.01});
    train::trainer_options to;
    to.total_steps = 10;
    to.sync_every = sync_every;
    train::trainer<decltype(model)> t(model, opt, loader, to);
    while (!t.done()) {
      const auto before = B::transfers().read();
      reports.push_back(t.step());
      downloads.push_back(B::transfers().read().downloads - before.downloads);
      uploads.push_back(B::transfers().read().uploads - before.uploads);
    }
  };
  std::vector<train::step_report> every, fifth;
  std::vector<std::uint64_t> every_dl, fifth_dl;
  run(1, every, every_dl);
  run(5, fifth, fifth_dl);
  for (std::size_t i = 0; i < fifth.size(); ++i) {
    INFO("step " << fifth[i].step);
    const bool read = fifth[i].step % 5 == 0;
    CHECK(fifth[i].read == read);
    CHECK(fifth_dl[i] == (read ? 2u : 0u));  // the summed loss and the gradient norm
    CHECK(every_dl[i] == 2u);
  }
  for (auto u : uploads) CHECK(u == 0u);  // the batches come from the resident training set
  // what the reads say: the mean loss of the five steps since the last read, the same run
  for (std::size_t end : {std::size_t(4), std::size_t(9)}) {
    double mean = 0;
    for (std::size_t i = end - 4; i <= end; ++i) mean += every[i].loss / 5;
    CHECK(fifth[end].read_steps == 5);
    CHECK(fifth[end].loss == doctest::Approx(mean).epsilon(1e-5));
    CHECK(fifth[end].grad_norm == doctest::Approx(every[end].grad_norm).epsilon(1e-5));
  }
}

namespace {

std::size_t p_last(const data::data_loader& loader) { return loader.batches_per_epoch() - 1; }

template <class Model>
void check_resident_batches(const Model& model, train::task_kind task, const std::vector<data::sequence>& set, const data::collate_options& co,
                            bool host_path_expected = false) {
  using B = typename Model::backend;
  data::batch_plan_options plan;
  plan.batch_size = 8;  // 37 examples: the last batch of every epoch holds 5
  plan.seed = 3;
  const data::data_loader loader(set, plan, co);
  const std::int64_t batches = 2 * std::int64_t(loader.batches_per_epoch()) + 1;
  const train::resident_set<Model> resident(model, loader, task, batches, std::size_t(1) << 20, true);
  REQUIRE(resident.active() != host_path_expected);
  if (host_path_expected) return;
  CHECK(resident.planned_batches() == std::size_t(3 * loader.batches_per_epoch()));  // whole epochs
  CHECK(resident.bytes() > 0);
  CHECK(resident.keeps_token_rows());
  auto same = [](const autodiff::id_tensor<B>& a, const autodiff::id_tensor<B>& b, const char* what) {
    INFO(what);
    CHECK(a.shape() == b.shape());
    CHECK(a.to_host() == b.to_host());
  };
  for (std::uint64_t epoch = 0; epoch < 3; ++epoch) {
    const auto p = loader.plan(epoch);
    for (std::size_t i = 0; i < p.size(); ++i) {
      INFO("epoch " << epoch << ", batch " << i);
      const data::batch b = loader.make_batch(p[i]);
      const auto before = B::transfers().read();
      const auto d = resident.batch(epoch, i, b);
      const auto after = B::transfers().read();
      CHECK(after.uploads == before.uploads);
      CHECK(after.downloads == before.downloads);
      const nn::device_input<B> h = model.upload(train::to_input(b));
      CHECK(d.input.batch == b.batch_size);
      CHECK(d.input.seq == b.seq_len);
      same(d.input.ids, h.ids, "ids");
      same(d.input.attention_mask, h.attention_mask, "attention mask");
      CHECK(d.input.token_type_ids.rank() == h.token_type_ids.rank());
      if (h.token_type_ids.rank() > 0) same(d.input.token_type_ids, h.token_type_ids, "token types");
      CHECK(d.input.position_ids.rank() == h.position_ids.rank());
      if (h.position_ids.rank() > 0) same(d.input.position_ids, h.position_ids, "positions");
      CHECK(d.input.pooled_rows.rank() == h.pooled_rows.rank());
      if (h.pooled_rows.rank() > 0) same(d.input.pooled_rows, h.pooled_rows, "pooled rows");
      const auto real = data::real_token_rows(b);
      if (vtrans::index(real.size()) < b.batch_size * b.seq_len) CHECK(d.token_rows.to_host() == real);
      else CHECK(d.token_rows.rank() == 0);  // every row: distillation takes them all without an index
      switch (task) {
        case train::task_kind::sequence_classification:
        case train::task_kind::token_classification: CHECK(d.labels.to_host() == b.labels); break;
        case train::task_kind::causal_lm: CHECK(d.labels.to_host() == train::causal_lm_targets(b)); break;
        case train::task_kind::regression: {
          const auto scores = d.scores.to_host();
          REQUIRE(scores.size() == b.scores.size());
          for (std::size_t k = 0; k < scores.size(); ++k) CHECK(double(scores[k]) == double(b.scores[k]));
          break;
        }
        case train::task_kind::masked_lm: break;
      }
      // the losses agree with the host path's
      nn::forward_options fo;
      const auto out = model.forward(d.input, fo);
      const auto host_out = model.forward(train::to_input(b), fo);
      CHECK(out.logits.value().to_host() == host_out.logits.value().to_host());
      CHECK(double(train::task_loss(task, out, b, d).item()) == double(train::task_loss(task, host_out, b).item()));
    }
  }
  CHECK_FALSE(resident.covers(3, 0));
  CHECK(resident.covers(2, p_last(loader)));
  CHECK_THROWS_AS(resident.batch(3, 0, loader.make_batch(loader.plan(3)[0])), vtrans::error);  // past the plan
}

template <class B>
nn::transformer<nn::any_family, masks::none, B> tiny(const std::string& family, nn::head_kind head, int labels = 2) {
  return nn::transformer<nn::any_family, masks::none, B>(vtrans_test::tiny_config(family, labels), head, 5);
}

}  // namespace

TEST_CASE_TEMPLATE("a resident data set gathers on the device the batches the host would upload", B, VTRANS_TEST_BACKENDS) {
  const auto set = vtrans_test::synthetic_set(37, 11), tokens = vtrans_test::synthetic_set(37, 12, true);
  data::collate_options plain, rounded, roberta;
  rounded.pad_to_multiple_of = 4;
  rounded.max_length = 9;  // truncated rows too
  roberta.pad_id = 1;      // RoBERTa's padding_idx: positions count the real tokens only
  using nn::head_kind;
  using train::task_kind;
  SUBCASE("bert, sequence classification") { check_resident_batches(tiny<B>("bert", head_kind::sequence_classification), task_kind::sequence_classification, set, plain); }
  SUBCASE("bert, padded to a multiple and truncated") {
    check_resident_batches(tiny<B>("bert", head_kind::sequence_classification), task_kind::sequence_classification, set, rounded);
  }
  SUBCASE("bert, token classification") { check_resident_batches(tiny<B>("bert", head_kind::token_classification), task_kind::token_classification, tokens, plain); }
  SUBCASE("bert, regression") {
    auto scored = set;
    for (std::size_t i = 0; i < scored.size(); ++i) scored[i].score = 0.25f * float(i % 7);
    check_resident_batches(tiny<B>("bert", head_kind::sequence_classification, 1), task_kind::regression, scored, plain);
    scored[4].score.reset();  // the host path names the example without a score
    check_resident_batches(tiny<B>("bert", head_kind::sequence_classification, 1), task_kind::regression, scored, plain, true);
  }
  SUBCASE("roberta") { check_resident_batches(tiny<B>("roberta", head_kind::sequence_classification), task_kind::sequence_classification, set, roberta); }
  SUBCASE("gpt2: the last real token pools") {
    check_resident_batches(tiny<B>("gpt2", head_kind::sequence_classification), task_kind::sequence_classification, set, plain);
    check_resident_batches(tiny<B>("gpt2", head_kind::causal_lm), task_kind::causal_lm, set, rounded);
  }
  SUBCASE("llama: rotary positions") {
    check_resident_batches(tiny<B>("llama", head_kind::sequence_classification), task_kind::sequence_classification, set, plain);
    check_resident_batches(tiny<B>("llama", head_kind::causal_lm), task_kind::causal_lm, set, plain);
  }
  SUBCASE("masked LM is not kept") { check_resident_batches(tiny<B>("bert", head_kind::masked_lm), task_kind::masked_lm, set, plain, true); }
}

TEST_CASE_TEMPLATE("pruning on the resident data set is the pruning on uploaded batches, value for value", B, VTRANS_TEST_BACKENDS) {
  const nn::transformer<nn::bert, masks::none, B> teacher(narrow_bert(3), nn::head_kind::sequence_classification, 3);
  auto same_run = [&](const std::vector<data::sequence>& task, double layer_weight) {
    auto o = short_run(prune::variant::vtrans, 3);
    o.finetune_steps = 4;
    o.distill.layer_weight = layer_weight;
    const auto resident = prune::vtrans_prune<masks::vib>(teacher, train::task_kind::sequence_classification, task, data::collate_options{}, o);
    o.resident_data_mb = 0;
    const auto uploaded = prune::vtrans_prune<masks::vib>(teacher, train::task_kind::sequence_classification, task, data::collate_options{}, o);
    CHECK(resident.kept.hidden == uploaded.kept.hidden);
    for (const auto& [name, p] : resident.model.parameters()) {
      INFO(name);
      CHECK(p.value().to_host() == uploaded.model.parameter(name).value().to_host());
    }
    REQUIRE(resident.trajectory.size() == uploaded.trajectory.size());
    for (std::size_t i = 0; i < resident.trajectory.size(); ++i) CHECK(resident.trajectory[i].loss == uploaded.trajectory[i].loss);
  };
  SUBCASE("equal lengths, the last batch smaller") { same_run(vtrans_test::toy_classification(40, 5, teacher.config().vocab_size), 0); }
  SUBCASE("padded batches with layer distillation") { same_run(vtrans_test::synthetic_set(40, 5), 0.5); }
}

TEST_CASE_TEMPLATE("a trainer driven past its planned run uploads the batches beyond it", B, VTRANS_TEST_BACKENDS) {
  const auto task = vtrans_test::toy_classification(48, 6, 40);
  data::batch_plan_options plan;
  plan.batch_size = 8;  // 6 batches an epoch
  const data::data_loader loader(task, plan, data::collate_options{});
  nn::transformer<nn::bert, masks::none, B> model(narrow_bert(2), nn::head_kind::sequence_classification, 3);
  train::adamw<float, B> opt(model.parameters(), {1e-3, 0.9, 0.999, 1e-8, 0.01});
  train::trainer_options to;
  to.total_steps = 2;  // planned: the whole of epoch 0
  train::trainer<decltype(model)> t(model, opt, loader, to);
  for (int i = 0; i < 8; ++i) {
    INFO("step " << i + 1);
    const auto before = B::transfers().read().uploads;
    CHECK(std::isfinite(t.step().loss));
    const auto uploads = B::transfers().read().uploads - before;
    if (i < 6) CHECK(uploads == 0u);
    else CHECK(uploads > 0u);
  }
}
