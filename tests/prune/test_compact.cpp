// A model with deterministic masks and its compacted model compute the same function, and the
// compacted model has exactly the parameter count its sizes predict and the masks promised, for
// every checkpoint of every family.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>

#include "reference/golden_models.hpp"
#include "support/backends.hpp"
#include "vtrans/nn/load.hpp"
#include "vtrans/prune/compact.hpp"
#include "vtrans/prune/budget.hpp"
#include "vtrans/prune/export.hpp"

using namespace vtrans;

namespace {
const std::string models_dir = vtrans_test::models_dir();

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

template <class B>
void check_compaction(const std::string& name, std::uint64_t seed) {
  INFO("model " << name << " seed " << seed);
  auto masked = load_masked<nn::any_family, B>(name);
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
  const auto promised = prune::predicted_cost(masked, 6);
  auto small = prune::compact(masked);

  const auto in = sample_batch(config, seed);
  autodiff::no_record guard;
  auto want = masked.forward(in).logits.value().to_host();
  const auto got = small.forward(in).logits.value().to_host();
  const auto kept = prune::kept_of(masked);
  INFO("hidden units kept: " << kept.hidden.size());
  if (head == nn::head_kind::base) {
    // The output is the hidden state: its kept units, where a final norm's mask scale (which
    // compaction folds into a head) is still applied.
    std::vector<float> on_kept;
    const std::size_t D = std::size_t(config.hidden_size);
    const bool final_norm = masked.spec().model.final_norm.present();
    for (std::size_t row = 0; row < want.size() / D; ++row)
      for (std::size_t j = 0; j < kept.hidden.size(); ++j)
        on_kept.push_back(float(want[row * D + std::size_t(kept.hidden[j])] / (final_norm ? kept.hidden_scale[j] : 1.0)));
    want = on_kept;
  }
  REQUIRE(want.size() == got.size());
  double worst = 0, scale = 0;
  for (std::size_t i = 0; i < want.size(); ++i) scale = std::max(scale, double(std::abs(want[i])));
  for (std::size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::abs(double(want[i]) - got[i]) / std::max(1e-3, scale));
  CHECK(worst <= 1e-5);
  CHECK(small.parameter_count() == prune::cost(small.config(), head, in.seq).total_params());
  CHECK(promised.params == double(small.parameter_count()));  // the budget's prediction is exact
  CHECK(promised.flops == doctest::Approx(prune::cost(small.config(), head, in.seq).flops_per_token()));
  CHECK(small.config().hidden_size == vtrans::index(kept.hidden.size()));
}
}  // namespace

TEST_CASE_TEMPLATE("compaction preserves the function of the masked model", B, VTRANS_TEST_BACKENDS) {
  const auto names = vtrans_test::golden_models();
  REQUIRE(names.size() >= 15);
  for (std::uint64_t seed : {1u, 2u, 3u})
    for (const auto& name : names) check_compaction<B>(name, seed);
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
  // grouped-query attention has no pruned_heads in transformers: groups are kept whole, sizes per layer
  check_heads_only_export<nn::llama>("llama-gqa", {{true, false}, {true, true}}, "");
  check_heads_only_export<nn::qwen2>("qwen2-window", {{true}, {true}, {true}}, "", true);
  check_heads_only_export<nn::mistral>("mistral-lm", {{false, true}, {true, true}}, "");
}
