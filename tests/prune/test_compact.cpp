// A model with deterministic masks and its compacted model compute the same function, and the
// compacted model has exactly the parameter count its sizes predict, for every family.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>

#include "support/backends.hpp"
#include "vtrans/nn/load.hpp"
#include "vtrans/prune/compact.hpp"
#include "vtrans/prune/cost.hpp"
#include "vtrans/prune/export.hpp"

using namespace vtrans;

namespace {
const std::string models_dir = std::string(VTRANS_TEST_DATA_DIR) + "/models/";

nn::batch_input sample_batch(const io::model_config& c, std::uint64_t seed) {
  nn::batch_input in;
  in.batch = 2;
  in.seq = 6;
  for (vtrans::index i = 0; i < in.batch * in.seq; ++i) {
    std::int32_t id = static_cast<std::int32_t>(math::uniform(seed, std::uint64_t(i)) * double(c.vocab_size - 3)) + 3;
    if (c.pad_token_id >= 0 && id == c.pad_token_id) id = 3;
    in.ids.push_back(id);
    in.attention_mask.push_back(i == in.batch * in.seq - 1 ? 0 : 1);  // one padded key
  }
  return in;
}

template <class Unit>
void set_mu(Unit& u, const std::vector<float>& mu) {
  auto& p = const_cast<autodiff::param<float, typename std::decay_t<decltype(u.mu())>::backend>&>(u.mu());
  p.value() = tensor<float, typename std::decay_t<decltype(u.mu())>::backend>::from_host(p.shape(), mu);
}

// Random keep decisions (at least one unit kept where needed) and mask values around 1.
template <class Unit>
void randomise(Unit& u, std::uint64_t seed, double keep_rate, bool at_least_one = true) {
  const vtrans::index n = u.size();
  std::vector<bool> keep(static_cast<std::size_t>(n));
  bool any = false;
  for (vtrans::index i = 0; i < n; ++i) any = any || (keep[std::size_t(i)] = math::uniform(seed, std::uint64_t(i)) < keep_rate);
  if (at_least_one && !any) keep[0] = true;
  u.force_keep(keep);
  std::vector<float> mu(static_cast<std::size_t>(n));
  for (vtrans::index i = 0; i < n; ++i) mu[std::size_t(i)] = float(0.5 + math::uniform(seed + 7, std::uint64_t(i)));
  set_mu(u, mu);
}

// A reference model's weights under VIB masks.
template <class Family, class B>
nn::transformer<Family, masks::vib, B, float> load_masked(const std::string& name) {
  const std::string dir = models_dir + name;
  const auto config = io::load_config(dir + "/config.json");
  nn::transformer<Family, masks::vib, B, float> masked(config, nn::head_from_architectures(config.family, config.architectures, dir));
  nn::load_weights(masked, dir);
  return masked;
}

template <class Family, class B>
void check_compaction(const std::string& name, std::uint64_t seed) {
  INFO("model " << name << " seed " << seed);
  auto masked = load_masked<Family, B>(name);
  const auto& config = masked.config();
  const auto head = masked.head();
  auto& m = masked.masks();
  randomise(m.hidden, seed + 1, 0.7);
  for (std::size_t l = 0; l < m.heads.size(); ++l) {
    randomise(m.heads[l], seed + 10 + l, 0.6);
    randomise(m.intermediate[l], seed + 20 + l, 0.6);
  }
  randomise(m.attention, seed + 2, 0.8, false);
  randomise(m.mlp, seed + 3, 0.8, false);
  auto small = prune::compact(masked);

  const auto in = sample_batch(config, seed);
  autodiff::no_record guard;
  const auto want = masked.forward(in).logits.value().to_host();
  const auto got = small.forward(in).logits.value().to_host();
  REQUIRE(want.size() == got.size());
  double worst = 0, scale = 0;
  for (std::size_t i = 0; i < want.size(); ++i) scale = std::max(scale, double(std::abs(want[i])));
  for (std::size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::abs(double(want[i]) - got[i]) / std::max(1e-3, scale));
  CHECK(worst <= 1e-5);
  CHECK(small.parameter_count() == prune::cost(small.config(), head, in.seq).total_params());
  CHECK(small.config().hidden_size == vtrans::index(prune::kept_of(masked).hidden.size()));
}
}  // namespace

TEST_CASE_TEMPLATE("compaction preserves the function of the masked model", B, VTRANS_TEST_BACKENDS) {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    for (const char* name : {"bert-cls", "bert-mlm", "bert-token-cls", "bert-pruned-heads"}) check_compaction<nn::bert, B>(name, seed);
    check_compaction<nn::roberta, B>("roberta-cls", seed);
    for (const char* name : {"gpt2-lm", "gpt2-cls"}) check_compaction<nn::gpt2, B>(name, seed);
    for (const char* name : {"llama-gqa", "llama-hetero"}) check_compaction<nn::llama, B>(name, seed);
  }
}

namespace {
// Keeps every unit except the given heads; compacts, exports, reloads.
template <class Family>
void check_heads_only_export(const std::string& name, const std::vector<std::vector<bool>>& heads, const std::string& want_pruned_heads,
                             bool drop_a_neuron = false) {
  INFO("model " << name);
  auto masked = load_masked<Family, cpu>(name);
  const auto& config = masked.config();
  auto& m = masked.masks();
  m.for_each([](masks::structure, vtrans::index, auto& u) { u.force_keep(std::vector<bool>(std::size_t(u.size()), true)); });
  for (std::size_t l = 0; l < heads.size(); ++l) m.heads[l].force_keep(heads[l]);
  if (drop_a_neuron) {
    auto k = m.intermediate[1].keep();
    k[2] = false;
    m.intermediate[1].force_keep(k);
  }
  const auto kept = prune::kept_of(masked);
  const auto small = prune::compact(masked);
  const std::string out = std::string(VTRANS_BINARY_DIR) + "/test-export-" + name;
  prune::save_pruned(small, kept, config, out);

  std::ifstream file(out + "/config.json");
  const auto written = nlohmann::json::parse(file);
  if (want_pruned_heads.empty()) {
    CHECK_FALSE(written.contains("pruned_heads"));
  } else {
    CHECK(written.at("pruned_heads").dump() == want_pruned_heads);
    CHECK_FALSE(written.contains("per_layer_config"));
  }
  auto back = nn::load_pretrained<Family>(out);
  CHECK(back.config().layers == small.config().layers);
  const auto in = sample_batch(config, 4);
  autodiff::no_record guard;
  const auto a = small.forward(in).logits.value().to_host(), b = back.forward(in).logits.value().to_host();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-6));
}
}  // namespace

TEST_CASE("head-only pruning exports stock pruned_heads; other pruning per-layer sizes") {
  // bert-cls and gpt2-lm have 2 layers of 4 heads
  check_heads_only_export<nn::bert>("bert-cls", {{true, false, true, false}, {true, true, true, true}}, R"({"0":[1,3]})");
  check_heads_only_export<nn::gpt2>("gpt2-lm", {{false, true, true, true}, {true, true, false, true}}, R"({"0":[0],"1":[2]})");
  check_heads_only_export<nn::roberta>("roberta-cls", {{true, true, false, true}, {true, true, true, true}}, "", true);
  // grouped-query attention has no pruned_heads in transformers
  check_heads_only_export<nn::llama>("llama-gqa", {{true, false}, {true, true}}, "");
}
