// One BERT-base encoder layer (post-norm) from the autodiff ops, timed forward (no tape) and
// forward + backward (loss = sum of outputs), against the same layer in PyTorch run by
// benchmarks/pytorch_peer.py under Debian's /usr/bin/python3 with the same thread count.
//
//   build/bin/bench_encoder_layer [--reps N] [--warmup N] [--threads N] [--batch B] [--seq S]
//                                 [--profile] [--no-peer] [--peer-profile] [--cpu-clock]
//
// --profile adds a per-op breakdown (forward under no_record, and backward measured inside the
// real fused backward pass by marker entries pushed onto the tape between ops).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <omp.h>
#include <sys/resource.h>
#include <time.h>

#include "vtrans/tensor/cpu.hpp"  // first: the autodiff headers expect a backend to be declared
#include "vtrans/autodiff/autodiff.hpp"
#include "vtrans/tensor/openblas_runtime.hpp"
#include "measure.hpp"

extern "C" void openblas_set_num_threads(int);

using namespace vtrans;
using namespace vtrans::autodiff;

using namespace vtrans_bench;

namespace {

using B = cpu;
using V = var<float, B>;
using P = param<float, B>;

struct config {
  vtrans::index batch = 8, seq = 128, hidden = 768, heads = 12, ffn = 3072;
  int reps = 10, warmup = 3, threads = 0;
  bool profile = false, peer = true, peer_profile = false, cpu_clock = false;
};

P make_param(const shape& s, std::uint64_t seed, float scale, float offset = 0) {
  std::vector<float> v(static_cast<std::size_t>(s.numel()));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = offset + scale * static_cast<float>(math::normal(seed, i));
  return P(tensor<float, B>::from_host(s, v));
}

struct layer {
  P wq, bq, wk, bk, wv, bv, wo, bo, g1, be1, w1, b1, w2, b2, g2, be2;
  explicit layer(const config& c) {
    const vtrans::index h = c.hidden, f = c.ffn;
    wq = make_param({h, h}, 1, 0.02f); bq = make_param({h}, 2, 0.02f);
    wk = make_param({h, h}, 3, 0.02f); bk = make_param({h}, 4, 0.02f);
    wv = make_param({h, h}, 5, 0.02f); bv = make_param({h}, 6, 0.02f);
    wo = make_param({h, h}, 7, 0.02f); bo = make_param({h}, 8, 0.02f);
    g1 = make_param({h}, 9, 0.02f, 1.f); be1 = make_param({h}, 10, 0.02f);
    w1 = make_param({f, h}, 11, 0.02f); b1 = make_param({f}, 12, 0.02f);
    w2 = make_param({h, f}, 13, 0.02f); b2 = make_param({h}, 14, 0.02f);
    g2 = make_param({h}, 15, 0.02f, 1.f); be2 = make_param({h}, 16, 0.02f);
  }
  std::vector<P*> params() { return {&wq, &bq, &wk, &bk, &wv, &bv, &wo, &bo, &g1, &be1, &w1, &b1, &w2, &b2, &g2, &be2}; }
};

// Per-op timings: forward from timestamps between ops; backward from marker entries on the tape
// (entries run in reverse, so the marker pushed after op i fires just before op i's backward).
struct profiler {
  std::vector<std::string> names;
  std::vector<double> fwd_marks, bwd_marks;
  std::map<std::string, std::vector<double>> fwd, fwd_taped, bwd;
  bool recording = false;
  void begin() {
    names.clear(); fwd_marks = {now()}; bwd_marks.clear();
    if (recording) tape<float, B>::local().push([this] { bwd_marks.push_back(now()); });
  }
  void mark(const char* name) {
    names.emplace_back(name);
    fwd_marks.push_back(now());
    if (recording) tape<float, B>::local().push([this] { bwd_marks.push_back(now()); });
  }
  void collect() {
    auto& f = recording ? fwd_taped : fwd;
    for (std::size_t i = 0; i < names.size(); ++i) f[names[i]].push_back(fwd_marks[i + 1] - fwd_marks[i]);
    // bwd_marks[0] fires before the last op's backward, bwd_marks[j] after the backward of op n-j
    if (recording && bwd_marks.size() == names.size() + 1)
      for (std::size_t j = 0; j < names.size(); ++j) bwd[names[names.size() - 1 - j]].push_back(bwd_marks[j + 1] - bwd_marks[j]);
  }
};

V forward(layer& L, const V& x, const id_tensor<B>& mask, vtrans::index heads, profiler* prof) {
  auto mark = [&](const char* n) { if (prof) prof->mark(n); };
  if (prof) prof->begin();
  V q = linear(x, L.wq, L.bq); mark("linear q");
  V k = linear(x, L.wk, L.bk); mark("linear k");
  V v = linear(x, L.wv, L.bv); mark("linear v");
  attention_options opt;
  opt.heads = heads;
  V a = attention(q, k, v, &mask, opt); mark("attention");
  V o = linear(a, L.wo, L.bo); mark("linear out");
  V r1 = add(o, x); mark("add residual 1");
  V h1 = layer_norm(r1, L.g1, L.be1, 1e-12); mark("layer_norm 1");
  V f1 = linear(h1, L.w1, L.b1); mark("linear ffn1");
  V f2 = gelu(f1); mark("gelu");
  V f3 = linear(f2, L.w2, L.b2); mark("linear ffn2");
  V r2 = add(f3, h1); mark("add residual 2");
  V y = layer_norm(r2, L.g2, L.be2, 1e-12); mark("layer_norm 2");
  return y;
}

struct peer_result {
  bool ok = false;
  std::string reason, json;
};

// Minimal extraction of "key": number from the peer's one-line JSON.
double json_number(const std::string& j, const std::string& key) {
  const std::size_t p = j.find("\"" + key + "\"");
  if (p == std::string::npos) return -1;
  const std::size_t c = j.find(':', p);
  return c == std::string::npos ? -1 : std::atof(j.c_str() + c + 1);
}
std::string json_string(const std::string& j, const std::string& key) {
  const std::size_t p = j.find("\"" + key + "\"");
  if (p == std::string::npos) return "";
  const std::size_t q1 = j.find('"', j.find(':', p) + 1);
  const std::size_t q2 = j.find('"', q1 + 1);
  return q1 == std::string::npos || q2 == std::string::npos ? "" : j.substr(q1 + 1, q2 - q1 - 1);
}

peer_result run_peer(const config& c, int threads) {
  peer_result r;
  const std::string script = std::string(VTRANS_SOURCE_DIR) + "/benchmarks/pytorch_peer.py";
  std::string cmd = "/usr/bin/python3 '" + script + "' --threads " + std::to_string(threads) + " --batch " +
                    std::to_string(c.batch) + " --seq " + std::to_string(c.seq) + " --hidden " + std::to_string(c.hidden) +
                    " --heads " + std::to_string(c.heads) + " --ffn " + std::to_string(c.ffn) + " --reps " +
                    std::to_string(c.reps) + " --warmup " + std::to_string(c.warmup) + (c.peer_profile ? " --profile" : "") + (c.cpu_clock ? " --cpu-clock" : "") +
                    " 2>&1";
  std::fflush(stdout);
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) { r.reason = "cannot start /usr/bin/python3"; return r; }
  std::string other;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, pipe)) {
    std::string line(buf);
    if (!line.empty() && line[0] == '{') r.json = line;
    else other += line;
  }
  const int status = pclose(pipe);
  if (!other.empty()) std::printf("%s", other.c_str());  // the peer's profile table or its error
  if (r.json.empty()) { r.reason = "no result (exit status " + std::to_string(status) + ")"; return r; }
  if (!json_string(r.json, "error").empty()) { r.reason = json_string(r.json, "error"); return r; }
  r.ok = true;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  vtrans::blas::ensure_fast_kernels(argv);
  config c;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() { return i + 1 < argc ? std::atoi(argv[++i]) : 0; };
    if (a == "--reps") c.reps = std::max(1, next());
    else if (a == "--warmup") c.warmup = std::max(0, next());
    else if (a == "--threads") c.threads = next();
    else if (a == "--batch") c.batch = next();
    else if (a == "--seq") c.seq = next();
    else if (a == "--profile") c.profile = true;
    else if (a == "--no-peer") c.peer = false;
    else if (a == "--peer-profile") c.peer_profile = true;
    else if (a == "--cpu-clock") c.cpu_clock = use_cpu_clock() = true;
    else { std::fprintf(stderr, "unknown argument %s\n", argv[i]); return 2; }
  }
  if (c.threads > 0) { omp_set_num_threads(c.threads); openblas_set_num_threads(c.threads); }
  const int threads = omp_get_max_threads();
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  std::printf("vtrans encoder layer: batch %ld, seq %ld, hidden %ld, heads %ld, ffn %ld, fp32, post-norm, GELU(erf), dropout off\n",
              long(c.batch), long(c.seq), long(c.hidden), long(c.heads), long(c.ffn));
  std::printf("%s (OPENBLAS_CORETYPE=%s), OpenMP threads %d; %d warm-up + %d timed repetitions, medians of %s\n",
              blas::kernel_report().c_str(), coretype ? coretype : "unset", threads, c.warmup, c.reps,
              c.cpu_clock ? "process CPU time (--cpu-clock)" : "wall-clock time");

  const double rss0 = status_mib("VmRSS:");
  layer L(c);
  std::vector<float> xv(static_cast<std::size_t>(c.batch * c.seq * c.hidden));
  for (std::size_t i = 0; i < xv.size(); ++i) xv[i] = static_cast<float>(math::normal(99, i));
  V x(tensor<float, B>::from_host({c.batch, c.seq, c.hidden}, xv), true);  // the layer input needs a gradient too
  // padding: sequence b keeps its first seq - 8 b tokens (at least one)
  std::vector<std::int32_t> mv(static_cast<std::size_t>(c.batch * c.seq));
  for (vtrans::index b = 0; b < c.batch; ++b)
    for (vtrans::index s = 0; s < c.seq; ++s) mv[std::size_t(b * c.seq + s)] = s < std::max<vtrans::index>(1, c.seq - 8 * b) ? 1 : 0;
  const id_tensor<B> mask = id_tensor<B>::from_host({c.batch, c.seq}, mv);
  const double rss_inputs = status_mib("VmRSS:");

  auto zero_grads = [&] { for (P* p : L.params()) p->zero_grad(); x.zero_grad(); };
  auto run_fwd = [&](profiler* prof) {
    no_record guard;
    V y = forward(L, x, mask, c.heads, prof);
    return y;
  };
  auto run_fwdbwd = [&](profiler* prof) {
    zero_grads();
    V y = forward(L, x, mask, c.heads, prof);
    V loss = sum(y);
    if (prof) prof->mark("sum loss");
    backward(loss);
  };

  // forward
  for (int w = 0; w < c.warmup; ++w) run_fwd(nullptr);
  reset_peak();
  std::vector<double> t_fwd;
  for (int r = 0; r < c.reps; ++r) { double t0 = now(); run_fwd(nullptr); t_fwd.push_back(now() - t0); }
  const double peak_fwd = status_mib("VmHWM:");
  // forward + backward
  for (int w = 0; w < c.warmup; ++w) run_fwdbwd(nullptr);
  const bool reset_ok = reset_peak();
  std::vector<double> t_fb;
  const long faults0 = minor_faults();
  for (int r = 0; r < c.reps; ++r) { double t0 = now(); run_fwdbwd(nullptr); t_fb.push_back(now() - t0); }
  const double faults_per_step = double(minor_faults() - faults0) / c.reps;
  const double peak_fb = status_mib("VmHWM:");
  const double sum_grad = B::dot(L.w1.numel(), L.w1.grad().data(), static_cast<const float*>(nullptr));

  const double fwd_ms = 1e3 * median(t_fwd), fb_ms = 1e3 * median(t_fb);
  auto minmax = [](const std::vector<double>& v) {
    return std::make_pair(1e3 * *std::min_element(v.begin(), v.end()), 1e3 * *std::max_element(v.begin(), v.end()));
  };
  const auto mf = minmax(t_fwd), mb = minmax(t_fb);
  std::printf("\nvtrans   forward          %8.1f ms  (min %.1f, max %.1f)\n", fwd_ms, mf.first, mf.second);
  std::printf("vtrans   forward+backward %8.1f ms  (min %.1f, max %.1f)   [check: sum dW1 = %.6g]\n", fb_ms, mb.first,
              mb.second, sum_grad);
  std::printf("vtrans   minor page faults per forward+backward: %.0f\n", faults_per_step);
  std::printf("vtrans   memory: RSS at start %.0f MiB, with params+input %.0f MiB, peak (VmHWM) forward %.0f MiB, "
              "forward+backward %.0f MiB%s\n",
              rss0, rss_inputs, peak_fwd, peak_fb, reset_ok ? "" : " (peak not resettable: process-lifetime peaks)");

  if (c.profile) {
    profiler prof;
    for (int r = 0; r <= c.reps; ++r) {  // round 0 is warm-up
      prof.recording = false;
      run_fwd(&prof);
      if (r) prof.collect();
      prof.recording = true;
      run_fwdbwd(&prof);
      if (r) prof.collect();
    }
    std::printf("\nper-op breakdown, median ms over %d runs (forward without tape / with tape; backward inside the "
                "real backward pass)\n", c.reps);
    std::printf("%-16s %10s %10s %10s\n", "op", "fwd", "fwd(tape)", "backward");
    double tf = 0, tt = 0, tb = 0;
    for (const auto& n : prof.names) {
      const double f = 1e3 * median(prof.fwd[n]), t = 1e3 * median(prof.fwd_taped[n]), b = 1e3 * median(prof.bwd[n]);
      tf += f; tt += t; tb += b;
      std::printf("%-16s %10.2f %10.2f %10.2f\n", n.c_str(), f, t, b);
    }
    std::printf("%-16s %10.2f %10.2f %10.2f\n", "sum of medians", tf, tt, tb);
  }

  if (!c.peer) return 0;
  std::printf("\nPyTorch peer: /usr/bin/python3 benchmarks/pytorch_peer.py --threads %d ...\n", threads);
  const peer_result p = run_peer(c, threads);
  if (!p.ok) {
    std::printf("PyTorch peer unavailable: %s (vtrans numbers above stand alone)\n", p.reason.c_str());
    return 0;
  }
  const double pf = json_number(p.json, "fwd_ms"), pb = json_number(p.json, "fwdbwd_ms");
  std::printf("torch %s, %d threads, BLAS: %s\n", json_string(p.json, "torch").c_str(), int(json_number(p.json, "threads")),
              json_string(p.json, "blas").c_str());
  std::printf("torch    forward          %8.1f ms  (min %.1f, max %.1f)\n", pf, json_number(p.json, "fwd_min_ms"),
              json_number(p.json, "fwd_max_ms"));
  std::printf("torch    forward+backward %8.1f ms  (min %.1f, max %.1f)\n", pb, json_number(p.json, "fwdbwd_min_ms"),
              json_number(p.json, "fwdbwd_max_ms"));
  std::printf("torch    memory: RSS after import %.0f MiB, with params+input %.0f MiB, peak forward %.0f MiB, "
              "forward+backward %.0f MiB\n",
              json_number(p.json, "rss_import_mib"), json_number(p.json, "rss_inputs_mib"),
              json_number(p.json, "peak_fwd_mib"), json_number(p.json, "peak_fwdbwd_mib"));
  std::printf("\nspeed-up vs PyTorch (torch time / vtrans time): forward %.2fx, forward+backward %.2fx (medians); "
              "%.2fx, %.2fx (minima)\n",
              pf / fwd_ms, pb / fb_ms, json_number(p.json, "fwd_min_ms") / mf.first, json_number(p.json, "fwdbwd_min_ms") / mb.first);
  return 0;
}
