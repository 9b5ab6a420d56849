// The mask policy is a template parameter: the same loop prunes with VTrans's VIB masks or with
// CoFi's hard-concrete (L0) masks by changing one type.
//   example_swap_policy
#include <cstdio>

#include <vtrans/prune/vtrans.hpp>
#include <vtrans/tensor/cpu.hpp>  // the backend this program runs on
#include <vtrans/tensor/openblas_runtime.hpp>

using namespace vtrans;

template <class Policy>
void prune_with(const nn::transformer<nn::bert>& teacher, const std::vector<data::sequence>& data) {
  prune::prune_options o;
  o.target = prune::budget::parse("params=0.5");
  o.target.seq_len = 13;
  o.prune_steps = 40;
  o.finetune_steps = 10;
  auto r = prune::vtrans_prune<Policy>(teacher, train::task_kind::sequence_classification, data, {}, o);
  std::printf("%-14s %.0f -> %.0f parameters, hidden %lld\n", Policy::name(), r.full.params, r.pruned.params,
              (long long)r.model.config().hidden_size);
}

int main(int, char** argv) {
  blas::ensure_fast_kernels(argv);
  const auto config = io::parse_config({{"model_type", "bert"}, {"vocab_size", 64}, {"hidden_size", 64}, {"num_hidden_layers", 2},
                                        {"num_attention_heads", 4}, {"intermediate_size", 128}, {"max_position_embeddings", 16}});
  const nn::transformer<nn::bert> teacher(config, nn::head_kind::sequence_classification);
  std::vector<data::sequence> data(128);
  for (std::size_t i = 0; i < data.size(); ++i) {
    for (int t = 0; t < 13; ++t) data[i].ids.push_back(std::int32_t(3 + (i * 13 + std::size_t(t)) % 61));
    data[i].label = int(i % 2);
  }
  prune_with<masks::vib>(teacher, data);            // VTrans
  prune_with<masks::hard_concrete>(teacher, data);  // CoFi: the only change is this type
  return 0;
}
