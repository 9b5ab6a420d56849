// Embedding vtrans's export: a model of any shape with random weights, the same model with units
// removed at random (every layer keeps its own share of heads and FFN neurons, so the result
// has per-layer sizes), both written as GGUF for llama.cpp. scripts/serving uses it to measure
// serving speed at sizes too large to train here (a 1B-shaped LLaMA); the weights carry no
// meaning, only the shapes matter.
//   random_pruned_gguf CONFIG.json TOKENIZER_DIR KEEP TEACHER.gguf PRUNED.gguf [f32|f16|bf16]
// KEEP (e.g. 0.5) is the average share of heads and FFN neurons a layer keeps (drawn per layer
// within +-0.2 of it); the hidden size keeps (1 + KEEP) / 2, rounded to a multiple of 64.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include <vtrans/export/to_gguf.hpp>
#include <vtrans/masks/fixed.hpp>
#include <vtrans/prune/compact.hpp>
#include <vtrans/tensor/cpu.hpp>  // the backend this program runs on

using namespace vtrans;

namespace {

std::vector<bool> keep_random(vtrans::index n, double share, std::uint64_t seed) {
  std::vector<std::pair<double, vtrans::index>> order;
  for (vtrans::index i = 0; i < n; ++i) order.emplace_back(math::uniform(seed, std::uint64_t(i)), i);
  std::sort(order.begin(), order.end());
  std::vector<bool> keep(std::size_t(n), false);
  const vtrans::index k = std::clamp<vtrans::index>(vtrans::index(share * double(n) + 0.5), 1, n);
  for (vtrans::index i = 0; i < k; ++i) keep[std::size_t(order[std::size_t(i)].second)] = true;
  return keep;
}

void describe(const char* what, const io::model_config& c, vtrans::index params) {
  std::printf("%s: hidden %lld, %.0fM parameters, per layer heads/kv/ffn:", what, (long long)c.hidden_size, double(params) / 1e6);
  for (const auto& l : c.layers) std::printf(" %lld/%lld/%lld", (long long)l.heads, (long long)l.kv_heads, (long long)l.intermediate);
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6 && argc != 7) {
    std::cerr << "usage: random_pruned_gguf CONFIG.json TOKENIZER_DIR KEEP TEACHER.gguf PRUNED.gguf [f32|f16|bf16]\n";
    return 2;
  }
  try {
    const io::model_config config = io::load_config(argv[1]);
    const double keep = std::stod(argv[3]);
    const std::string type = argc == 7 ? argv[6] : "f16";
    exports::gguf_options opt;
    opt.weights = type == "f32" ? io::ggml_type::f32 : type == "bf16" ? io::ggml_type::bf16 : io::ggml_type::f16;
    const auto vocab = exports::read_gguf_vocab(argv[2], config.vocab_size);

    // the masked model holds the teacher's weights (masks change nothing until compaction)
    nn::transformer<nn::llama, masks::fixed, cpu, float> model(config, nn::head_kind::causal_lm, 42);
    describe("teacher", config, model.parameter_count());
    opt.name = "random teacher";
    const auto t = exports::write_gguf(model, vocab, opt, argv[4]);

    auto& m = model.masks();
    const vtrans::index hidden = std::max<vtrans::index>(64, vtrans::index((1 + keep) / 2 * double(config.hidden_size) / 64) * 64);
    m.hidden.force_keep(keep_random(config.hidden_size, double(hidden) / double(config.hidden_size), 1));
    for (std::size_t l = 0; l < config.layers.size(); ++l) {
      const double share = std::clamp(keep + 0.4 * (math::uniform(7, l) - 0.5), 0.05, 1.0);
      m.heads[l].force_keep(keep_random(config.layers[l].kv_heads, share, 100 + l));
      m.intermediate[l].force_keep(keep_random(config.layers[l].intermediate, share, 200 + l));
    }
    const auto pruned = prune::compact(model);
    describe("pruned", pruned.config(), pruned.parameter_count());
    opt.name = "random pruned";
    const auto s = exports::write_gguf(pruned, vocab, opt, argv[5]);
    std::printf("wrote %s (%s) and %s (%s)\n", argv[4], t.arch.c_str(), argv[5], s.arch.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "random_pruned_gguf: " << e.what() << "\n";
    return 1;
  }
}
