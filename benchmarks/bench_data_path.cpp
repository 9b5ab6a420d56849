// The host side of a pruning step's data, at Fast-VTrans sizes: a batch gathered from the resident
// data set (train/resident_set.hpp) against the host's collate + checked upload it replaces, and
// what the resident set costs to build; and CoFi's keep rule on the CPU, a stable sort against the
// per-unit count the thrust backend runs, at BERT-base and LLaMA-2-7B widths. Medians of --reps.
//
//   build/bin/bench_data_path [--examples N] [--steps N] [--reps N] [--cpu-clock]
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "vtrans/tensor/cpu.hpp"  // first: the model headers expect a backend to be declared
#include "vtrans/train/resident_set.hpp"
#include "measure.hpp"

using namespace vtrans;
using namespace vtrans_bench;

namespace {

template <class F>
double median_ms(int reps, F f) {
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const double t0 = now();
    f();
    t.push_back(1e3 * (now() - t0));
  }
  return median(t);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t examples = 12000;  // 3% of MNLI's 393k
  long steps = 10000;
  int reps = 50;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string("0"); };
    if (a == "--examples") examples = std::stoul(next());
    else if (a == "--steps") steps = std::stol(next());
    else if (a == "--reps") reps = std::stoi(next());
    else if (a == "--cpu-clock") use_cpu_clock() = true;
    else {
      std::fprintf(stderr, "usage: bench_data_path [--examples N] [--steps N] [--reps N] [--cpu-clock]\n");
      return 2;
    }
  }
  const auto config = io::parse_config(nlohmann::json{{"model_type", "bert"}, {"vocab_size", 30522}, {"hidden_size", 16},
                                                      {"num_hidden_layers", 1}, {"num_attention_heads", 2}, {"intermediate_size", 24},
                                                      {"max_position_embeddings", 512}});
  const nn::transformer<nn::bert, masks::none, cpu> model(config, nn::head_kind::sequence_classification, 1);
  std::mt19937_64 rng(1);
  std::vector<data::sequence> set(examples);
  for (auto& s : set) {
    const std::size_t len = 16 + rng() % 113;  // 16 to 128 tokens
    for (std::size_t t = 0; t < len; ++t) s.ids.push_back(std::int32_t(rng() % 30000));
    s.label = int(rng() % 2);
  }
  data::batch_plan_options plan;
  plan.batch_size = 32;
  const data::data_loader loader(set, plan, data::collate_options{});

  const double t0 = wall_now();
  const train::resident_set<decltype(model)> resident(model, loader, train::task_kind::sequence_classification, steps, std::size_t(4) << 30);
  const double build_s = wall_now() - t0;
  std::printf("resident set: %zu examples of 16-128 tokens, a plan of %ld batches of 32: built in %.2f s, %.1f MiB\n", examples, steps,
              build_s, double(resident.bytes()) / 1048576.0);

  const auto first = loader.plan(0);
  std::size_t k = 0;
  const double gathered = median_ms(reps, [&] {
    const std::size_t i = k++ % first.size();
    const auto d = resident.batch(0, i, loader.make_batch(first[i]));
  });
  const double uploaded = median_ms(reps, [&] {
    const std::size_t i = k++ % first.size();
    const auto d = model.upload(train::to_input(loader.make_batch(first[i])));
  });
  std::printf("a step's batch (host collate included in both): gathered %.3f ms, collated and uploaded %.3f ms, ratio %.2f\n", gathered,
              uploaded, gathered / uploaded);

  for (vtrans::index n : {768, 3072, 11008}) {
    std::vector<float> score(static_cast<std::size_t>(n));
    for (auto& v : score) v = float(rng() % 1000) / 7.0f;  // with ties
    const auto s = tensor<float, cpu>::from_host(shape{n}, score), kept = tensor<float, cpu>::from_host(shape{1}, {0.4f * float(n)});
    tensor<float, cpu> y(shape{n});
    const vtrans::index drop = kernels::drop_count(n, 0.4 * double(n));
    const double sorted = median_ms(std::max(3, reps / 5), [&] { cpu::keep_highest(n, s.data(), kept.data(), y.data()); });
    const double counted = median_ms(std::max(3, reps / 5), [&] {
#pragma omp parallel for schedule(static)
      for (vtrans::index i = 0; i < n; ++i) y.data()[i] = kernels::kept_after_dropping_lowest(n, s.data(), i, drop);
    });
    std::printf("keep_highest over %ld units: stable sort %.3f ms, per-unit count %.3f ms, ratio %.3f\n", long(n), sorted, counted,
                sorted / counted);
  }
  return 0;
}
