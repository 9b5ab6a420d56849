// The pruning loop at depth: 12-layer narrow models of every family (hidden 16), where a rounded
// sum over layer masks or a drifting Lagrangian shows and a 2-layer model hides it.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "train/tiny_models.hpp"
#include "vtrans/prune/vtrans.hpp"
#include "vtrans/tensor/cpu.hpp"

using namespace vtrans;

namespace {
constexpr vtrans::index seq = 8;

const char* const families[] = {"bert", "roberta", "gpt2", "llama", "qwen2", "mistral"};

// One compiled model for every family (nn::any_family), 12 layers of width 16.
io::model_config deep_config(const std::string& family) { return vtrans_test::tiny_config(family, 2, 0.0, 12); }
nn::head_kind head_of(const io::model_config& c) {
  return c.family->causal ? nn::head_kind::causal_lm : nn::head_kind::sequence_classification;
}
train::task_kind task_of(const io::model_config& c) {
  return c.family->causal ? train::task_kind::causal_lm : train::task_kind::sequence_classification;
}
template <class Policy = masks::vib>
nn::transformer<nn::any_family, Policy> deep_model(const std::string& family, std::uint64_t seed = 1) {
  const auto c = deep_config(family);
  return nn::transformer<nn::any_family, Policy>(c, head_of(c), seed);
}
nn::transformer<nn::any_family> deep_teacher(const std::string& family, std::uint64_t seed) {
  const auto c = deep_config(family);
  return nn::transformer<nn::any_family>(c, head_of(c), seed);
}

// VIB masks with mu = 1 and log sigma^2 = -log alpha.
template <class Unit>
void set_log_alpha(Unit& u, const std::vector<double>& la) {
  std::vector<float> mu(la.size(), 1.0f), lv(la.size());
  for (std::size_t i = 0; i < la.size(); ++i) lv[i] = float(-la[i]);
  const_cast<autodiff::param<float, cpu>&>(u.mu()).value() = tensor<float, cpu>::from_host(shape{u.size()}, mu);
  const_cast<autodiff::param<float, cpu>&>(u.log_var()).value() = tensor<float, cpu>::from_host(shape{u.size()}, lv);
}

// Distinct scores of magnitude in [lo, hi], 70% positive (kept by the rule); whole sub-layers at +hi.
template <class Model>
void random_log_alpha(Model& m, double lo, double hi, std::uint64_t seed) {
  std::uint64_t stream = seed;
  m.masks().for_each([&](masks::structure s, vtrans::index, auto& u) {
    std::vector<double> la(std::size_t(u.size()));
    ++stream;
    for (std::size_t i = 0; i < la.size(); ++i) {
      const double mag = lo + (hi - lo) * math::uniform(stream, 2 * i);
      la[i] = s == masks::structure::attention || s == masks::structure::mlp ? hi : math::uniform(stream, 2 * i + 1) < 0.7 ? mag : -mag;
    }
    if (s == masks::structure::hidden) la[0] = hi;  // at least one hidden unit
    set_log_alpha(u, la);
  });
}

template <class Model>
std::vector<std::vector<bool>> decisions(const Model& m) {
  std::vector<std::vector<bool>> out;
  m.masks().for_each([&](masks::structure, vtrans::index, const auto& u) { out.push_back(u.keep()); });
  return out;
}

prune::budget count_budget(double params) {
  prune::budget b;
  b.kind = prune::budget_kind::param_count;
  b.value = params;
  b.seq_len = seq;
  return b;
}

template <class Model>
double expected_params(const Model& m) {
  autodiff::no_record guard;
  return double(prune::expected_cost(m, seq).params.item());
}

std::vector<data::sequence> toy_set(std::size_t n, std::uint64_t seed) { return vtrans_test::synthetic_set(n, seed); }
}  // namespace

TEST_CASE("12 layers: inside the window the selection is exactly the masks' keep rule") {
  for (const std::string family : families) {
    INFO(family);
    auto m = deep_model(family);
    random_log_alpha(m, 8, 14, 3);  // sharp masks: the expected size is the keep rule's size
    const auto rule = decisions(m);
    const auto full = prune::exact_cost(m.config(), m.head(), seq);
    const auto b = count_budget(1.002 * prune::predicted_cost(m, seq).params);
    REQUIRE(std::abs(expected_params(m) - b.value) <= 0.01 * b.value);
    const auto r = prune::select_to_budget(m, b, full);
    CHECK(r.flipped_units == 0);
    CHECK(r.flipped_param_fraction == 0.0);
    CHECK(r.scale == 1.0);
    CHECK(decisions(m) == rule);
  }
}

TEST_CASE("12 layers: budget corrections flip only the units next to the threshold of their own structure") {
  for (const std::string family : families)
    for (double factor : {0.93, 1.07}) {
      INFO(family << ", budget " << factor << " x the keep rule's size");
      auto m = deep_model(family);
      random_log_alpha(m, 0.5, 6, 5);
      const auto rule = decisions(m);
      std::vector<std::vector<double>> scores;
      m.masks().for_each([&](masks::structure, vtrans::index, const auto& u) { scores.push_back(u.score()); });
      const auto full = prune::exact_cost(m.config(), m.head(), seq);
      const auto b = count_budget(factor * prune::predicted_cost(m, seq).params);
      const auto r = prune::select_to_budget(m, b, full);
      CHECK(r.final_size <= b.value);
      CHECK(r.final_size >= 0.98 * b.value);
      CHECK(r.flipped_units > 0);
      CHECK(r.flipped_param_fraction > 0.0);
      const auto after = decisions(m);
      std::size_t k = 0, flipped = 0;
      m.masks().for_each([&](masks::structure s, vtrans::index, const auto&) {
        const auto &before = rule[k], &now = after[k];
        const auto& score = scores[k];
        ++k;
        if (s == masks::structure::attention || s == masks::structure::mlp) {
          CHECK(now == before);  // whole sub-layers follow the keep rule
          return;
        }
        // both decisions keep the best-scored units of the structure, so what changed lies between
        // the threshold (log alpha 0) and the new boundary: nearer the threshold than anything kept
        // (or removed) by both
        double lowest_kept = 1e9, highest_removed = -1e9;
        for (std::size_t i = 0; i < now.size(); ++i) {
          if (now[i])
            lowest_kept = std::min(lowest_kept, score[i]);
          else
            highest_removed = std::max(highest_removed, score[i]);
        }
        CHECK(lowest_kept > highest_removed);
        for (std::size_t i = 0; i < now.size(); ++i) {
          if (now[i] == before[i]) continue;
          ++flipped;
          for (std::size_t j = 0; j < now.size(); ++j)
            if (now[j] == before[j]) CHECK((now[j] ? score[j] > score[i] : score[j] < score[i]));
        }
      });
      CHECK(vtrans::index(flipped) == r.flipped_units);
    }
}

TEST_CASE("12 layers: whole sub-layer masks at log alpha 3 keep every sub-layer") {
  // the rounded expected count would remove one of each: 12 sigmoid(3) = 11.43 -> 11
  CHECK(std::llround(12.0 / (1.0 + std::exp(-3.0))) == 11);
  for (const std::string family : families) {
    INFO(family);
    auto m = deep_model(family);
    m.masks().for_each([&](masks::structure s, vtrans::index, auto& u) {
      const bool layer = s == masks::structure::attention || s == masks::structure::mlp;
      std::vector<double> la(std::size_t(u.size()));
      for (std::size_t i = 0; i < la.size(); ++i) la[i] = layer ? 3.0 : 2.0 + 0.01 * double(i);
      set_log_alpha(u, la);
    });
    const auto full = prune::exact_cost(m.config(), m.head(), seq);
    auto b = prune::budget::parse("params=0.5");
    b.seq_len = seq;
    const auto r = prune::select_to_budget(m, b, full);
    CHECK(r.final_size <= 0.5 * full.params);
    const auto dense = prune::compact(m);
    REQUIRE(dense.config().layers.size() == 12);
    for (const auto& l : dense.config().layers) {
      CHECK(l.has_attention);
      CHECK(l.has_mlp);
    }
  }
}

TEST_CASE("12 layers: the Lagrangian settles within 1% of budgets reached from above and from below") {
  // an encoder and a decoder (docs/method.md has the trajectories of all six families; the others
  // share these code paths, and each run takes seconds)
  for (const std::string family : {"bert", "llama"}) {
    const auto teacher = deep_teacher(family, 7);
    const auto data = toy_set(64, 9);
    for (const bool from_below : {false, true}) {
      INFO(family << (from_below ? ", from below" : ", from above"));
      prune::prune_options o;
      o.kind = prune::variant::faster;
      o.target = prune::budget::parse(from_below ? "params=0.6" : "params=0.4");
      o.target.seq_len = seq;
      o.batch_size = 8;
      o.prune_steps = 160;
      o.max_extra_steps = 0;
      o.trajectory_every = 5;
      o.progress = train::progress_style::silent;
      // every unit starts at log alpha -1: P(keep) 0.27 puts the expected size far below the budget
      if (from_below) o.mask_settings["init-log-var"] = 1.0;
      const auto task = task_of(teacher.config());
      const auto r = prune::vtrans_prune<masks::vib>(teacher, task, data, {}, o);
      const double budget_sparsity = 1.0 - o.target.value;
      auto off = [&](double sparsity) { return (1.0 - sparsity) / (1.0 - budget_sparsity) - 1.0; };
      if (from_below)
        CHECK(off(r.trajectory.front().expected_sparsity) < -0.5);
      else
        CHECK(off(r.trajectory.front().expected_sparsity) > 0.5);
      for (const auto& p : r.trajectory)
        if (p.step >= 125) {  // the target is fixed from step 80 (the masks' default ramp: half the schedule)
          INFO("step " << p.step << ": expected sparsity " << p.expected_sparsity << " for " << budget_sparsity);
          CHECK(std::abs(off(p.expected_sparsity)) <= 0.01);
        }
      CHECK(r.stopped_in_window);
    }
  }
}

TEST_CASE("Faster-VTrans with a cached teacher runs no teacher forward after the first epoch") {
  for (const std::string family : {"bert", "gpt2"}) {
    INFO(family);
    const auto teacher = deep_teacher(family, 3);
    const auto data = toy_set(30, 4);  // 4 batches of 8 per epoch, the last one short
    const auto task = task_of(teacher.config());
    prune::prune_options o;
    o.kind = prune::variant::faster;
    o.data_fraction = 1.0;
    o.target = prune::budget::parse("params=0.7");
    o.target.seq_len = seq;
    o.batch_size = 8;
    o.prune_epochs = 3;
    o.max_extra_steps = 0;
    o.trajectory_every = 1;
    o.distill.layer_weight = 0.5;  // layer states are cached too
    o.progress = train::progress_style::silent;
    const auto cached = prune::vtrans_prune<masks::vib>(teacher, task, data, {}, o);
    CHECK(cached.teacher_cached);
    CHECK(cached.pruning_steps == 12);
    CHECK(cached.teacher_forwards == 4);
    o.teacher_cache_mb = 0;
    const auto fresh = prune::vtrans_prune<masks::vib>(teacher, task, data, {}, o);
    CHECK_FALSE(fresh.teacher_cached);
    CHECK(fresh.teacher_forwards == 12);
    // the same losses step by step, and the same pruned model
    REQUIRE(cached.trajectory.size() == fresh.trajectory.size());
    for (std::size_t i = 0; i < cached.trajectory.size(); ++i) CHECK(cached.trajectory[i].loss == fresh.trajectory[i].loss);
    CHECK(cached.model.config().layers == fresh.model.config().layers);
    CHECK(cached.model.config().hidden_size == fresh.model.config().hidden_size);
  }
}

TEST_CASE("a removed hidden unit still gets the task's gradient while training") {
  for (const std::string family : {"bert", "llama"}) {
    INFO(family);
    auto m = deep_model(family);
    random_log_alpha(m, 3, 5, 2);
    std::vector<double> la(std::size_t(m.masks().hidden.size()), 4.0);
    la[3] = -2.0;  // removed by the keep rule
    set_log_alpha(m.masks().hidden, la);
    REQUIRE_FALSE(m.masks().hidden.keep()[3]);
    const auto data = toy_set(8, 1);
    data::batch_plan_options plan;
    plan.batch_size = 8;
    const data::data_loader loader(data, plan);
    const auto b = loader.make_batch(loader.plan(0)[0]);
    nn::forward_options fo;
    fo.training = true;
    fo.mask_seed = 5;
    const auto task = task_of(m.config());
    autodiff::backward(train::task_loss(task, m.forward(train::to_input(b), fo), b));
    const auto g = m.masks().hidden.mu().grad().to_host();
    CHECK(std::abs(g[3]) > 1e-7);
  }
}

TEST_CASE("CoFi's masks: one hard-concrete draw per step, the same for every token; VIB draws per token") {
  // two copies of one sequence in a batch see the same masks only if one sample serves the step
  data::batch b;
  b.batch_size = 2;
  b.seq_len = 6;
  b.ids = {2, 9, 14, 7, 30, 11, 2, 9, 14, 7, 30, 11};
  b.attention_mask.assign(12, 1);
  b.token_type_ids.assign(12, 0);
  b.labels = {0, 0};
  nn::forward_options fo;
  fo.training = true;
  fo.mask_seed = 17;
  auto halves_equal = [&](const auto& model) {  // up to the summation order of batched kernels
    const auto l = model.forward(train::to_input(b), fo).logits.value().to_host();
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < l.size() / 2; ++i)
      diff = std::max(diff, double(std::abs(l[i] - l[i + l.size() / 2]))), scale = std::max(scale, double(std::abs(l[i])));
    return diff <= 1e-5 * scale;
  };
  for (const std::string family : families) {
    INFO(family);
    const auto c = deep_config(family);
    const nn::transformer<nn::any_family, masks::hard_concrete> cofi(c, head_of(c), 4);
    CHECK(halves_equal(cofi));
    fo.mask_seed = 18;
    const auto l17 = cofi.forward(train::to_input(b), fo).logits.value().to_host();
    fo.mask_seed = 17;
    CHECK(cofi.forward(train::to_input(b), fo).logits.value().to_host() != l17);  // a new step draws anew
    const nn::transformer<nn::any_family, masks::vib> vib(c, head_of(c), 4);
    CHECK_FALSE(halves_equal(vib));
  }
  // CoFi's published settings: temperature 2/3, masks and multipliers at 0.01 with Adam ascent,
  // the target ramped over the first tenth of pruning, no regulariser
  CHECK(masks::hard_concrete::options{}.temperature == doctest::Approx(2.0 / 3.0));
  const auto s = masks::hard_concrete::loop_defaults();
  CHECK(s.mask_lr == 0.01);
  CHECK(s.lambda_lr == 0.01);
  CHECK(s.lagrangian_warmup == 0.1);
  CHECK(s.regularizer_weight == 0.0);
  CHECK(s.multipliers == masks::multiplier_rule::adam_ascent);
}

TEST_CASE("12 layers: a teacher with BF16 matrices prunes as its float widening does, to a BF16 model") {
  // BF16 widens exactly, so the run from the 16-bit teacher (matrices shared by the Faster
  // student, widened for the VTrans student) computes what the run from the widened teacher does;
  // the pruned model is then the widened run's result rounded to BF16.
  for (const std::string family : {"bert", "gpt2", "llama"}) {
    const auto half = nn::with_matrices(deep_teacher(family, 5), nn::matrix_dtype::bf16);
    const auto wide = nn::with_matrices(half, nn::matrix_dtype::compute);
    REQUIRE(half.matrices() == nn::matrix_dtype::bf16);
    REQUIRE(wide.matrices() == nn::matrix_dtype::compute);
    const auto data = toy_set(32, 11);
    for (const auto kind : {prune::variant::faster, prune::variant::vtrans}) {
      INFO(family << ", " << std::string(prune::variant_name(kind)));
      prune::prune_options o;
      o.kind = kind;
      o.data_fraction = 1.0;
      o.target = prune::budget::parse("params=0.6");
      o.target.seq_len = seq;
      o.batch_size = 8;
      o.prune_steps = 8;
      o.max_extra_steps = 0;
      o.finetune_steps = kind == prune::variant::faster ? -1 : 3;  // Faster-VTrans never fine-tunes by default
      o.trajectory_every = 1;
      o.progress = train::progress_style::silent;
      const auto a = prune::vtrans_prune<masks::vib>(half, task_of(half.config()), data, {}, o);
      const auto b = prune::vtrans_prune<masks::vib>(wide, task_of(wide.config()), data, {}, o);
      CHECK(a.model.matrices() == nn::matrix_dtype::bf16);
      CHECK(b.model.matrices() == nn::matrix_dtype::compute);
      REQUIRE(a.trajectory.size() == b.trajectory.size());
      for (std::size_t i = 0; i < a.trajectory.size(); ++i) CHECK(a.trajectory[i].loss == doctest::Approx(b.trajectory[i].loss).epsilon(1e-6));
      CHECK(a.model.config().layers == b.model.config().layers);
      CHECK(a.model.config().hidden_size == b.model.config().hidden_size);
      CHECK(a.selection.flipped_units == b.selection.flipped_units);
      // every 16-bit matrix of the pruned model is the widened run's, rounded
      const auto rounded = nn::with_matrices(b.model, nn::matrix_dtype::bf16);
      REQUIRE(a.model.frozen_matrices().size() == rounded.frozen_matrices().size());
      for (const auto& s : a.model.frozen_matrices()) {
        const auto* r = rounded.find_frozen(s.name);
        REQUIRE(r);
        const auto x = (a.model.layers()[s.layer].*(s.member)).bf.value().to_host();
        const auto y = (rounded.layers()[r->layer].*(r->member)).bf.value().to_host();
        REQUIRE(x.size() == y.size());
        std::size_t differ = 0;
        for (std::size_t i = 0; i < x.size(); ++i) differ += x[i].bits != y[i].bits;
        CHECK_MESSAGE(differ == 0, s.name);
      }
      for (const auto& [name, p] : a.model.parameters()) {
        const auto x = p.value().to_host(), y = rounded.parameter(name).value().to_host();
        for (std::size_t i = 0; i < x.size(); ++i) CHECK(x[i] == doctest::Approx(y[i]).epsilon(1e-5));
      }
      if (kind == prune::variant::faster) {
        // told to fine-tune, Faster-VTrans widens its compacted BF16 model (whose scaled rows were
        // rounded there: the widened run's fine-tuning starts from unrounded ones) and rounds it back
        o.finetune_steps = 2;
        const auto tuned = prune::vtrans_prune<masks::vib>(half, task_of(half.config()), data, {}, o);
        CHECK(tuned.finetune_steps == 2);
        CHECK(tuned.model.matrices() == nn::matrix_dtype::bf16);
      }
    }
  }
}
