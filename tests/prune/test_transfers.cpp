// Host crossings of the pruning loop, counted by the backend (tensor/transfers.hpp). On a GPU
// each crossing is a synchronising round trip, so after its first step a pruning step reads
// nothing back (keep decisions, noise, norms' unit counts, losses, clipping and the Lagrange
// multipliers stay on the device; the host reads every sync_every steps) and uploads only its
// batch: the same for 2 layers as for 12. The training loop reads only every sync_every steps.
#include <doctest/doctest.h>

#include "support/backends.hpp"
#include "support/toy_task.hpp"
#include "vtrans/masks/policies.hpp"
#include "vtrans/prune/vtrans.hpp"
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
warm_steps count_warm_steps(vtrans::index layers, prune::variant v, double layer_weight = 0) {
  const nn::transformer<nn::bert, masks::none, B> teacher(narrow_bert(layers), nn::head_kind::sequence_classification, 3);
  const auto task = vtrans_test::toy_classification(48, 5, teacher.config().vocab_size);  // 3 batches: epoch 0 fills the teacher cache
  prune::prune_options o = short_run(v, 1000);
  o.distill.layer_weight = layer_weight;
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

TEST_CASE_TEMPLATE("a warm VTrans or Faster-VTrans step reads nothing from the device and uploads only its batch", B, VTRANS_TEST_BACKENDS) {
  for (auto v : {prune::variant::faster, prune::variant::vtrans}) {
    INFO(prune::variant_name(v));
    const auto shallow = count_warm_steps<masks::vib, B>(2, v), deep = count_warm_steps<masks::vib, B>(12, v);
    CHECK(shallow.counts.downloads == 0);
    CHECK(deep.counts.downloads == 0);
    // the batch: token ids, attention mask, token types, labels, pooled rows (student, and the
    // teacher over the first epoch); nothing per layer or per mask
    CHECK(deep.counts.uploads > 0);
    CHECK(deep.counts.uploads == shallow.counts.uploads);
    CHECK(deep.counts.upload_bytes == shallow.counts.upload_bytes);
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
  CHECK(deep.counts.uploads == shallow.counts.uploads);
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

TEST_CASE_TEMPLATE("a training step between host reads reads nothing from the device, and the loss read is the steps' mean", B, VTRANS_TEST_BACKENDS) {
  const auto task = vtrans_test::toy_classification(48, 6, 40);
  data::batch_plan_options plan;
  plan.batch_size = 8;
  const data::data_loader loader(task, plan, data::collate_options{});
  auto run = [&](std::int64_t sync_every, std::vector<train::step_report>& reports, std::vector<std::uint64_t>& downloads) {
    nn::transformer<nn::bert, masks::none, B> model(narrow_bert(4), nn::head_kind::sequence_classification, 3);
    train::adamw<float, B> opt(model.parameters(), {1e-3, 0.9, 0.999, 1e-8, 0.01});
    train::trainer_options to;
    to.total_steps = 10;
    to.sync_every = sync_every;
    train::trainer<decltype(model)> t(model, opt, loader, to);
    while (!t.done()) {
      const auto before = B::transfers().read().downloads;
      reports.push_back(t.step());
      downloads.push_back(B::transfers().read().downloads - before);
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
  // what the reads say: the mean loss of the five steps since the last read, the same run
  for (std::size_t end : {std::size_t(4), std::size_t(9)}) {
    double mean = 0;
    for (std::size_t i = end - 4; i <= end; ++i) mean += every[i].loss / 5;
    CHECK(fifth[end].read_steps == 5);
    CHECK(fifth[end].loss == doctest::Approx(mean).epsilon(1e-5));
    CHECK(fifth[end].grad_norm == doctest::Approx(every[end].grad_norm).epsilon(1e-5));
  }
}
