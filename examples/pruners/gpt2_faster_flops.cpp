// Prune a GPT-2-family language model task-agnostically (next-token loss on plain text) with
// Faster-VTrans (only the masks are trained, weights frozen) to a FLOPs budget.
//   example_gpt2_faster_flops [MODEL_DIR]
#include <cstdio>

#include <vtrans/nn/load.hpp>
#include <vtrans/prune/vtrans.hpp>
#include <vtrans/tensor/cpu.hpp>  // the backend this program runs on
#include <vtrans/tensor/openblas_runtime.hpp>

using namespace vtrans;

int main(int argc, char** argv) {
  blas::ensure_fast_kernels(argv);
  auto config = io::parse_config({{"model_type", "gpt2"}, {"vocab_size", 80}, {"n_embd", 64}, {"n_layer", 2}, {"n_head", 4},
                                  {"n_positions", 32}, {"architectures", {"GPT2LMHeadModel"}}});
  nn::transformer<nn::gpt2> teacher = argc > 1 ? nn::load_pretrained<nn::gpt2>(argv[1])
                                               : nn::transformer<nn::gpt2>(config, nn::head_kind::causal_lm);
  // plain text as token windows (a repeating pattern stands in for a corpus here)
  std::vector<data::sequence> text(128);
  for (std::size_t i = 0; i < text.size(); ++i)
    for (int t = 0; t < 16; ++t) text[i].ids.push_back(std::int32_t((i + std::size_t(t) * 3) % std::size_t(teacher.config().vocab_size)));

  prune::prune_options o;
  o.kind = prune::variant::faster;             // masks only: no weight gradients, no weight optimizer state
  o.target = prune::budget::parse("flops=0.5");
  o.target.seq_len = 16;
  o.prune_steps = 60;                         // and no weight fine-tuning afterwards (finetune_steps -1: 0 for faster)
  auto result = prune::vtrans_prune<masks::vib>(teacher, train::task_kind::causal_lm, text, {}, o);
  std::printf("gpt2 faster: %.0f -> %.0f FLOPs per token (%.1f%%), pruning %.1f s\n", result.full.flops, result.pruned.flops,
              100 * result.pruned.flops / result.full.flops, result.times.prune_s);
  return result.pruned.flops <= 0.5 * result.full.flops ? 0 : 1;
}
