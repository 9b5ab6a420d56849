// Training throughput of the teacher configurations: one optimizer step (forward, backward,
// gradient clipping, AdamW) of a small BERT sequence classifier or GPT-2 causal LM on random
// tokens, in tokens per second, against the same model trained in PyTorch
// (benchmarks/pytorch_train_peer.py under Debian's /usr/bin/python3, same thread count).
//
//   build/bin/bench_train [--model bert|gpt2] [--threads N] [--batch B] [--seq S] [--hidden D]
//                         [--layers L] [--heads H] [--ffn F] [--vocab V] [--reps N] [--no-peer]
//
// Defaults: the brown-genre teacher (bert, 128 hidden, 2 layers, 2 heads, FFN 512, vocab 8000,
// 32 x 128 tokens). --model gpt2 switches the defaults to the brown-lm teacher (vocab 6000, 32 x 64).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <omp.h>

#include "vtrans/tensor/cpu.hpp"
#include "vtrans/nn/transformer.hpp"
#include "vtrans/tensor/openblas_runtime.hpp"
#include "vtrans/train/trainer.hpp"

extern "C" void openblas_set_num_threads(int);

using namespace vtrans;

namespace {

struct config {
  std::string model = "bert";
  int threads = 1, batch = 32, seq = 0, hidden = 128, layers = 2, heads = 2, ffn = 512, vocab = 0, labels = 15, reps = 10, warmup = 2;
  bool peer = true;
};

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

template <class Family>
double run_ours(const config& c, vtrans::index& params) {
  constexpr bool decoder = Family::spec.causal;  // the benchmark runs GPT-2 and BERT
  nlohmann::json j{{"model_type", std::string(Family::spec.model_type)}, {"vocab_size", c.vocab}};
  if (decoder)
    j.update({{"n_embd", c.hidden}, {"n_layer", c.layers}, {"n_head", c.heads}, {"n_inner", c.ffn}, {"n_positions", c.seq}, {"resid_pdrop", 0.1}});
  else
    j.update({{"hidden_size", c.hidden}, {"num_hidden_layers", c.layers}, {"num_attention_heads", c.heads}, {"intermediate_size", c.ffn},
              {"max_position_embeddings", c.seq}, {"hidden_dropout_prob", 0.1}, {"num_labels", c.labels}});
  const auto task = decoder ? train::task_kind::causal_lm : train::task_kind::sequence_classification;
  using model_t = nn::transformer<Family, masks::none, cpu, float>;
  model_t model(io::parse_config(j, "bench"), train::head_for(task), 1);
  params = model.parameter_count();
  std::mt19937_64 rng(1);
  std::vector<data::sequence> set;
  for (int i = 0; i < c.batch * 4; ++i) {
    data::sequence s;
    for (int k = 0; k < c.seq; ++k) s.ids.push_back(std::int32_t(rng() % std::uint64_t(c.vocab)));
    s.label = int(rng() % std::uint64_t(c.labels));
    set.push_back(std::move(s));
  }
  data::batch_plan_options plan;
  plan.batch_size = c.batch;
  data::data_loader loader(std::move(set), plan);
  train::adamw<float, cpu> opt(model.parameters(), {}, {train::no_decay_group()});
  train::trainer_options o;
  o.task = task;
  o.total_steps = 1 << 30;
  o.schedule = {train::schedule_kind::constant, 0, 0};
  train::trainer<model_t> t(model, opt, loader, o);
  for (int i = 0; i < c.warmup; ++i) t.step();
  std::vector<double> times;
  for (int i = 0; i < c.reps; ++i) {
    const double t0 = now();
    t.step();
    times.push_back(now() - t0);
  }
  return median(times);
}

std::string json_number(const std::string& j, const std::string& key) {
  const std::size_t p = j.find("\"" + key + "\"");
  if (p == std::string::npos) return "";
  std::size_t b = j.find(':', p) + 1;
  while (b < j.size() && j[b] == ' ') ++b;
  std::size_t e = b;
  while (e < j.size() && j[e] != ',' && j[e] != '}') ++e;
  return j.substr(b, e - b);
}

}  // namespace

int main(int argc, char** argv) {
  vtrans::blas::ensure_fast_kernels(argv);
  config c;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() { return i + 1 < argc ? std::atoi(argv[++i]) : 0; };
    if (a == "--model" && i + 1 < argc) c.model = argv[++i];
    else if (a == "--threads") c.threads = next();
    else if (a == "--batch") c.batch = next();
    else if (a == "--seq") c.seq = next();
    else if (a == "--hidden") c.hidden = next();
    else if (a == "--layers") c.layers = next();
    else if (a == "--heads") c.heads = next();
    else if (a == "--ffn") c.ffn = next();
    else if (a == "--vocab") c.vocab = next();
    else if (a == "--reps") c.reps = std::max(1, next());
    else if (a == "--no-peer") c.peer = false;
    else {
      std::fprintf(stderr, "usage: bench_train [--model bert|gpt2] [--threads N] [--batch B] [--seq S] [--hidden D] [--layers L] "
                           "[--heads H] [--ffn F] [--vocab V] [--reps N] [--no-peer]\n");
      return 2;
    }
  }
  const bool gpt2 = c.model == "gpt2";
  if (c.seq == 0) c.seq = gpt2 ? 64 : 128;
  if (c.vocab == 0) c.vocab = gpt2 ? 6000 : 8000;
  omp_set_num_threads(c.threads);
  openblas_set_num_threads(c.threads);
  std::printf("bench_train: %s, hidden %d, %d layers, %d heads, FFN %d, vocab %d, batch %d x %d tokens, %d thread(s), median of %d steps\n",
              gpt2 ? "GPT-2 causal LM" : "BERT sequence classification", c.hidden, c.layers, c.heads, c.ffn, c.vocab, c.batch, c.seq,
              c.threads, c.reps);
  vtrans::index params = 0;
  const double step = gpt2 ? run_ours<nn::gpt2>(c, params) : run_ours<nn::bert>(c, params);
  const double tokens = double(c.batch) * double(c.seq);
  std::printf("  vtrans   %9.1f ms/step  %9.0f tokens/s  (%lld parameters)\n", 1e3 * step, tokens / step, (long long)params);
  if (!c.peer) return 0;
  const std::string script = std::string(VTRANS_SOURCE_DIR) + "/benchmarks/pytorch_train_peer.py";
  const std::string cmd = "/usr/bin/python3 '" + script + "' --model " + c.model + " --threads " + std::to_string(c.threads) +
                          " --batch " + std::to_string(c.batch) + " --seq " + std::to_string(c.seq) + " --hidden " +
                          std::to_string(c.hidden) + " --layers " + std::to_string(c.layers) + " --heads " + std::to_string(c.heads) +
                          " --ffn " + std::to_string(c.ffn) + " --vocab " + std::to_string(c.vocab) + " --labels " +
                          std::to_string(c.labels) + " --reps " + std::to_string(c.reps) + " 2>&1";
  std::fflush(stdout);
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) {
    std::printf("  PyTorch  (cannot start /usr/bin/python3)\n");
    return 0;
  }
  std::string json, other;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, pipe)) (buf[0] == '{' ? json : other) += buf;
  pclose(pipe);
  const std::string s = json_number(json, "step_s");
  if (s.empty()) {
    std::printf("  PyTorch  (no result) %s%s\n", json.c_str(), other.c_str());
    return 0;
  }
  const double ps = std::atof(s.c_str());
  std::printf("  PyTorch  %9.1f ms/step  %9.0f tokens/s  (torch %s, %s parameters)\n", 1e3 * ps, tokens / ps,
              json_number(json, "torch").c_str(), json_number(json, "parameters").c_str());
  std::printf("  ratio    vtrans / PyTorch throughput = %.2f\n", ps / step);
  return 0;
}
