#pragma once
// What a pruning run reports: sizes per layer before and after, parameters, FLOPs, the metric of
// teacher and pruned model, the latency of both measured on the backend they ran on ("device"),
// the time of each phase and the mask trajectory; as JSON (for tools and pictures) and as a short
// Markdown summary (for people).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "vtrans/nn/transformer.hpp"
#include "vtrans/prune/vtrans.hpp"
#include "vtrans/train/progress.hpp"

namespace vtrans::prune {

// How long latency is measured: up to max_repeats timed passes after one warm-up pass, fewer
// (down to min_repeats) once budget_s seconds were spent on them. A BERT-base pass over 8 x 512
// tokens takes ~7 s on two cores: seven of them for each of two models made the latency phase
// most of a short `vtrans prune`.
struct latency_options {
  int max_repeats = 7, min_repeats = 2;
  double budget_s = 10;
  std::string label = "latency";        // the progress bar's phase
  train::progress_style progress = train::progress_style::silent;
};

// Median wall time (ms) of a no-record forward pass on `in`, after one warm-up pass; a GPU is
// waited for, so the time is the pass's, not its launch's.
template <class Model>
double measure_latency_ms(const Model& m, const nn::batch_input& in, const latency_options& o = {}) {
  using B = typename Model::backend;
  autodiff::no_record guard;
  train::progress_options po;
  po.style = o.progress;
  po.unit = "pass";
  train::progress bar(o.label, 1 + o.max_repeats, po);
  m.forward(in);
  B::synchronize();
  bar.step();
  std::vector<double> t;
  double spent_s = 0;
  while (int(t.size()) < o.max_repeats && (int(t.size()) < o.min_repeats || spent_s < o.budget_s)) {
    const auto t0 = std::chrono::steady_clock::now();
    m.forward(in);
    B::synchronize();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    spent_s += t.back() / 1000;
    bar.step();
  }
  bar.finish();
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

inline nlohmann::json layers_json(const io::model_config& c) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& l : c.layers)
    out.push_back({{"heads", l.has_attention ? l.heads : 0}, {"kv_heads", l.has_attention ? l.kv_heads : 0},
                   {"intermediate", l.has_mlp ? l.intermediate : 0}, {"attention", l.has_attention}, {"mlp", l.has_mlp}});
  return out;
}

struct run_summary {
  std::string method;  // "vtrans/vib", "faster/vib", "vtrans/hard_concrete" (CoFi), "magnitude", "random"
  std::string budget;
  std::string metric_name;
  double teacher_metric = 0, pruned_metric = 0;
  double teacher_latency_ms = 0, pruned_latency_ms = 0;
};

template <class Teacher, class Pruned>
nlohmann::json report_json(const run_summary& s, const Teacher& teacher, const prune_result<Pruned>& r) {
  nlohmann::json traj = nlohmann::json::array();
  for (const auto& p : r.trajectory)
    traj.push_back({{"step", p.step}, {"loss", p.loss}, {"expected_sparsity", p.expected_sparsity}, {"target_sparsity", p.target_sparsity},
                    {"lambda1", p.lambda1}, {"lambda2", p.lambda2}, {"head_scores", p.head_scores}});
  nlohmann::json kept_heads = nlohmann::json::array();
  for (const auto& l : r.kept.layers) kept_heads.push_back(l.attention ? nlohmann::json(l.kv_heads) : nlohmann::json::array());
  return {{"method", s.method},
          {"budget", s.budget},
          {"device", Teacher::backend::name()},
          {"family", std::string(io::family_name(teacher.config().family))},
          {"hidden", {{"before", teacher.config().hidden_size}, {"after", r.model.config().hidden_size}}},
          {"layers", {{"before", layers_json(teacher.config())}, {"after", layers_json(r.model.config())}}},
          {"kept_heads", kept_heads},
          {"params", {{"before", r.full.params}, {"after", r.pruned.params}, {"fraction", r.pruned.params / r.full.params}}},
          {"flops_per_token", {{"before", r.full.flops}, {"after", r.pruned.flops}, {"fraction", r.pruned.flops / r.full.flops}}},
          {"metric", {{"name", s.metric_name}, {"teacher", s.teacher_metric}, {"pruned", s.pruned_metric}}},
          {"latency_ms", {{"teacher", s.teacher_latency_ms}, {"pruned", s.pruned_latency_ms},
                          {"speedup", s.pruned_latency_ms > 0 ? s.teacher_latency_ms / s.pruned_latency_ms : 0.0}}},
          {"seconds", {{"prune", r.times.prune_s}, {"select", r.times.select_s}, {"compact", r.times.compact_s},
                       {"finetune", r.times.finetune_s}, {"total", r.times.compression_s()}}},
          {"selection", {{"threshold_size", r.selection.threshold_size}, {"final_size", r.selection.final_size},
                         {"flipped_units", r.selection.flipped_units}, {"flipped_param_fraction", r.selection.flipped_param_fraction},
                         {"count_scale", r.selection.scale}}},
          {"pruning_examples", r.pruning_examples},
          {"schedule_steps", r.schedule_steps},
          {"pruning_steps", r.pruning_steps},
          {"stopped_in_window", r.stopped_in_window},
          {"final_expected_sparsity", r.final_expected_sparsity},
          {"teacher_forwards", r.teacher_forwards},
          {"teacher_cached", r.teacher_cached},
          {"finetune_steps", r.finetune_steps},
          {"trajectory", traj}};
}

inline std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// A short Markdown summary of one run's JSON report.
inline std::string report_markdown(const nlohmann::json& j) {
  std::ostringstream md;
  md << "# Pruning report: " << j["method"].get<std::string>() << " at " << j["budget"].get<std::string>() << "\n\n";
  md << "| | teacher | pruned |\n|---|---|---|\n";
  md << "| " << j["metric"]["name"].get<std::string>() << " | " << fixed(j["metric"]["teacher"], 4) << " | " << fixed(j["metric"]["pruned"], 4) << " |\n";
  md << "| parameters | " << fixed(j["params"]["before"], 0) << " | " << fixed(j["params"]["after"], 0) << " ("
     << fixed(100 * j["params"]["fraction"].get<double>(), 1) << "%) |\n";
  md << "| FLOPs per token | " << fixed(j["flops_per_token"]["before"], 0) << " | " << fixed(j["flops_per_token"]["after"], 0) << " ("
     << fixed(100 * j["flops_per_token"]["fraction"].get<double>(), 1) << "%) |\n";
  md << "| latency on " << j.value("device", std::string("cpu")) << " (ms) | " << fixed(j["latency_ms"]["teacher"], 2) << " | " << fixed(j["latency_ms"]["pruned"], 2) << " ("
     << fixed(j["latency_ms"]["speedup"], 2) << "x faster) |\n";
  md << "| hidden size | " << j["hidden"]["before"] << " | " << j["hidden"]["after"] << " |\n\n";
  md << "Time per phase (s): pruning " << fixed(j["seconds"]["prune"], 1) << ", selection " << fixed(j["seconds"]["select"], 2)
     << ", compaction " << fixed(j["seconds"]["compact"], 2) << ", fine-tuning " << fixed(j["seconds"]["finetune"], 1) << "; total "
     << fixed(j["seconds"]["total"], 1) << ".\n\n";
  if (j.contains("selection") && j["selection"].contains("flipped_units"))
    md << "Selection: " << j["selection"]["flipped_units"] << " units against the masks' decision ("
       << fixed(100 * j["selection"]["flipped_param_fraction"].get<double>(), 2) << "% of the kept parameters).\n\n";
  md << "| layer | heads before | heads after | FFN before | FFN after |\n|---|---|---|---|---|\n";
  const auto& b = j["layers"]["before"];
  const auto& a = j["layers"]["after"];
  for (std::size_t l = 0; l < b.size(); ++l)
    md << "| " << l << " | " << b[l]["heads"] << " | " << a[l]["heads"] << " | " << b[l]["intermediate"] << " | " << a[l]["intermediate"] << " |\n";
  return md.str();
}

}  // namespace vtrans::prune
