// An interrupted prune resumed from its saved state gives the same model, bit for bit, as an
// uninterrupted one; a state from another run is refused.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "../io/io_test_util.hpp"
#include "vtrans/masks/policies.hpp"
#include "vtrans/prune/vtrans.hpp"
#include "vtrans/tensor/cpu.hpp"

using namespace vtrans;
namespace fs = std::filesystem;

namespace {
std::vector<data::sequence> parity_task(std::size_t n) {
  std::vector<data::sequence> out;
  for (std::size_t i = 0; i < n; ++i) {
    data::sequence s;
    s.ids.push_back(1);
    int ones = 0;
    for (int t = 0; t < 9; ++t) {
      const auto id = std::int32_t(3 + math::uniform(7, i * 16 + std::size_t(t)) * 40.0);
      s.ids.push_back(id);
      ones += id % 2;
    }
    s.label = ones % 2;
    out.push_back(s);
  }
  return out;
}

io::model_config small_bert() {
  return io::parse_config(nlohmann::json{{"model_type", "bert"}, {"vocab_size", 44}, {"hidden_size", 32}, {"num_hidden_layers", 3},
                                         {"num_attention_heads", 4}, {"intermediate_size", 64}, {"max_position_embeddings", 16},
                                         {"hidden_dropout_prob", 0.1}, {"architectures", {"BertForSequenceClassification"}}});
}

template <class Model>
void check_same_weights(const Model& a, const Model& b) {
  const auto pa = a.parameters(), pb = b.parameters();
  REQUIRE(pa.size() == pb.size());
  for (std::size_t i = 0; i < pa.size(); ++i) {
    REQUIRE(pa[i].first == pb[i].first);
    REQUIRE(pa[i].second.shape() == pb[i].second.shape());
    const auto x = pa[i].second.value().to_host(), y = pb[i].second.value().to_host();
    CHECK_MESSAGE(std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0, pa[i].first);
  }
}

template <class Policy>
void check_resume(prune::variant v, double layer_weight, std::int64_t stop_at) {
  const auto config = small_bert();
  nn::transformer<nn::bert> teacher(config, nn::head_kind::sequence_classification, 5);
  const auto train_set = parity_task(48);
  prune::prune_options o;
  o.kind = v;
  o.data_fraction = 1.0;
  o.target = prune::budget::parse("params=0.6");
  o.target.seq_len = 10;
  o.prune_steps = 16;
  o.max_extra_steps = 4;
  o.finetune_steps = 3;
  o.batch_size = 8;  // 6 batches per epoch: the stop falls inside an epoch
  o.distill.layer_weight = layer_weight;
  o.progress = train::progress_style::silent;
  const auto task = train::task_kind::sequence_classification;
  const auto whole = prune::vtrans_prune<Policy>(teacher, task, train_set, data::collate_options{}, o);

  io_test::temp_dir tmp;
  o.state_dir = (tmp.path / "state").string();
  o.checkpoint_every = 5;
  std::int64_t steps = 0;
  o.stop_requested = [&] { return ++steps == stop_at; };
  CHECK_THROWS_WITH_AS(prune::vtrans_prune<Policy>(teacher, task, train_set, data::collate_options{}, o),
                       doctest::Contains(("pruning stopped at step " + std::to_string(stop_at) + " of 16; its state is saved in").c_str()), vtrans::interrupted);
  REQUIRE(prune::is_pruning_state(o.state_dir));

  o.stop_requested = nullptr;
  o.resume = true;
  const auto resumed = prune::vtrans_prune<Policy>(teacher, task, train_set, data::collate_options{}, o);
  CHECK(resumed.pruning_steps == whole.pruning_steps);
  CHECK(resumed.kept.hidden == whole.kept.hidden);
  CHECK(resumed.kept.hidden_scale == whole.kept.hidden_scale);
  REQUIRE(resumed.kept.layers.size() == whole.kept.layers.size());
  for (std::size_t l = 0; l < whole.kept.layers.size(); ++l) {
    CHECK(resumed.kept.layers[l].kv_heads == whole.kept.layers[l].kv_heads);
    CHECK(resumed.kept.layers[l].intermediate == whole.kept.layers[l].intermediate);
    CHECK(resumed.kept.layers[l].head_scale == whole.kept.layers[l].head_scale);
  }
  REQUIRE(resumed.trajectory.size() == whole.trajectory.size());
  for (std::size_t i = 0; i < whole.trajectory.size(); ++i) {
    CHECK(resumed.trajectory[i].step == whole.trajectory[i].step);
    CHECK(resumed.trajectory[i].loss == whole.trajectory[i].loss);
    CHECK(resumed.trajectory[i].lambda1 == whole.trajectory[i].lambda1);
    CHECK(resumed.trajectory[i].head_scores == whole.trajectory[i].head_scores);
  }
  REQUIRE(resumed.model.config().hidden_size == whole.model.config().hidden_size);
  check_same_weights(resumed.model, whole.model);

  // the state belongs to this run: another seed or budget is refused, naming the option
  o.seed = 2;
  CHECK_THROWS_WITH_AS(prune::vtrans_prune<Policy>(teacher, task, train_set, data::collate_options{}, o),
                       doctest::Contains("the pruning state belongs to another run (seed was 1, now 2)"), vtrans::usage_error);
}
}  // namespace

TEST_CASE("a stopped VTrans prune (weights trained, VIB masks, settling multipliers) resumes bit for bit") {
  check_resume<masks::vib>(prune::variant::vtrans, 0.5, 3);  // inside the first epoch: the teacher cache is refilled
}

TEST_CASE("a stopped CoFi prune (hard-concrete masks, Adam multipliers) resumes bit for bit") {
  check_resume<masks::hard_concrete>(prune::variant::vtrans, 0.0, 9);
}

TEST_CASE("a stopped Faster-VTrans prune (weights frozen) resumes bit for bit") {
  check_resume<masks::vib>(prune::variant::faster, 0.0, 7);
}

TEST_CASE("a pruning state with a damaged file is refused naming the file, and the run is left as it was") {
  const auto config = small_bert();
  nn::transformer<nn::bert> teacher(config, nn::head_kind::sequence_classification, 5);
  const auto train_set = parity_task(16);
  io_test::temp_dir tmp;
  prune::prune_options o;
  o.target = prune::budget::parse("params=0.6");
  o.prune_steps = 2;
  o.max_extra_steps = 0;
  o.finetune_steps = 0;
  o.batch_size = 8;
  o.progress = train::progress_style::silent;
  o.state_dir = (tmp.path / "state").string();
  const auto task = train::task_kind::sequence_classification;
  prune::vtrans_prune<masks::vib>(teacher, task, train_set, data::collate_options{}, o);  // the final state is saved
  REQUIRE(prune::is_pruning_state(o.state_dir));
  o.resume = true;
  {
    std::ofstream f(fs::path(o.state_dir) / "pruning_state.json");
    f << "{\"step\": 2}";
  }
  CHECK_THROWS_WITH_AS(prune::vtrans_prune<masks::vib>(teacher, task, train_set, data::collate_options{}, o),
                       doctest::Contains("pruning_state.json: bad pruning state"), vtrans::format_error);
  fs::remove_all(o.state_dir);
  CHECK_THROWS_WITH_AS(prune::vtrans_prune<masks::vib>(teacher, task, train_set, data::collate_options{}, o),
                       doctest::Contains("no pruning state"), vtrans::file_error);
}
