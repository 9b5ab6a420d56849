// Pruning steps at the sizes users prune, against a plain PyTorch script doing the same
// (benchmarks/pytorch_prune_peer.py, Debian's /usr/bin/python3), each side in its own process:
//   bert-faster   BERT-base, 2-label head, Faster-VTrans step (masks trained, weights frozen), 8 x 128
//   bert-vtrans   the same with the weights trained too (VTrans)
//   llama-faster  a TinyLlama-shaped 1.1B LLaMA stored in BF16, Faster-VTrans step, 1 x 128
// plus `vtrans logits` on both checkpoints (load + one forward: wall time and peak RSS).
// The checkpoints are random-weight Hugging Face folders written on first use into --cache.
//
//   build/bin/bench_prune_step [--cache DIR] [--cases bert-faster,bert-vtrans,llama-faster]
//                              [--steps N] [--warmup N] [--threads N] [--cpu-clock] [--no-peer] [--no-logits]
//                              [--dtype float32|auto]   (the faster cases' matrices; see --child)
//   build/bin/bench_prune_step --write-checkpoint NAME --out DIR      (bert-base-cls2, tinyllama-1.1b, llama-2-7b)
//   build/bin/bench_prune_step --child --model DIR [--variant faster|vtrans] [--batch B] [--seq S] [--steps N] [--warmup N]
//                              [--dtype float32|auto]
//
// --dtype auto keeps a BF16/F16 checkpoint's layer matrices in 16 bits in the teacher (and in the
// Faster-VTrans student, which holds the teacher's weights themselves; a VTrans student widens its own copy),
// as `vtrans prune --dtype auto` does; float32 (default) widens every weight on load.
//
// --child runs one measurement in this process and prints one JSON line (a human summary goes to
// stderr); the default mode runs every case as a child and as a peer and prints the comparison.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <omp.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "random_checkpoint.hpp"
#include "vtrans/nn/load.hpp"
#include "vtrans/prune/vtrans.hpp"
#include "vtrans/tensor/backend.hpp"
#include "vtrans/tensor/cpu.hpp"
#include "vtrans/tensor/openblas_runtime.hpp"
#include "measure.hpp"

extern "C" void openblas_set_num_threads(int);

using namespace vtrans;
namespace fs = std::filesystem;
using json = nlohmann::json;

using namespace vtrans_bench;

namespace {

// ---- the CPU backend with its matrix products and attention timed ----------------------------
// Every kernel is cpu's; gemm/gemm_batched (the linear layers and matmuls) and the fused attention
// kernels add their wall time to counters, which gives each step's share of time in GEMM.
struct timed_cpu : cpu {
  static inline double gemm_s = 0, attention_s = 0, gemm_flops = 0;
  struct stopwatch {
    double& total;
    double t0 = now();
    ~stopwatch() { total += now() - t0; }
  };
  template <class T>
  static void gemm(bool ta, bool tb, vtrans::index m, vtrans::index n, vtrans::index k, T alpha, const T* a, vtrans::index lda, const T* b,
                   vtrans::index ldb, T beta, T* c, vtrans::index ldc) {
    stopwatch w{gemm_s};
    gemm_flops += 2.0 * double(m) * double(n) * double(k);
    cpu::gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  template <class T>
  static void gemm_batched(bool ta, bool tb, vtrans::index m, vtrans::index n, vtrans::index k, T alpha, const T* a, vtrans::index lda,
                           vtrans::index sa, const T* b, vtrans::index ldb, vtrans::index sb, T beta, T* c, vtrans::index ldc,
                           vtrans::index sc, vtrans::index batch) {
    stopwatch w{gemm_s};
    gemm_flops += 2.0 * double(m) * double(n) * double(k) * double(batch);
    cpu::gemm_batched(ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc, batch);
  }
  template <class T>
  static void attention_forward(const attention_dims& d, const T* q, const T* k, const T* v, const std::int32_t* mask, T* p, T* out) {
    stopwatch w{attention_s};
    cpu::attention_forward(d, q, k, v, mask, p, out);
  }
  template <class T>
  static void attention_backward(const attention_dims& d, const T* q, const T* k, const T* v, const T* p, const T* dout, T* dq, T* dk,
                                 T* dv) {
    stopwatch w{attention_s};
    cpu::attention_backward(d, q, k, v, p, dout, dq, dk, dv);
  }
};
static_assert(is_backend_v<timed_cpu>);

// ---- one measurement (--child) --------------------------------------------------------------
struct child_options {
  std::string model, variant = "faster", dtype = "float32";
  vtrans::index batch = 8, seq = 128;
  int steps = 3, warmup = 2;
};

// A batch of random tokens (no padding) with random labels for sequence classification.
data::batch random_batch(const io::model_config& c, vtrans::index batch, vtrans::index seq, bool classification) {
  data::batch b;
  b.batch_size = batch;
  b.seq_len = seq;
  for (vtrans::index i = 0; i < batch * seq; ++i)
    b.ids.push_back(static_cast<std::int32_t>(1 + math::mix64(0xb17c4 + std::uint64_t(i)) % std::uint64_t(c.vocab_size - 1)));
  b.attention_mask.assign(b.ids.size(), 1);
  b.token_type_ids.assign(b.ids.size(), 0);
  if (classification)
    for (vtrans::index i = 0; i < batch; ++i) b.labels.push_back(std::int32_t(math::mix64(0x1abe1 + std::uint64_t(i)) % 2));
  return b;
}

// Load the checkpoint, build the student as prune::vtrans_prune does, and time its loop body.
template <class Family>
json run_child(const child_options& c) {
  using T = float;
  using B = timed_cpu;
  using V = autodiff::var<T, B>;
  using P = autodiff::param<T, B>;
  json r;
  const double t_load = wall_now();
  nn::load_options lo = nn::load_options::from_environment();
  if (c.dtype == "auto") lo.matrices = nn::matrix_dtype::as_stored;
  else if (c.dtype != "float32") throw vtrans::usage_error("--dtype must be float32 or auto, not " + c.dtype);
  auto teacher = nn::load_pretrained<Family, B, T>(c.model, lo);
  r["load_s"] = wall_now() - t_load;
  r["rss_loaded_mib"] = status_mib("VmRSS:");
  r["peak_load_mib"] = status_mib("VmHWM:");
  r["parameters"] = teacher.parameter_count();
  const io::model_config& cfg = teacher.config();
  const bool classification = teacher.head() == nn::head_kind::sequence_classification;
  const train::task_kind task = classification ? train::task_kind::sequence_classification : train::task_kind::causal_lm;
  const data::batch batch = random_batch(cfg, c.batch, c.seq, classification);

  // ---- from prune::vtrans_prune: the student, optimizers and one iteration of its loop ----
  prune::prune_options o;
  o.kind = prune::parse_variant(c.variant);
  o.target = prune::budget::parse("params=0.5");
  o.target.seq_len = c.seq;
  const masks::loop_settings loop = o.loop_for(masks::vib::loop_defaults());
  using student_t = nn::transformer<Family, masks::vib, B, T>;
  student_t student = prune::make_student<masks::vib>(teacher, o.kind, o.seed, masks::structure_options<masks::vib>::defaults());
  const prune::scoped_freeze<student_t> frozen(student, o.kind == prune::variant::faster);
  r["matrices"] = teacher.matrices() == nn::matrix_dtype::compute ? "float32" : "16-bit";
  const auto full = prune::exact_cost(cfg, teacher.head(), o.target.seq_len, o.target.count_embeddings);
  const double full_size = full.params, final_sparsity = 1.0 - prune::target_size(o.target, full) / full_size;
  std::vector<vtrans::index> all_hidden(std::size_t(cfg.hidden_size));
  for (std::size_t i = 0; i < all_hidden.size(); ++i) all_hidden[i] = vtrans::index(i);
  P proj_w = prune::detail::identity_projection<T, B>(cfg.hidden_size, all_hidden);
  P proj_b(tensor<T, B>::zeros(shape{cfg.hidden_size}));
  prune::lagrangian<T, B> lag(loop.multipliers, loop.lambda_lr, loop.stiffness);
  auto mask_params = student.masks().parameters();
  std::vector<std::pair<std::string, P>> weight_params;
  if (o.kind != prune::variant::faster) weight_params = student.parameters();
  train::adamw<T, B> mask_opt(mask_params, {loop.mask_lr, 0.9, 0.999, 1e-8, 0.0});
  train::adamw<T, B> weight_opt(weight_params, {o.lr_weights, 0.9, 0.999, 1e-8, 0.01}, {train::no_decay_group()});
  double loss_value = 0;
  auto step = [&](std::int64_t s) {
    nn::forward_options fo;
    fo.training = true;
    fo.dropout_seed = o.seed * 7919 + std::uint64_t(s);
    fo.mask_seed = o.seed * 104729 + std::uint64_t(s);
    // the teacher runs every step (a cached teacher, prune/teacher_cache.hpp, would skip it)
    const auto targets = prune::teacher_targets(teacher, batch, o.distill.kd_weight > 0, o.distill.layer_weight > 0);
    V loss = prune::detail::distill_loss(student, targets, task, batch, static_cast<const train::device_batch<T, B>*>(nullptr), fo, o.distill, V(proj_w), V(proj_b));
    student.masks().for_each([&](masks::structure, vtrans::index, const auto& u) {
      if (loop.regularizer_weight > 0 && u.size() > 0)
        loss = autodiff::add(loss, autodiff::scale(u.regularizer(), static_cast<T>(loop.regularizer_weight / double(u.size()))));
    });
    const auto expected = prune::expected_cost(student, o.target.seq_len, o.target.count_embeddings);
    loss = autodiff::add(loss, lag.penalty(expected.params, full_size, prune::target_sparsity(final_sparsity, s, 100)));
    loss_value = double(loss.item());
    autodiff::backward(loss);
    if (!weight_params.empty()) train::clip_grad_norm_on_device(weight_params, o.max_grad_norm);
    mask_opt.step();
    student.masks().after_step();
    if (!weight_params.empty()) weight_opt.step(1.0);
    lag.step();
    mask_opt.zero_grad();
    weight_opt.zero_grad();
  };
  // ---- end of the loop body ----

  std::fprintf(stderr, "%s: loaded in %.1f s; %d warm-up and %d timed steps\n", c.model.c_str(), r["load_s"].get<double>(), c.warmup, c.steps);
  for (int s = 0; s < c.warmup; ++s) step(s);
  r["peak_before_steps_mib"] = status_mib("VmHWM:");
  const bool reset = reset_peak();
  std::vector<double> times, gemm, attention, flops;
  long faults_before_last = 0;
  auto& cache = cpu_detail::block_cache::instance();
  const std::size_t segments0 = cache.stats().segments_allocated;
  const long faults0 = minor_faults();
  for (int s = 0; s < c.steps; ++s) {
    B::gemm_s = B::attention_s = B::gemm_flops = 0;
    const double t0 = now();
    faults_before_last = minor_faults();
    step(c.warmup + s);
    times.push_back(now() - t0);
    gemm.push_back(B::gemm_s);
    flops.push_back(B::gemm_flops);
    attention.push_back(B::attention_s);
    if (std::getenv("VTRANS_BENCH_TRACE")) {
      const auto st = cache.stats();
      std::fprintf(stderr, "step %d: %.2f s, %ld minor faults so far, tensors %.0f MiB in use (peak %.0f), %.0f MiB reserved, %zu segments taken\n", s,
                   times.back(), minor_faults() - faults0, double(st.in_use) / (1 << 20), double(st.peak_in_use) / (1 << 20),
                   double(st.reserved) / (1 << 20), st.segments_allocated);
    }
  }
  r["faults_per_step"] = double(minor_faults() - faults0) / std::max(1, c.steps);
  r["faults_last_step"] = double(minor_faults() - faults_before_last);  // the steady state, once reuse has settled
  const auto st = cache.stats();
  r["tensor_peak_mib"] = double(st.peak_in_use) / (1 << 20);
  r["tensor_reserved_mib"] = double(st.reserved) / (1 << 20);
  r["segments_per_step"] = double(st.segments_allocated - segments0) / std::max(1, c.steps);
  r["peak_steps_mib"] = reset ? status_mib("VmHWM:") : -1.0;
  r["peak_total_mib"] = std::max(r["peak_before_steps_mib"].get<double>(), status_mib("VmHWM:"));
  r["step_s"] = median(times);
  r["step_min_s"] = *std::min_element(times.begin(), times.end());
  r["step_max_s"] = *std::max_element(times.begin(), times.end());
  r["gemm_s"] = median(gemm);
  r["gemm_gflop"] = median(flops) * 1e-9;  // the products' work in one step: the same every step
  r["attention_s"] = median(attention);
  r["loss"] = loss_value;
  return r;
}

// ---- running children and the peer ------------------------------------------------------------
struct run_result {
  int status = -1;
  double wall_s = 0, maxrss_mib = 0;
  std::string out;  // stdout
};

// Runs argv (stdout captured, stderr passed through), with wall time and the child's peak RSS.
run_result run_process(const std::vector<std::string>& argv) {
  run_result r;
  int pipefd[2];
  if (pipe(pipefd) != 0) return r;
  std::fflush(stdout);
  const double t0 = wall_now();
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(pipefd[1], 1);
    close(pipefd[0]);
    close(pipefd[1]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    std::perror(args[0]);
    _exit(127);
  }
  close(pipefd[1]);
  char buf[4096];
  ssize_t n;
  while ((n = read(pipefd[0], buf, sizeof buf)) > 0) r.out.append(buf, std::size_t(n));
  close(pipefd[0]);
  int status = 0;
  rusage u{};
  wait4(pid, &status, 0, &u);
  r.wall_s = wall_now() - t0;
  r.maxrss_mib = double(u.ru_maxrss) / 1024.0;
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

json last_json_line(const std::string& out) {
  std::istringstream s(out);
  std::string line, last;
  while (std::getline(s, line))
    if (!line.empty() && line[0] == '{') last = line;
  if (last.empty()) return json{{"error", "no result"}};
  try {
    return json::parse(last);
  } catch (const json::exception& e) {
    return json{{"error", std::string("unreadable result: ") + e.what()}};
  }
}

std::string self_path() { return fs::read_symlink("/proc/self/exe").string(); }

struct bench_case {
  std::string name, checkpoint, variant;
  vtrans::index batch, seq;
};

void print_comparison(const bench_case& bc, const json& v, const json& t) {
  auto num = [](const json& j, const char* k) { return j.contains(k) && j[k].is_number() ? j[k].get<double>() : -1.0; };
  std::printf("\n== %s: %s, %s step, %ld x %ld ==\n", bc.name.c_str(), bc.checkpoint.c_str(), bc.variant.c_str(), long(bc.batch), long(bc.seq));
  if (v.contains("error")) std::printf("vtrans   failed: %s\n", v["error"].get<std::string>().c_str());
  else
    std::printf("vtrans   %7.2f s/step (min %.2f, max %.2f); GEMM %.0f%% (%.0f GFLOP at %.0f GFLOP/s), attention %.0f%% of the step; minor faults %.0f/step, %.0f in the last;\n"
                "         peak RSS %.0f MiB during steps, %.0f MiB overall (tensors: peak %.0f MiB in use, %.0f MiB reserved); load %.1f s\n",
                num(v, "step_s"), num(v, "step_min_s"), num(v, "step_max_s"), 100 * num(v, "gemm_s") / num(v, "step_s"), num(v, "gemm_gflop"),
                num(v, "gemm_gflop") / num(v, "gemm_s"), 100 * num(v, "attention_s") / num(v, "step_s"), num(v, "faults_per_step"), num(v, "faults_last_step"), num(v, "peak_steps_mib"),
                num(v, "peak_total_mib"), num(v, "tensor_peak_mib"), num(v, "tensor_reserved_mib"), num(v, "load_s"));
  if (t.is_null()) return;
  if (t.contains("error")) {
    std::printf("PyTorch  unavailable: %s\n", t["error"].get<std::string>().c_str());
    return;
  }
  std::printf("PyTorch  %7.2f s/step (min %.2f, max %.2f); GEMM %.0f%% (%.0f GFLOP with attention's), attention matmuls %.0f%% of op time; minor faults %.0f/step, %.0f in the last;\n"
              "         peak RSS %.0f MiB during steps, %.0f MiB overall; load %.1f s   [torch %s, %s]\n",
              num(t, "step_s"), num(t, "step_min_s"), num(t, "step_max_s"), 100 * num(t, "gemm_share"), num(t, "gemm_gflop"), 100 * num(t, "bmm_share"),
              num(t, "faults_per_step"), num(t, "faults_last_step"), num(t, "peak_steps_mib"), num(t, "peak_total_mib"), num(t, "load_s"),
              t.value("torch", "?").c_str(), t.value("blas", "?").c_str());
  if (!v.contains("error"))
    std::printf("ratio    time %.2fx (PyTorch / vtrans, >1: vtrans faster); peak memory during steps %.2fx, overall %.2fx (vtrans / PyTorch)\n",
                num(t, "step_s") / num(v, "step_s"), num(v, "peak_steps_mib") / num(t, "peak_steps_mib"),
                num(v, "peak_total_mib") / num(t, "peak_total_mib"));
}

// `vtrans logits` on batch x seq random ids: wall time (load + forward) and peak RSS.
void time_logits(const std::string& dir, const std::string& label, vtrans::index batch, vtrans::index seq, const std::string& cache) {
  const std::string cli = (fs::path(self_path()).parent_path() / "vtrans").string();
  if (!fs::exists(cli)) {
    std::printf("\n`vtrans logits` %s: %s not built (cmake --build build --target vtrans_cli)\n", label.c_str(), cli.c_str());
    return;
  }
  const io::model_config cfg = io::load_config((fs::path(dir) / "config.json").string());
  const data::batch b = random_batch(cfg, batch, seq, false);
  const std::string ids = (fs::path(cache) / ("ids-" + std::to_string(batch) + "x" + std::to_string(seq) + ".txt")).string();
  const std::string out = (fs::path(cache) / "logits.npy").string();
  {
    std::ofstream f(ids);
    for (vtrans::index r = 0; r < batch; ++r) {
      for (vtrans::index s = 0; s < seq; ++s) f << (s ? " " : "") << b.id_at(r, s);
      f << "\n";
    }
  }
  const run_result r = run_process({cli, "logits", "--model", dir, "--ids-file", ids, "--output", out});
  fs::remove(out);
  std::printf("\n`vtrans logits` %s, %ld x %ld: %s%.1f s wall, peak RSS %.0f MiB\n", label.c_str(), long(batch), long(seq),
              r.status == 0 ? "" : ("FAILED (exit " + std::to_string(r.status) + "), ").c_str(), r.wall_s, r.maxrss_mib);
}

int bad_usage(const std::string& what) {
  std::fprintf(stderr, "bench_prune_step: %s\n", what.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  vtrans::blas::ensure_fast_kernels(argv);
  std::string cache = (fs::temp_directory_path() / "vtrans-bench-models").string(), write_name, write_dir;
  std::string cases = "bert-faster,bert-vtrans,llama-faster";
  child_options c;
  int threads = 0;
  bool child = false, peer = true, logits = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw vtrans::usage_error(a + " needs a value");
      return argv[++i];
    };
    try {
      if (a == "--cache") cache = next();
      else if (a == "--cases") cases = next();
      else if (a == "--steps") c.steps = std::max(1, std::stoi(next()));
      else if (a == "--warmup") c.warmup = std::max(0, std::stoi(next()));
      else if (a == "--threads") threads = std::stoi(next());
      else if (a == "--no-peer") peer = false;
      else if (a == "--cpu-clock") use_cpu_clock() = true;
      else if (a == "--no-logits") logits = false;
      else if (a == "--write-checkpoint") write_name = next();
      else if (a == "--out") write_dir = next();
      else if (a == "--child") child = true;
      else if (a == "--model") c.model = next();
      else if (a == "--variant") c.variant = next();
      else if (a == "--dtype") c.dtype = next();
      else if (a == "--batch") c.batch = std::stoi(next());
      else if (a == "--seq") c.seq = std::stoi(next());
      else return bad_usage("unknown argument " + a + " (see the comment at the top of benchmarks/bench_prune_step.cpp)");
    } catch (const std::exception& e) {
      return bad_usage(a + ": " + e.what());
    }
  }
  if (threads > 0) {
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
  }
  threads = omp_get_max_threads();

  try {
    if (!write_name.empty()) {
      if (write_dir.empty()) return bad_usage("--write-checkpoint needs --out DIR");
      const auto spec = bench::spec_by_name(write_name);
      const double t0 = now();
      bench::write_random_checkpoint(spec, write_dir);
      std::fprintf(stderr, "%s: %s, %.2f GB, %.1f s\n", write_dir.c_str(), spec.name.c_str(), double(spec.bytes()) / 1e9, now() - t0);
      return 0;
    }
    if (child) {
      if (c.model.empty()) return bad_usage("--child needs --model DIR");
      const io::model_config cfg = io::load_config((fs::path(c.model) / "config.json").string());
      json r;
      if (cfg.family == nn::bert::id) r = run_child<nn::bert>(c);
      else if (cfg.family == nn::llama::id) r = run_child<nn::llama>(c);
      else return bad_usage(c.model + ": the benchmark runs BERT and LLaMA checkpoints");
      r["threads"] = threads;
      std::fprintf(stderr, "%s: %s step %ld x %ld: %.2f s/step, %.0f minor faults in the last step, load %.1f s, peak RSS %.0f MiB (steps %.0f MiB)\n",
                   c.model.c_str(), c.variant.c_str(), long(c.batch), long(c.seq), r["step_s"].get<double>(),
                   r["faults_last_step"].get<double>(), r["load_s"].get<double>(), r["peak_total_mib"].get<double>(),
                   r["peak_steps_mib"].get<double>());
      std::printf("%s\n", r.dump().c_str());
      return 0;
    }
  } catch (const std::bad_alloc&) {
    std::printf("%s\n", json{{"error", "out of memory"}}.dump().c_str());
    std::fprintf(stderr, "bench_prune_step: out of memory (std::bad_alloc)\n");
    return 1;
  } catch (const std::exception& e) {
    std::printf("%s\n", json{{"error", e.what()}}.dump().c_str());
    std::fprintf(stderr, "bench_prune_step: %s\n", e.what());
    return 1;
  }

  // ---- the comparison ----
  std::printf("bench_prune_step: %s (OPENBLAS_CORETYPE=%s), OpenMP threads %d; %d warm-up + %d timed steps per case, median of %s\n",
              blas::kernel_report().c_str(), std::getenv("OPENBLAS_CORETYPE") ? std::getenv("OPENBLAS_CORETYPE") : "unset", threads,
              c.warmup, c.steps, use_cpu_clock() ? "process CPU time (--cpu-clock)" : "wall-clock time");
  std::printf("checkpoints in %s (random weights; reused when complete)\n", cache.c_str());
  const std::vector<bench_case> all = {{"bert-faster", "bert-base-cls2", "faster", 8, 128},
                                       {"bert-vtrans", "bert-base-cls2", "vtrans", 8, 128},
                                       {"llama-faster", "tinyllama-1.1b", "faster", 1, 128}};
  std::vector<std::string> written;
  for (const auto& bc : all) {
    if (cases.find(bc.name) == std::string::npos) continue;
    const std::string dir = (fs::path(cache) / bc.checkpoint).string();
    if (std::find(written.begin(), written.end(), dir) == written.end()) {
      if (!bench::checkpoint_complete(dir)) std::printf("writing %s ...\n", dir.c_str());
      bench::write_random_checkpoint(bench::spec_by_name(bc.checkpoint), dir);
      written.push_back(dir);
    }
    const std::string t = std::to_string(threads), steps = std::to_string(c.steps), warm = std::to_string(c.warmup);
    const std::string b = std::to_string(bc.batch), s = std::to_string(bc.seq);
    std::vector<std::string> args = {self_path(), "--child", "--model", dir, "--variant", bc.variant, "--batch", b, "--seq", s, "--steps",
                                     steps, "--warmup", warm, "--threads", t, "--dtype", bc.variant == "faster" ? c.dtype : "float32"};
    if (use_cpu_clock()) args.push_back("--cpu-clock");
    const run_result v = run_process(args);
    json vj = last_json_line(v.out);
    if (v.status != 0 && !vj.contains("error")) vj["error"] = "exit status " + std::to_string(v.status);
    json tj;
    if (peer) {
      const std::string script = std::string(VTRANS_SOURCE_DIR) + "/benchmarks/pytorch_prune_peer.py";
      args = {"/usr/bin/python3", script, "--model", dir, "--variant", bc.variant, "--batch", b, "--seq", s, "--steps", steps, "--warmup", warm,
              "--threads", t};
      if (use_cpu_clock()) args.push_back("--cpu-clock");
      const run_result p = run_process(args);
      tj = last_json_line(p.out);
      if (p.status != 0 && !tj.contains("error")) tj["error"] = "exit status " + std::to_string(p.status);
    }
    print_comparison(bc, vj, tj);
  }
  if (logits) {
    for (const auto& [name, label, batch] : {std::tuple<const char*, const char*, int>{"bert-base-cls2", "BERT-base", 8},
                                             std::tuple<const char*, const char*, int>{"tinyllama-1.1b", "1.1B LLaMA (BF16)", 1}}) {
      const std::string dir = (fs::path(cache) / name).string();
      if (bench::checkpoint_complete(dir)) time_logits(dir, label, batch, 128, cache);
    }
  }
  return 0;
}
