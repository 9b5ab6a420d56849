// Hugging Face save -> load round trips, exact resume of an interrupted run, a tiny end-to-end
// training run that learns.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>

#include "../data_sets/temp_dir.hpp"
#include "tiny_models.hpp"
#include "vtrans/io/checkpoint_reader.hpp"
#include "vtrans/nn/load.hpp"
#include "vtrans/nn/save.hpp"
#include "vtrans/tensor/cpu.hpp"
#include "vtrans/train/evaluate.hpp"
#include "vtrans/train/trainer.hpp"

namespace {
template <class F>
using model_t = vtrans::nn::transformer<F, vtrans::masks::none, vtrans::cpu, float>;

vtrans::nn::batch_input sample_input() {
  vtrans::nn::batch_input in;
  in.batch = 2;
  in.seq = 5;
  in.ids = {2, 9, 17, 30, 11, 2, 7, 8, 0, 0};
  in.attention_mask = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
  return in;
}

template <class F>
void round_trip(const std::string& family, vtrans::nn::head_kind head, int labels = 3) {
  INFO(family << " " << vtrans::nn::head_name(head));
  vtrans_test::temp_dir tmp;
  auto config = vtrans_test::tiny_config(family, labels);
  config.id2label.clear();
  for (int i = 0; i < labels; ++i) config.id2label.push_back("tag" + std::to_string(i));
  model_t<F> model(config, head, 11);
  const std::string dir = (tmp.path() / "model").string();
  vtrans::nn::save_pretrained(model, dir);
  auto loaded = vtrans::nn::load_pretrained<F>(dir);
  CHECK(loaded.head() == head);
  CHECK(loaded.config().id2label == config.id2label);
  CHECK(loaded.config().architectures == std::vector<std::string>{vtrans::nn::architecture_name(F::id, head)});
  vtrans::autodiff::no_record guard;
  const auto a = model.forward(sample_input()).logits.value().to_host();
  const auto b = loaded.forward(sample_input()).logits.value().to_host();
  REQUIRE(a.size() == b.size());
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
  const vtrans::io::checkpoint_reader r(dir);
  CHECK(r.names().size() == model.parameters().size());  // nothing duplicated, nothing missing
}
}  // namespace

TEST_CASE("save_pretrained -> load_pretrained gives identical logits for the four families") {
  round_trip<vtrans::nn::bert>("bert", vtrans::nn::head_kind::sequence_classification);
  round_trip<vtrans::nn::bert>("bert", vtrans::nn::head_kind::token_classification);
  round_trip<vtrans::nn::bert>("bert", vtrans::nn::head_kind::masked_lm);
  round_trip<vtrans::nn::bert>("bert", vtrans::nn::head_kind::base);
  round_trip<vtrans::nn::roberta>("roberta", vtrans::nn::head_kind::sequence_classification);
  round_trip<vtrans::nn::roberta>("roberta", vtrans::nn::head_kind::masked_lm);
  round_trip<vtrans::nn::gpt2>("gpt2", vtrans::nn::head_kind::causal_lm);
  round_trip<vtrans::nn::gpt2>("gpt2", vtrans::nn::head_kind::sequence_classification);
  round_trip<vtrans::nn::llama>("llama", vtrans::nn::head_kind::causal_lm);
  round_trip<vtrans::nn::llama>("llama", vtrans::nn::head_kind::sequence_classification);
}

TEST_CASE("saved names follow transformers: prefixes, Conv1D layout, tied weights once") {
  vtrans_test::temp_dir tmp;
  {
    model_t<vtrans::nn::bert> m(vtrans_test::tiny_config("bert"), vtrans::nn::head_kind::sequence_classification);
    vtrans::nn::save_pretrained(m, (tmp.path() / "bert").string());
    const vtrans::io::checkpoint_reader r((tmp.path() / "bert").string());
    CHECK(r.has("bert.encoder.layer.0.attention.self.query.weight"));
    CHECK(r.has("bert.pooler.dense.weight"));
    CHECK(r.has("classifier.weight"));
    CHECK(!r.has("bert.classifier.weight"));
  }
  {
    model_t<vtrans::nn::gpt2> m(vtrans_test::tiny_config("gpt2"), vtrans::nn::head_kind::causal_lm);
    vtrans::nn::save_pretrained(m, (tmp.path() / "gpt2").string());
    const vtrans::io::checkpoint_reader r((tmp.path() / "gpt2").string());
    CHECK(r.has("transformer.wte.weight"));
    CHECK(!r.has("lm_head.weight"));
    const auto& info = r.info("transformer.h.0.attn.c_attn.weight");
    CHECK(info.shape == std::vector<std::int64_t>{16, 48});  // Conv1D [in, out]
    CHECK(r.info("transformer.h.0.mlp.c_fc.weight").shape == std::vector<std::int64_t>{16, 32});
    // The transposition is real: element [i, o] of the file is weight[o, i] of the model.
    const auto file = r.read<float>("transformer.h.0.attn.c_attn.weight");
    const auto model = m.parameter("h.0.attn.c_attn.weight").value().to_host();
    CHECK(file[1 * 48 + 5] == model[5 * 16 + 1]);
  }
  {
    model_t<vtrans::nn::llama> m(vtrans_test::tiny_config("llama"), vtrans::nn::head_kind::causal_lm);
    vtrans::nn::save_pretrained(m, (tmp.path() / "llama").string());
    const vtrans::io::checkpoint_reader r((tmp.path() / "llama").string());
    CHECK(r.has("model.embed_tokens.weight"));
    CHECK(r.has("lm_head.weight"));  // untied here
  }
  {
    model_t<vtrans::nn::bert> m(vtrans_test::tiny_config("bert"), vtrans::nn::head_kind::base);
    vtrans::nn::save_pretrained(m, (tmp.path() / "base").string());
    CHECK(vtrans::io::checkpoint_reader((tmp.path() / "base").string()).has("encoder.layer.1.output.dense.weight"));
  }
}

namespace {
struct run_result {
  std::vector<std::vector<float>> weights;
  std::vector<double> losses;
};

template <class F>
run_result train_run(const std::string& family, vtrans::train::task_kind task, int total, int stop_at, const std::string& ckpt) {
  const auto head = vtrans::train::head_for(task);
  auto config = vtrans_test::tiny_config(family, 2, 0.1);
  vtrans::data::batch_plan_options plan;
  plan.batch_size = 4;
  plan.seed = 99;
  plan.bucket_batches = 2;
  vtrans::data::data_loader loader(vtrans_test::synthetic_set(18, 1, task == vtrans::train::task_kind::token_classification), plan);
  vtrans::train::trainer_options o;
  o.task = task;
  o.total_steps = total;
  o.grad_accum = 2;
  o.max_grad_norm = 0.5;
  o.schedule = {vtrans::train::schedule_kind::linear, 2, total};
  o.seed = 1234;
  o.mlm.mask_id = 3;
  o.mlm.vocab_size = config.vocab_size;
  o.mlm.special_ids = {0, 2};
  o.mlm.probability = 0.3;
  vtrans::train::adamw_options ao;
  ao.lr = 3e-3;
  run_result res;
  auto go = [&](model_t<F>& model, bool resume) {
    vtrans::train::adamw<float, vtrans::cpu> opt(model.parameters(), ao, {vtrans::train::no_decay_group()});
    vtrans::train::trainer<model_t<F>> t(model, opt, loader, o);
    if (resume) t.resume(ckpt);
    t.run([&](const vtrans::train::step_report& r) {
      res.losses.push_back(r.loss);
      if (stop_at > 0 && r.step == stop_at) {
        t.save(ckpt);
        return false;
      }
      return true;
    });
    return t.state().step;
  };
  model_t<F> model(config, head, 5);
  const auto reached = go(model, false);
  if (stop_at > 0) {
    CHECK(reached == stop_at);
    model_t<F> fresh(config, head, 77);  // other initial weights: everything must come from the checkpoint
    CHECK(go(fresh, true) == total);
    for (const auto& [n, p] : fresh.parameters()) res.weights.push_back(p.value().to_host());
  } else {
    for (const auto& [n, p] : model.parameters()) res.weights.push_back(p.value().to_host());
  }
  return res;
}

template <class F>
void check_resume(const std::string& family, vtrans::train::task_kind task) {
  INFO(family << " " << vtrans::train::task_kind_name(task));
  vtrans_test::temp_dir tmp;
  const std::string ckpt = (tmp.path() / "ckpt").string();
  const auto whole = train_run<F>(family, task, 8, 0, ckpt);
  const auto split = train_run<F>(family, task, 8, 3, ckpt);  // 18 items / 4 = 5 batches: crosses an epoch
  REQUIRE(whole.losses.size() == 8);
  REQUIRE(split.losses.size() == 8);
  for (std::size_t i = 0; i < 8; ++i) CHECK(whole.losses[i] == split.losses[i]);
  REQUIRE(whole.weights.size() == split.weights.size());
  bool identical = true;
  for (std::size_t i = 0; i < whole.weights.size(); ++i)
    identical = identical && whole.weights[i].size() == split.weights[i].size() &&
                std::memcmp(whole.weights[i].data(), split.weights[i].data(), whole.weights[i].size() * sizeof(float)) == 0;
  CHECK(identical);
}
}  // namespace

TEST_CASE("an interrupted and resumed run is bit-identical to an uninterrupted one") {
  check_resume<vtrans::nn::bert>("bert", vtrans::train::task_kind::sequence_classification);
  check_resume<vtrans::nn::roberta>("roberta", vtrans::train::task_kind::masked_lm);
  check_resume<vtrans::nn::gpt2>("gpt2", vtrans::train::task_kind::causal_lm);
}

TEST_CASE("resume refuses a checkpoint of another seed and a folder that is not a checkpoint") {
  vtrans_test::temp_dir tmp;
  auto config = vtrans_test::tiny_config("bert");
  model_t<vtrans::nn::bert> model(config, vtrans::nn::head_kind::sequence_classification);
  vtrans::data::batch_plan_options plan;
  plan.batch_size = 4;
  vtrans::data::data_loader loader(vtrans_test::synthetic_set(8, 1), plan);
  vtrans::train::adamw<float, vtrans::cpu> opt(model.parameters());
  vtrans::train::trainer_options o;
  o.seed = 1;
  vtrans::train::trainer<model_t<vtrans::nn::bert>> t(model, opt, loader, o);
  t.step();
  const std::string ckpt = (tmp.path() / "c").string();
  t.save(ckpt);
  t.save(ckpt);  // replacing an existing checkpoint
  CHECK(vtrans::train::is_training_checkpoint(ckpt));
  o.seed = 2;
  vtrans::train::trainer<model_t<vtrans::nn::bert>> other(model, opt, loader, o);
  CHECK_THROWS_WITH(other.resume(ckpt), doctest::Contains("seed"));
  CHECK_THROWS_WITH(other.resume(tmp.path().string()), doctest::Contains("not a training checkpoint"));
  std::size_t leftovers = 0;
  for (const auto& e : std::filesystem::directory_iterator(tmp.path())) leftovers += e.path().filename() != "c";
  CHECK(leftovers == 0);  // no temporary or old folders left behind
}

TEST_CASE("a tiny end-to-end run learns the synthetic task") {
  auto config = vtrans_test::tiny_config("bert", 2);
  model_t<vtrans::nn::bert> model(config, vtrans::nn::head_kind::sequence_classification, 2);
  vtrans::data::batch_plan_options plan;
  plan.batch_size = 16;
  plan.seed = 3;
  vtrans::data::data_loader train(vtrans_test::synthetic_set(256, 10), plan);
  plan.shuffle = false;
  vtrans::data::data_loader test(vtrans_test::synthetic_set(128, 11), plan);
  vtrans::train::adamw_options ao;
  ao.lr = 3e-3;
  vtrans::train::adamw<float, vtrans::cpu> opt(model.parameters(), ao, {vtrans::train::no_decay_group()});
  vtrans::train::trainer_options o;
  o.total_steps = 150;
  o.schedule = {vtrans::train::schedule_kind::linear, 10, 150};
  vtrans::train::trainer<model_t<vtrans::nn::bert>> t(model, opt, train, o);
  const double before = vtrans::train::evaluate(model, vtrans::train::task_kind::sequence_classification, test).metrics.at("loss");
  t.run();
  const auto after = vtrans::train::evaluate(model, vtrans::train::task_kind::sequence_classification, test).metrics;
  INFO("test loss " << before << " -> " << after.at("loss") << ", accuracy " << after.at("accuracy"));
  CHECK(after.at("loss") < 0.5 * before);
  CHECK(after.at("accuracy") > 0.85);
}
