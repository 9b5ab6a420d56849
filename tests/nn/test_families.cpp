// The four families against golden outputs of an independent PyTorch implementation
// (tests/reference/make_checkpoints.py), on small random checkpoints in Hugging Face layout.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "support/backends.hpp"
#include "vtrans/io/npy.hpp"
#include "vtrans/nn/load.hpp"
#include "vtrans/prune/cost.hpp"

using namespace vtrans;

namespace {
const std::string models_dir = std::string(VTRANS_TEST_DATA_DIR) + "/models/";

// One row of whitespace-separated integers per line.
std::vector<std::vector<std::int32_t>> read_rows(const std::string& path) {
  std::vector<std::vector<std::int32_t>> rows;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream s(line);
    std::vector<std::int32_t> row;
    for (long v; s >> v;) row.push_back(static_cast<std::int32_t>(v));
    if (!row.empty()) rows.push_back(row);
  }
  return rows;
}

nn::batch_input read_batch(const std::string& dir) {
  nn::batch_input in;
  auto flat = [](const std::vector<std::vector<std::int32_t>>& rows) {
    std::vector<std::int32_t> out;
    for (const auto& r : rows) out.insert(out.end(), r.begin(), r.end());
    return out;
  };
  const auto ids = read_rows(dir + "/input_ids.txt");
  REQUIRE(!ids.empty());
  in.batch = vtrans::index(ids.size());
  in.seq = vtrans::index(ids[0].size());
  in.ids = flat(ids);
  in.attention_mask = flat(read_rows(dir + "/attention_mask.txt"));
  std::ifstream tt(dir + "/token_type_ids.txt");
  if (tt) in.token_type_ids = flat(read_rows(dir + "/token_type_ids.txt"));
  return in;
}

// |got - want| <= 1e-4 * (1 + |want|): relative error 1e-4 wherever outputs are not tiny.
void check_matches(const std::vector<float>& got, const io::npy_array<float>& want, const shape& got_shape) {
  REQUIRE(got_shape == shape::from_range(want.shape.begin(), want.shape.end()));
  REQUIRE(got.size() == want.data.size());
  double worst = 0;
  for (std::size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(double(got[i]) - want.data[i]) / (1.0 + std::abs(want.data[i])));
  INFO("worst scaled error " << worst);
  CHECK(worst <= 1e-4);
}

template <class Family, class B>
void check_model(const std::string& name) {
  INFO("model " << name);
  const std::string dir = models_dir + name;
  auto model = nn::load_pretrained<Family, B, float>(dir);
  const auto in = read_batch(dir);
  autodiff::no_record guard;
  auto out = model.forward(in);
  check_matches(out.logits.value().to_host(), io::read_npy<float>(dir + "/expected.npy"), out.logits.shape());
  check_matches(out.hidden.value().to_host(), io::read_npy<float>(dir + "/expected_hidden.npy"), out.hidden.shape());
}
}  // namespace

TEST_CASE_TEMPLATE("BERT checkpoints match the reference", B, VTRANS_TEST_BACKENDS) {
  for (const char* name : {"bert-cls", "bert-base-oldnames", "bert-mlm", "bert-token-cls", "bert-pruned-heads"})
    check_model<nn::bert, B>(name);
}
TEST_CASE_TEMPLATE("RoBERTa checkpoints match the reference", B, VTRANS_TEST_BACKENDS) { check_model<nn::roberta, B>("roberta-cls"); }
TEST_CASE_TEMPLATE("GPT-2 checkpoints match the reference", B, VTRANS_TEST_BACKENDS) {
  for (const char* name : {"gpt2-lm", "gpt2-cls", "gpt2-f16"}) check_model<nn::gpt2, B>(name);
}
TEST_CASE_TEMPLATE("LLaMA checkpoints match the reference", B, VTRANS_TEST_BACKENDS) {
  for (const char* name : {"llama-gqa", "llama-hetero", "llama-sharded"}) check_model<nn::llama, B>(name);
}

TEST_CASE("padding does not change the outputs of real tokens") {
  // The same sequence alone and padded inside a batch: real positions agree.
  auto model = nn::load_pretrained<nn::bert>(models_dir + "bert-cls");
  auto in = read_batch(models_dir + "bert-cls");
  autodiff::no_record guard;
  const auto full = model.forward(in).hidden.value().to_host();
  vtrans::index len = 0;
  for (vtrans::index s = 0; s < in.seq; ++s) len += in.attention_mask[std::size_t(in.seq + s)];  // row 1
  REQUIRE(len < in.seq);
  nn::batch_input one;
  one.batch = 1;
  one.seq = len;
  one.ids.assign(in.ids.begin() + in.seq, in.ids.begin() + in.seq + len);
  if (!in.token_type_ids.empty()) one.token_type_ids.assign(in.token_type_ids.begin() + in.seq, in.token_type_ids.begin() + in.seq + len);
  const auto alone = model.forward(one).hidden.value().to_host();
  const vtrans::index D = model.config().hidden_size;
  for (vtrans::index i = 0; i < len * D; ++i) CHECK(alone[std::size_t(i)] == doctest::Approx(full[std::size_t(in.seq * D + i)]).epsilon(1e-4));
}

TEST_CASE("loading rejects checkpoints that disagree with config.json") {
  CHECK_THROWS_WITH_AS(nn::load_pretrained<nn::gpt2>(models_dir + "bert-cls"), doctest::Contains("model_type is bert, expected gpt2"), io::format_error);
}

TEST_CASE("the exact parameter count from the sizes equals the parameters a model holds") {
  for (const char* name : {"bert-cls", "bert-base-oldnames", "bert-mlm", "bert-token-cls", "bert-pruned-heads", "roberta-cls", "gpt2-lm",
                           "gpt2-cls", "gpt2-f16", "llama-gqa", "llama-hetero", "llama-sharded"}) {
    INFO(name);
    const auto config = io::load_config(models_dir + name + "/config.json");
    nn::with_family(config.family, [&](auto family) {
      using F = decltype(family);
      const auto head = nn::head_from_architectures(config.family, config.architectures, name);
      nn::transformer<F> model(config, head);
      CHECK(prune::cost(config, head, 8).total_params() == model.parameter_count());
      return 0;
    });
  }
}
