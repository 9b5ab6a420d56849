// Prune a BERT-family classifier with VTrans (VIB masks, weights trained) to a parameter budget.
//   example_bert_vtrans [MODEL_DIR]   (without a folder: a small random BERT on a toy task)
#include <cstdio>

#include <vtrans/nn/load.hpp>
#include <vtrans/prune/vtrans.hpp>
#include <vtrans/tensor/cpu.hpp>  // the backend this program runs on
#include <vtrans/tensor/openblas_runtime.hpp>

using namespace vtrans;

// Toy task: does token 7 occur in the sequence?
std::vector<data::sequence> toy_data(std::size_t n, vtrans::index vocab) {
  std::vector<data::sequence> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    out[i].ids = {1};
    for (int t = 0; t < 12; ++t) out[i].ids.push_back(std::int32_t(3 + math::uniform(42, i * 16 + t) * double(vocab - 3)));
    out[i].label = std::count(out[i].ids.begin(), out[i].ids.end(), 7) > 0;
  }
  return out;
}

int main(int argc, char** argv) {
  blas::ensure_fast_kernels(argv);
  // 1. the teacher: a trained checkpoint, or a small random model
  auto config = io::parse_config({{"model_type", "bert"}, {"vocab_size", 64}, {"hidden_size", 64}, {"num_hidden_layers", 2},
                                  {"num_attention_heads", 4}, {"intermediate_size", 128}, {"max_position_embeddings", 16}});
  nn::transformer<nn::bert> teacher = argc > 1 ? nn::load_pretrained<nn::bert>(argv[1])
                                               : nn::transformer<nn::bert>(config, nn::head_kind::sequence_classification);
  const auto train_set = toy_data(256, teacher.config().vocab_size);

  // 2. VTrans: VIB masks on every structure, weights trained, distillation from the teacher
  prune::prune_options o;
  o.kind = prune::variant::vtrans;
  o.target = prune::budget::parse("params=0.5");
  o.target.seq_len = 13;
  o.prune_steps = 60;
  o.finetune_steps = 20;
  auto result = prune::vtrans_prune<masks::vib>(teacher, train::task_kind::sequence_classification, train_set, {}, o);

  // 3. a smaller dense model
  std::printf("bert vtrans: %.0f -> %.0f parameters (%.1f%%), hidden %lld -> %lld, in %.1f s\n", result.full.params,
              result.pruned.params, 100 * result.pruned.params / result.full.params, (long long)teacher.config().hidden_size,
              (long long)result.model.config().hidden_size, result.times.compression_s());
  return result.pruned.params <= 0.5 * result.full.params ? 0 : 1;
}
