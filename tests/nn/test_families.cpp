// Every family against golden outputs of an independent PyTorch implementation
// (tests/reference/make_checkpoints.py), on small random checkpoints in Hugging Face layout: every
// folder of tests/data/models is checked, and every family must have one.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "reference/golden_models.hpp"
#include "support/backends.hpp"
#include "vtrans/io/npy.hpp"
#include "vtrans/nn/load.hpp"
#include "vtrans/prune/budget.hpp"

using namespace vtrans;

namespace {
const std::string models_dir = vtrans_test::models_dir();

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

template <class Model>
void check_against_golden(const Model& model, const std::string& dir) {
  const auto in = read_batch(dir);
  autodiff::no_record guard;
  auto out = model.forward(in);
  check_matches(out.logits.value().to_host(), io::read_npy<float>(dir + "/expected.npy"), out.logits.shape());
  check_matches(out.hidden.value().to_host(), io::read_npy<float>(dir + "/expected_hidden.npy"), out.hidden.shape());
}

// Loads the folder through the compile-time tag of its family, as typed code does.
template <class B>
void check_model(const std::string& name) {
  INFO("model " << name);
  const std::string dir = models_dir + name;
  nn::with_family(io::load_config(dir).family, [&](auto family) {
    check_against_golden(nn::load_pretrained<decltype(family), B, float>(dir), dir);
    return 0;
  });
}
}  // namespace

TEST_CASE_TEMPLATE("every checkpoint matches the reference", B, VTRANS_TEST_BACKENDS) {
  const auto names = vtrans_test::golden_models();
  REQUIRE(names.size() >= 15);
  for (const auto& name : names) check_model<B>(name);
}

TEST_CASE("every family has a golden checkpoint") {
  std::set<std::string> covered;
  for (const auto& name : vtrans_test::golden_models()) covered.insert(io::load_config(models_dir + name).model_type);
  nn::for_each_family([&](auto family) {
    const std::string type(decltype(family)::spec.model_type);
    CHECK_MESSAGE(covered.count(type), "no checkpoint of " << type << " in tests/data/models");
  });
}

TEST_CASE("the goldens notice a wrong sliding-window rule") {
  // Mistral's window of 4 over 9 tokens, Qwen2's on its upper layers, Qwen2's ignored one: with the
  // windows the other way round the outputs are far from the goldens.
  for (const char* name : {"mistral-lm", "qwen2-window", "qwen2-lm"}) {
    INFO(name);
    const std::string dir = models_dir + name;
    auto config = io::load_config(dir);
    bool any = false;
    for (auto& l : config.layers) {
      any = any || l.window > 0;
      l.window = l.window > 0 ? 0 : 3;
    }
    CHECK(any == (std::string(name) != "qwen2-lm"));
    nn::transformer<nn::any_family> model(config, nn::head_from_architectures(config.family, config.architectures, dir));
    nn::load_weights(model, dir);
    const auto in = read_batch(dir);
    autodiff::no_record guard;
    const auto got = model.forward(in).logits.value().to_host();
    const auto want = io::read_npy<float>(dir + "/expected.npy");
    double worst = 0;
    for (std::size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(double(got[i]) - want.data[i]));
    CHECK(worst > 1e-2);
  }
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
  CHECK_THROWS_WITH_AS(nn::transformer<nn::llama>(io::load_config(models_dir + "mistral-lm"), nn::head_kind::base),
                       doctest::Contains("config is for model_type mistral"), vtrans::usage_error);
  CHECK_THROWS_WITH_AS(nn::transformer<nn::any_family>(io::load_config(models_dir + "gpt2-lm"), nn::head_kind::masked_lm),
                       doctest::Contains("gpt2 has no masked_lm head"), vtrans::usage_error);
}

TEST_CASE("the exact parameter count from the sizes equals the parameters a model holds") {
  for (const auto& name : vtrans_test::golden_models()) {
    INFO(name);
    const auto config = io::load_config(models_dir + name + "/config.json");
    const auto head = nn::head_from_architectures(config.family, config.architectures, name);
    for (vtrans::index seq : {8, 100}) {
      nn::transformer<nn::any_family> model(config, head);
      const auto m = prune::cost(config, head, seq);
      CHECK(m.total_params() == model.parameter_count());
      CHECK(prune::exact_cost(config, head, seq).params == doctest::Approx(double(m.total_params())));
      CHECK(prune::exact_cost(config, head, seq, false).params == doctest::Approx(double(m.total_params() - m.embedding_params)));
      CHECK(prune::exact_cost(config, head, seq).flops == doctest::Approx(m.flops_per_token()));
    }
  }
}
