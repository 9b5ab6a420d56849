// Prune a LLaMA-family model with grouped-query attention using Fast-VTrans (the pruning phase
// sees a 3% label-stratified sample of the data). Head masks sit on key/value groups, so a removed
// KV head takes its query heads along.
//   example_llama_gqa_fast [MODEL_DIR]
#include <cstdio>

#include <vtrans/nn/load.hpp>
#include <vtrans/prune/vtrans.hpp>
#include <vtrans/tensor/cpu.hpp>  // the backend this program runs on
#include <vtrans/tensor/openblas_runtime.hpp>

using namespace vtrans;

int main(int argc, char** argv) {
  blas::ensure_fast_kernels(argv);
  auto config = io::parse_config({{"model_type", "llama"}, {"vocab_size", 96}, {"hidden_size", 64}, {"num_hidden_layers", 2},
                                  {"num_attention_heads", 8}, {"num_key_value_heads", 2}, {"intermediate_size", 128},
                                  {"architectures", {"LlamaForCausalLM"}}});
  nn::transformer<nn::llama> teacher = argc > 1 ? nn::load_pretrained<nn::llama>(argv[1])
                                                : nn::transformer<nn::llama>(config, nn::head_kind::causal_lm);
  std::vector<data::sequence> text(1000);
  for (std::size_t i = 0; i < text.size(); ++i)
    for (int t = 0; t < 16; ++t) text[i].ids.push_back(std::int32_t((i * 7 + std::size_t(t) * 5) % std::size_t(teacher.config().vocab_size)));

  prune::prune_options o;
  o.kind = prune::variant::fast;
  o.data_fraction = 0.03;
  o.target = prune::budget::parse("params=0.6");
  o.target.seq_len = 16;
  o.prune_steps = 40;
  o.finetune_steps = 10;
  o.batch_size = 8;
  auto result = prune::vtrans_prune<masks::vib>(teacher, train::task_kind::causal_lm, text, {}, o);
  for (std::size_t l = 0; l < result.model.config().layers.size(); ++l) {
    const auto& s = result.model.config().layers[l];
    std::printf("layer %zu: %lld query heads in %lld kv groups, FFN %lld\n", l, (long long)s.heads, (long long)s.kv_heads,
                (long long)s.intermediate);
  }
  std::printf("llama fast: pruned on %zu of %zu sequences, %.0f -> %.0f parameters\n", result.pruning_examples, text.size(),
              result.full.params, result.pruned.params);
  return result.pruned.params <= 0.6 * result.full.params ? 0 : 1;
}
