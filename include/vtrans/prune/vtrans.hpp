#pragma once
// The VTrans loop: masks on every structure of a copy of the teacher are trained with the task
// and distillation losses, the masks' regulariser (VIB's KL) and the Lagrangian size constraint,
// for a schedule in epochs over the pruning set and then, within a cap, until the expected size
// is inside a narrow window around the budget; the masks' keep decision at that step is the
// pruned model (select.hpp), which is compacted and fine-tuned with distillation.
//   vtrans: masks and weights trained on all the data, then weight fine-tuning
//   fast:   the same, pruning on a seeded, label-stratified fraction of the data (default 3%)
//   faster: masks only on that fraction, weights frozen (no weight gradients, no optimizer state
//           for them) and never fine-tuned
// The teacher is frozen and the pruning set fixed, so its outputs are computed once per example
// and reused (teacher_cache.hpp): after the first epoch a step runs the student only.
// With a state folder, pruning is resumable (pruning_state.hpp): a resumed run continues bit for
// bit where the state was written (same machine and thread count).
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "vtrans/data/batching.hpp"
#include "vtrans/data/subset.hpp"
#include "vtrans/masks/mask_set.hpp"
#include "vtrans/error.hpp"
#include "vtrans/prune/budget.hpp"
#include "vtrans/nn/copy_weights.hpp"
#include "vtrans/prune/compact.hpp"
#include "vtrans/prune/distill.hpp"
#include "vtrans/prune/lagrangian.hpp"
#include "vtrans/prune/pruning_state.hpp"
#include "vtrans/prune/select.hpp"
#include "vtrans/prune/teacher_cache.hpp"
#include "vtrans/train/adamw.hpp"
#include "vtrans/train/clip.hpp"
#include "vtrans/train/objectives.hpp"
#include "vtrans/train/progress.hpp"
#include "vtrans/train/resident_set.hpp"
#include "vtrans/train/schedule.hpp"

namespace vtrans::prune {

enum class variant { vtrans, fast, faster };
inline const char* variant_name(variant v) { return v == variant::vtrans ? "vtrans" : v == variant::fast ? "fast" : "faster"; }
inline variant parse_variant(const std::string& s) {
  if (s == "vtrans") return variant::vtrans;
  if (s == "fast") return variant::fast;
  if (s == "faster") return variant::faster;
  throw vtrans::usage_error("unknown variant \"" + s + "\" (vtrans, fast, faster)");
}

struct prune_options {
  variant kind = variant::vtrans;
  budget target;
  // Pruning schedule in epochs over the pruning set (unset: prune_epochs_for's default);
  // prune_steps >= 0 replaces it by a step count.
  std::optional<double> prune_epochs;
  std::int64_t prune_steps = -1;
  // After the schedule, pruning goes on while the expected size is outside the window (a
  // fraction of the budget either side), for at most max_extra times the schedule
  // (max_extra_steps >= 0: that many steps).
  double window = 0.01;
  double max_extra = 1.0;
  std::int64_t max_extra_steps = -1;
  // Fine-tuning of the compacted model on all the training data: epochs, or finetune_steps >= 0
  // steps. Faster-VTrans never fine-tunes weights unless finetune_steps says so.
  double finetune_epochs = 1;
  std::int64_t finetune_steps = -1;
  index batch_size = 16;
  double lr_weights = 1e-4;
  // The mask policy's published loop settings (Policy::loop_defaults()) unless set here.
  std::optional<double> lr_masks, lr_lambda, lagrangian_warmup, regularizer_weight, stiffness;
  std::optional<masks::multiplier_rule> multipliers;
  std::map<std::string, double> mask_settings;  // the policy's named settings (Policy::settings)
  double data_fraction = 0.03;                  // pruning set of fast and faster
  double max_grad_norm = 1.0;
  distill_options distill;
  selection_options selection;
  double teacher_cache_mb = 1024;               // memory (the backend's: on a GPU, the device's) for cached teacher outputs (0: off)
  // Memory (the backend's) for the data set and the run's batch plan, kept there so that a step
  // uploads nothing (train/resident_set.hpp); over it (or 0), each step uploads its batch.
  double resident_data_mb = 1024;
  std::uint64_t seed = 1;
  train::progress_style progress = train::progress_style::automatic;
  index trajectory_every = 10;                  // record the mask trajectory every this many steps
  // Read the loss and the expected size on the host every this many steps: the divergence check,
  // the progress note and, after the schedule, the stop window. The steps in between read
  // nothing, so that a GPU never waits for the host (1: every step).
  index sync_every = 1;
  // Resumable pruning: with state_dir set, the pruning state is written there every
  // checkpoint_every steps (0: not by count) and every checkpoint_minutes (0: not by time), and
  // once pruning ends; resume continues from the state found there.
  std::string state_dir;
  std::int64_t checkpoint_every = 0;
  double checkpoint_minutes = 10;
  bool resume = false;
  // Checked after every pruning step; true stops the run (after saving the state, with a state
  // folder) with vtrans::interrupted. The CLI sets it from SIGINT/SIGTERM.
  std::function<bool()> stop_requested;

  masks::loop_settings loop_for(masks::loop_settings d) const {
    if (lr_masks) d.mask_lr = *lr_masks;
    if (lr_lambda) d.lambda_lr = *lr_lambda;
    if (lagrangian_warmup) d.lagrangian_warmup = *lagrangian_warmup;
    if (regularizer_weight) d.regularizer_weight = *regularizer_weight;
    if (multipliers) d.multipliers = *multipliers;
    if (stiffness) d.stiffness = *stiffness;
    return d;
  }
  // 4 epochs; Faster-VTrans 16: masks alone on a 3% pruning set gain 0.6 point of POS accuracy
  // from 4 to 16 epochs and nothing more by 64 (method.md), at a quarter of a VTrans epoch's steps.
  double prune_epochs_for(variant v) const { return prune_epochs ? *prune_epochs : v == variant::faster ? 16.0 : 4.0; }
  // steps of a schedule given in epochs (or steps, when non-negative) over `batches` per epoch
  static std::int64_t steps_of(double epochs, std::int64_t steps, std::size_t batches) {
    return steps >= 0 ? steps : std::int64_t(std::ceil(epochs * double(batches)));
  }
  std::int64_t finetune_steps_for(variant v, std::size_t batches_per_epoch) const {
    if (v == variant::faster && finetune_steps < 0) return 0;
    return steps_of(finetune_epochs, finetune_steps, batches_per_epoch);
  }
};

// The student of a pruning run: the teacher's weights under fresh masks. A Faster-VTrans student
// never changes a weight, so it holds the teacher's own (nn::sharing_weights: nothing copied, the
// memory of a second model saved); a student whose weights train gets its own float copy.
template <class Policy, class Family, class B, class T>
nn::transformer<Family, Policy, B, T> make_student(const nn::transformer<Family, masks::none, B, T>& teacher, variant kind,
                                                   std::uint64_t seed, const masks::structure_options<Policy>& mask_options) {
  using student_t = nn::transformer<Family, Policy, B, T>;
  if (kind == variant::faster) return student_t(nn::sharing_weights, teacher, seed, mask_options);
  student_t student(teacher.config(), teacher.head(), nn::for_loading_t(nn::matrix_dtype::compute), seed, mask_options);
  nn::copy_weights(teacher, student);
  return student;
}

// A model's weights frozen for a scope (when `on`), each one's trainable flag restored after: a
// teacher lends its weights to a Faster-VTrans student, which must not train them, and is not
// left frozen.
template <class Model>
class scoped_freeze {
 public:
  scoped_freeze(const Model& m, bool on) {
    if (!on) return;
    for (const auto& [name, p] : m.parameters()) {
      auto handle = p;  // the same node
      saved_.emplace_back(handle, handle.trainable());
      handle.set_trainable(false);
    }
  }
  ~scoped_freeze() {
    for (auto& [p, on] : saved_) p.set_trainable(on);
  }
  scoped_freeze(const scoped_freeze&) = delete;
  scoped_freeze& operator=(const scoped_freeze&) = delete;

 private:
  std::vector<std::pair<typename Model::param_t, bool>> saved_;
};

// One point of the pruning trajectory (for the pictures and the probing report).
struct trajectory_point {
  std::int64_t step = 0;
  double loss = 0, expected_sparsity = 0, target_sparsity = 0, lambda1 = 0, lambda2 = 0;
  std::vector<std::vector<double>> head_scores;  // per layer, per (kv) head: log alpha
};

struct phase_times {
  double prune_s = 0, select_s = 0, compact_s = 0, finetune_s = 0;
  double compression_s() const { return prune_s + select_s + compact_s + finetune_s; }
};

template <class Model>
struct prune_result {
  explicit prune_result(Model m) : model(std::move(m)) {}
  Model model;  // the compacted, fine-tuned dense model
  kept_units kept;
  selection_report selection;
  cost_numbers<double> full, pruned;
  phase_times times;
  std::vector<trajectory_point> trajectory;
  std::size_t pruning_examples = 0;
  std::int64_t schedule_steps = 0;     // the pruning schedule in steps
  std::int64_t pruning_steps = 0;      // steps taken (the schedule plus any extension)
  bool stopped_in_window = false;      // the expected size was inside the window when pruning stopped
  double final_expected_sparsity = 0;  // where pruning stopped
  std::int64_t teacher_forwards = 0;   // teacher forward passes while pruning
  bool teacher_cached = false;         // teacher outputs of the pruning set were cached
  std::int64_t finetune_steps = 0;
};

namespace detail {
inline nlohmann::json to_json(const std::vector<trajectory_point>& points) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : points)
    out.push_back({{"step", p.step}, {"loss", p.loss}, {"expected_sparsity", p.expected_sparsity}, {"target_sparsity", p.target_sparsity},
                   {"lambda1", p.lambda1}, {"lambda2", p.lambda2}, {"head_scores", p.head_scores}});
  return out;
}
inline std::vector<trajectory_point> trajectory_from_json(const nlohmann::json& j, const std::string& source) {
  std::vector<trajectory_point> out;
  try {
    for (const auto& p : j)
      out.push_back({p.at("step").get<std::int64_t>(), p.at("loss").get<double>(), p.at("expected_sparsity").get<double>(),
                     p.at("target_sparsity").get<double>(), p.at("lambda1").get<double>(), p.at("lambda2").get<double>(),
                     p.at("head_scores").get<std::vector<std::vector<double>>>()});
  } catch (const nlohmann::json::exception& e) {
    throw format_error(source + ": bad trajectory" + io::detail::json_error_detail(e.what()));
  }
  return out;
}

// The options that decide a pruning trajectory: a resumed run must have the same.
inline nlohmann::json run_fingerprint(const prune_options& o, const masks::loop_settings& loop, const std::string& policy,
                                      std::size_t pruning_examples, double teacher_parameters) {
  return {{"variant", variant_name(o.kind)}, {"masks", policy}, {"budget", o.target.str()}, {"seq_len", o.target.seq_len},
          {"count_embeddings", o.target.count_embeddings}, {"seed", o.seed}, {"batch_size", o.batch_size},
          {"data_fraction", o.data_fraction}, {"pruning_examples", pruning_examples}, {"teacher_parameters", teacher_parameters},
          {"prune_epochs", o.prune_epochs_for(o.kind)}, {"prune_steps", o.prune_steps}, {"window", o.window}, {"max_extra", o.max_extra},
          {"max_extra_steps", o.max_extra_steps}, {"lr", o.lr_weights}, {"mask_lr", loop.mask_lr}, {"lambda_lr", loop.lambda_lr},
          {"warmup", loop.lagrangian_warmup}, {"regularizer_weight", loop.regularizer_weight}, {"multipliers", int(loop.multipliers)},
          {"stiffness", loop.stiffness}, {"mask_settings", o.mask_settings}, {"kd_weight", o.distill.kd_weight},
          {"temperature", o.distill.temperature}, {"task_weight", o.distill.task_weight}, {"layer_weight", o.distill.layer_weight},
          {"max_grad_norm", o.max_grad_norm}, {"teacher_cache_mb", o.teacher_cache_mb}, {"trajectory_every", o.trajectory_every},
          {"sync_every", o.sync_every}};
}

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A loss term that is no longer a finite number stops the run, naming the phase, step and term;
// returns its value (one read on the host).
template <class V>
double require_finite(const V& term, const std::string& phase, std::int64_t step, const char* name) {
  const double v = double(term.item());
  if (!std::isfinite(v))
    throw vtrans::error(phase + " diverged at step " + std::to_string(step) + ": the " + name + " is " + std::to_string(v) +
                        " (try lower learning rates)");
  return v;
}

// Loss of a student batch: task loss, logit KD and layer distillation towards the teacher's
// outputs on the batch's real rows. `on_device`: the batch in the backend's memory, if it is.
template <class Student, class T, class B>
autodiff::var<T, B> distill_loss(const Student& student, const distill_targets<T, B>& teacher, train::task_kind task, const data::batch& b,
                                 const train::device_batch<T, B>* on_device, const nn::forward_options& fo, const distill_options& d,
                                 const autodiff::var<T, B>& proj_w, const autodiff::var<T, B>& proj_b) {
  using V = autodiff::var<T, B>;
  nn::forward_options sfo = fo;
  sfo.keep_layer_outputs = d.layer_weight > 0;
  const auto out = on_device ? student.forward(on_device->input, sfo) : student.forward(train::to_input(b), sfo);
  V loss;
  auto add = [&](const V& term, double w) {
    if (w == 0) return;
    const V t = autodiff::scale(term, static_cast<T>(w));
    loss = loss.defined() ? autodiff::add(loss, t) : t;
  };
  if (d.task_weight > 0) add(on_device ? train::task_loss(task, out, b, *on_device) : train::task_loss(task, out, b), d.task_weight);
  if (d.kd_weight > 0) {
    const V s = select_rows(out.logits, logit_rows(out.logits, b), on_device ? &on_device->token_rows : nullptr);
    add(task == train::task_kind::regression ? autodiff::mse(s, teacher.logits) : autodiff::kl_div(s, teacher.logits, d.temperature), d.kd_weight);
  }
  if (d.layer_weight > 0) {
    const auto tokens = real_token_rows(b);
    std::vector<V> states;
    for (const auto& h : out.layer_outputs) states.push_back(select_rows(h, tokens, on_device ? &on_device->token_rows : nullptr));
    add(layer_distillation(teacher.layers, states, proj_w, proj_b), d.layer_weight);
  }
  return loss;
}

// The teacher's outputs for a data set, cached when the inputs are the same every epoch.
template <class Teacher>
teacher_outputs<Teacher> teacher_for(const Teacher& teacher, const data::data_loader& loader, train::task_kind task, const prune_options& o) {
  const bool fixed_inputs = task != train::task_kind::masked_lm;  // masked LM masks anew every step
  return teacher_outputs<Teacher>(teacher, loader, o.distill.kd_weight > 0, o.distill.layer_weight > 0,
                                  fixed_inputs ? std::size_t(o.teacher_cache_mb * 1024.0 * 1024.0) : 0);
}

// The data set in the backend's memory for a run of `steps` batches, when it fits, with the
// real-token rows of its batches where distillation selects them (per-token logits, layers).
template <class Teacher>
train::resident_set<Teacher> resident_for(const Teacher& teacher, const data::data_loader& loader, train::task_kind task, std::int64_t steps,
                                          const prune_options& o) {
  const bool per_token = task == train::task_kind::token_classification || task == train::task_kind::causal_lm;
  const bool token_rows = o.distill.layer_weight > 0 || (o.distill.kd_weight > 0 && per_token);
  return train::resident_set<Teacher>(teacher, loader, task, steps, std::size_t(o.resident_data_mb * 1024.0 * 1024.0), token_rows);
}

template <class T, class B>
autodiff::param<T, B> identity_projection(index out_dim, const std::vector<index>& in_units) {
  std::vector<T> w(std::size_t(out_dim * index(in_units.size())), T(0));
  for (std::size_t c = 0; c < in_units.size(); ++c) w[std::size_t(in_units[c]) * in_units.size() + c] = T(1);
  return autodiff::param<T, B>(tensor<T, B>::from_host(shape{out_dim, index(in_units.size())}, w));
}
}  // namespace detail

// Fine-tunes a (compacted) dense model with distillation from the teacher; returns the steps.
template <class Student, class Teacher>
std::int64_t finetune(Student& student, const Teacher& teacher, train::task_kind task, const data::data_loader& loader, const prune_options& o,
                      std::int64_t steps, const std::vector<index>& teacher_units = {}, const std::string& phase = "fine-tune") {
  using T = typename Student::value_type;
  using B = typename Student::backend;
  if (steps <= 0) return 0;
  // the layer-distillation projection starts as the embedding of the kept hidden units
  std::vector<index> units = teacher_units;
  if (units.empty())
    for (index i = 0; i < student.config().hidden_size; ++i) units.push_back(i);
  auto proj_w = detail::identity_projection<T, B>(teacher.config().hidden_size, units);
  autodiff::param<T, B> proj_b(tensor<T, B>::zeros(shape{teacher.config().hidden_size}));
  auto params = student.parameters();
  if (o.distill.layer_weight > 0) params.push_back({"distill.proj.weight", proj_w}), params.push_back({"distill.proj.bias", proj_b});
  train::adamw<T, B> opt(params, {o.lr_weights, 0.9, 0.999, 1e-8, 0.01}, {train::no_decay_group()});
  const train::lr_schedule sched{train::schedule_kind::linear, steps / 10, steps};
  auto targets = detail::teacher_for(teacher, loader, task, o);
  const auto resident = detail::resident_for(teacher, loader, task, steps, o);
  train::progress_options po;
  po.style = o.progress;
  po.unit = "ex";
  train::progress bar(phase, steps, po);
  std::int64_t step = 0;
  double lv = 0;  // the loss last read on the host
  for (std::uint64_t epoch = 0; step < steps; ++epoch) {
    const auto batches = loader.plan(epoch);
    for (std::size_t bi = 0; bi < batches.size(); ++bi) {
      if (step >= steps) break;
      const data::batch b = loader.make_batch(batches[bi]);
      const auto on_device = resident.covers(epoch, bi) ? std::optional(resident.batch(epoch, bi, b)) : std::nullopt;
      nn::forward_options fo;
      fo.training = true;
      fo.dropout_seed = o.seed * 1000003 + std::uint64_t(step);
      const auto loss = detail::distill_loss(student, targets.of(b, on_device ? &*on_device : nullptr), task, b,
                                             on_device ? &*on_device : nullptr, fo, o.distill, autodiff::var<T, B>(proj_w), autodiff::var<T, B>(proj_b));
      if (step % o.sync_every == 0) lv = detail::require_finite(loss, phase, step, "task + distillation loss");
      autodiff::backward(loss);
      train::clip_grad_norm_on_device(params, o.max_grad_norm);
      opt.step(sched.factor(step));
      opt.zero_grad();
      ++step;
      bar.step(lv, b.batch_size);
    }
  }
  bar.finish();
  return step;
}

// The tail every method shares: selection of the masks' decision to the budget, compaction,
// and fine-tuning of the compacted model on `finetune_set`. Fills model, kept, selection,
// pruned and the times of these phases.
template <class Masked, class Teacher, class Result>
void select_compact_finetune(Masked& student, const Teacher& teacher, train::task_kind task, const std::vector<data::sequence>& finetune_set,
                             const data::collate_options& collate, const prune_options& o, variant v, Result& result) {
  auto t0 = std::chrono::steady_clock::now();
  result.selection = select_to_budget(student, o.target, result.full, o.selection);
  result.times.select_s = detail::seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  result.kept = kept_of(student);
  result.model = compact(student);  // in the student's matrix type
  result.times.compact_s = detail::seconds_since(t0);
  result.pruned = exact_cost(result.model.config(), result.model.head(), o.target.seq_len, o.target.count_embeddings);

  t0 = std::chrono::steady_clock::now();
  data::batch_plan_options plan;
  plan.batch_size = o.batch_size;
  plan.seed = o.seed;
  const data::data_loader loader(finetune_set, plan, collate);
  const std::int64_t steps = o.finetune_steps_for(v, loader.batches_per_epoch());
  if (steps > 0) result.model = nn::with_matrices(std::move(result.model), nn::matrix_dtype::compute);  // trained weights are T
  result.finetune_steps = finetune(result.model, teacher, task, loader, o, steps, result.kept.hidden);
  // the pruned model keeps its teacher's matrix type (a BF16 checkpoint prunes to a BF16 one)
  result.model = nn::with_matrices(std::move(result.model), teacher.matrices());
  result.times.finetune_s = detail::seconds_since(t0);
}

// Prunes `teacher` to the budget with mask policy Policy (vib for VTrans, hard_concrete for CoFi).
template <class Policy, class Family, class B, class T>
prune_result<nn::transformer<Family, masks::none, B, T>> vtrans_prune(const nn::transformer<Family, masks::none, B, T>& teacher,
                                                                      train::task_kind task, const std::vector<data::sequence>& train_set,
                                                                      const data::collate_options& collate, const prune_options& o) {
  using V = autodiff::var<T, B>;
  using P = autodiff::param<T, B>;
  using student_t = nn::transformer<Family, Policy, B, T>;
  const auto t_start = std::chrono::steady_clock::now();
  const masks::loop_settings loop = o.loop_for(Policy::loop_defaults());
  if (o.sync_every < 1 || o.trajectory_every < 1)
    throw vtrans::usage_error("vtrans_prune: sync_every and trajectory_every must be at least 1 (they are " + std::to_string(o.sync_every) +
                              " and " + std::to_string(o.trajectory_every) + ")");

  // data: all of it, or the stratified fraction of Fast- and Faster-VTrans
  std::vector<data::sequence> pruning_set = train_set;
  if (o.kind != variant::vtrans) {
    std::vector<int> labels;
    for (const auto& s : train_set) labels.push_back(s.label ? *s.label : 0);
    pruning_set.clear();
    for (auto i : data::stratified_subset(labels, o.data_fraction, o.seed)) pruning_set.push_back(train_set[i]);
  }
  data::batch_plan_options plan;
  plan.batch_size = o.batch_size;
  plan.seed = o.seed;
  const data::data_loader loader(pruning_set, plan, collate);
  if (loader.batches_per_epoch() == 0) throw vtrans::usage_error("vtrans_prune: the pruning set is empty (data fraction " + std::to_string(o.data_fraction) + ")");

  // the student: the teacher's weights under fresh masks (make_student: a Faster-VTrans student
  // holds the teacher's own, frozen while it prunes; one that trains a float copy)
  auto mask_options = masks::structure_options<Policy>::defaults();
  mask_options.apply(o.mask_settings);
  student_t student = make_student<Policy>(teacher, o.kind, o.seed, mask_options);
  const scoped_freeze<student_t> frozen(student, o.kind == variant::faster);

  const cost_numbers<double> full = exact_cost(teacher.config(), teacher.head(), o.target.seq_len, o.target.count_embeddings);
  const double full_size = o.target.on_flops() ? full.flops : full.params;
  const double limit = target_size(o.target, full);
  const double final_sparsity = 1.0 - limit / full_size;
  const std::int64_t schedule = prune_options::steps_of(o.prune_epochs_for(o.kind), o.prune_steps, loader.batches_per_epoch());
  const std::int64_t cap = schedule + (o.max_extra_steps >= 0 ? o.max_extra_steps : std::int64_t(std::ceil(o.max_extra * double(schedule))));
  const std::int64_t warmup = std::int64_t(std::llround(loop.lagrangian_warmup * double(schedule)));

  std::vector<index> all_hidden(std::size_t(teacher.config().hidden_size));
  for (std::size_t i = 0; i < all_hidden.size(); ++i) all_hidden[i] = index(i);
  P proj_w = detail::identity_projection<T, B>(teacher.config().hidden_size, all_hidden);
  P proj_b(tensor<T, B>::zeros(shape{teacher.config().hidden_size}));

  lagrangian<T, B> lag(loop.multipliers, loop.lambda_lr, loop.stiffness);
  auto mask_params = student.masks().parameters();
  std::vector<std::pair<std::string, P>> weight_params;
  if (o.kind != variant::faster) {
    weight_params = student.parameters();
    if (o.distill.layer_weight > 0) weight_params.push_back({"distill.proj.weight", proj_w}), weight_params.push_back({"distill.proj.bias", proj_b});
  }
  train::adamw<T, B> mask_opt(mask_params, {loop.mask_lr, 0.9, 0.999, 1e-8, 0.0});
  train::adamw<T, B> weight_opt(weight_params, {o.lr_weights, 0.9, 0.999, 1e-8, 0.01}, {train::no_decay_group()});
  auto targets = detail::teacher_for(teacher, loader, task, o);
  std::optional resident(detail::resident_for(teacher, loader, task, cap, o));  // released before fine-tuning keeps its own

  prune_result<nn::transformer<Family, masks::none, B, T>> result(nn::transformer<Family, masks::none, B, T>(teacher.config(), teacher.head()));
  result.full = full;
  result.pruning_examples = pruning_set.size();
  result.schedule_steps = schedule;
  train::progress_options po;
  po.style = o.progress;
  po.unit = "ex";
  train::progress bar(std::string("prune (") + variant_name(o.kind) + ", " + Policy::name() + ")", schedule, po);
  const auto expected_size = [&] {
    autodiff::no_record guard;
    const auto e = expected_cost(student, o.target.seq_len, o.target.count_embeddings);
    return double((o.target.on_flops() ? e.flops : e.params).item());
  };
  // after the schedule: stop inside the window, or at the cap
  const auto done = [&](std::int64_t step) {
    if (step < schedule) return false;
    if (step >= cap) return true;
    return (step - schedule) % o.sync_every == 0 && std::abs(expected_size() - limit) <= o.window * limit;
  };
  // CoFi ramps the target from 0; settling multipliers ramp it from where the masks start, so
  // that masks which start sparser than the budget are not first driven dense (docs/method.md)
  double ramp_start = 0;
  if (!o.resume && loop.multipliers == masks::multiplier_rule::settling) ramp_start = std::clamp(1.0 - expected_size() / full_size, 0.0, 1.0);
  std::int64_t step = 0;
  double last_loss = 0, last_sparsity = 0, earlier_seconds = 0;  // loss and sparsity: as last read on the host

  // resumable state: every tensor the loop changes, and when it was last written
  std::vector<std::pair<std::string, P>> state_params;
  for (const auto& [name, p] : mask_params) state_params.push_back({"mask/" + name, p});
  for (const auto& [name, p] : weight_params) state_params.push_back({"weight/" + name, p});
  for (const auto& [name, p] : lag.parameters()) state_params.push_back({"lagrangian/" + name, p});
  const nlohmann::json fingerprint = detail::run_fingerprint(o, loop, Policy::name(), pruning_set.size(), full.params);
  auto last_save = std::chrono::steady_clock::now();
  std::int64_t saved_step = -1;
  const auto save_state = [&] {
    const pruning_state s{step, ramp_start, last_loss, earlier_seconds + detail::seconds_since(t_start), detail::to_json(result.trajectory), fingerprint};
    save_pruning_state(o.state_dir, state_params, mask_opt, weight_opt, lag.optimizer(), s);
    last_save = std::chrono::steady_clock::now();
    saved_step = step;
  };
  if (o.resume) {
    if (o.state_dir.empty()) throw vtrans::usage_error("vtrans_prune: resume needs a state folder (prune_options::state_dir)");
    const pruning_state s = load_pruning_state(o.state_dir, state_params, mask_opt, weight_opt, lag.optimizer(), fingerprint);
    step = saved_step = s.step, ramp_start = s.ramp_start, last_loss = s.last_loss, earlier_seconds = s.prune_seconds;
    result.trajectory = detail::trajectory_from_json(s.trajectory, o.state_dir);
    // The teacher cache is filled as an uninterrupted run fills it: over the first epoch, in order.
    if (!done(step)) {
      const auto first = loader.plan(0);
      for (std::size_t i = 0; i < first.size() && std::int64_t(i) < step; ++i) {
        targets.of(loader.make_batch(first[i]));
        if (!targets.caching()) break;
      }
    }
    bar.update(step);
  }
  // where the step falls in the epochs' plans
  std::uint64_t start_epoch = 0;
  std::size_t cursor = std::size_t(step);
  for (std::size_t n = loader.batches_per_epoch(); cursor >= n && n > 0; ++start_epoch) cursor -= n;

  for (std::uint64_t epoch = start_epoch; !done(step); ++epoch) {
    const auto batches = loader.plan(epoch);
    for (std::size_t bi = epoch == start_epoch ? cursor : 0; bi < batches.size(); ++bi) {
      if (done(step)) break;
      const auto& indices = batches[bi];
      const data::batch b = loader.make_batch(indices);
      const auto on_device = resident->covers(epoch, bi) ? std::optional(resident->batch(epoch, bi, b)) : std::nullopt;
      nn::forward_options fo;
      fo.training = true;
      fo.dropout_seed = o.seed * 7919 + std::uint64_t(step);
      fo.mask_seed = o.seed * 104729 + std::uint64_t(step);
      const bool sync = step % o.sync_every == 0, record = step % o.trajectory_every == 0;
      V loss = detail::distill_loss(student, targets.of(b, on_device ? &*on_device : nullptr), task, b, on_device ? &*on_device : nullptr, fo,
                                    o.distill, V(proj_w), V(proj_b));
      if (sync) detail::require_finite(loss, "pruning", step, "task + distillation loss");
      // the masks' regulariser, each structure normalised by its number of units
      student.masks().for_each([&](masks::structure, index, const auto& u) {
        if (loop.regularizer_weight > 0 && u.size() > 0)
          loss = autodiff::add(loss, autodiff::scale(u.regularizer(), static_cast<T>(loop.regularizer_weight / double(u.size()))));
      });
      const auto expected = expected_cost(student, o.target.seq_len, o.target.count_embeddings);
      const V& size = o.target.on_flops() ? expected.flops : expected.params;
      const double t = target_sparsity(final_sparsity, step, warmup, ramp_start);
      loss = autodiff::add(loss, lag.penalty(size, full_size, t));
      if (sync || record) {
        last_loss = detail::require_finite(loss, "pruning", step, "mask regulariser (KL) or Lagrangian size penalty");
        last_sparsity = 1.0 - double(size.item()) / full_size;
      }
      autodiff::backward(loss);
      if (!weight_params.empty()) train::clip_grad_norm_on_device(weight_params, o.max_grad_norm);
      mask_opt.step();
      student.masks().after_step();
      if (!weight_params.empty()) weight_opt.step(1.0);
      lag.step(step >= warmup);
      mask_opt.zero_grad();
      weight_opt.zero_grad();
      if (record) {
        trajectory_point pt{step, last_loss, last_sparsity, t, lag.lambda1(), lag.lambda2(), {}};
        for (const auto& h : student.masks().heads) pt.head_scores.push_back(h.score());
        result.trajectory.push_back(std::move(pt));
      }
      ++step;
      bar.step(last_loss, b.batch_size);
      if (sync) bar.set_note("sparsity " + std::to_string(last_sparsity).substr(0, 5) + " -> " + std::to_string(t).substr(0, 5));
      const bool by_count = o.checkpoint_every > 0 && step % o.checkpoint_every == 0;
      const bool by_time = o.checkpoint_minutes > 0 && detail::seconds_since(last_save) >= 60.0 * o.checkpoint_minutes;
      const bool stop = o.stop_requested && o.stop_requested();
      if (!o.state_dir.empty() && (by_count || by_time || stop) && step != saved_step) save_state();
      if (stop)
        throw vtrans::interrupted("pruning stopped at step " + std::to_string(step) + " of " + std::to_string(schedule) +
                                  (o.state_dir.empty() ? "; no state was saved" : "; its state is saved in " + o.state_dir));
    }
  }
  bar.finish();
  if (!o.state_dir.empty() && step != saved_step) save_state();  // a run killed later resumes at the selection
  result.pruning_steps = step;
  result.final_expected_sparsity = 1.0 - expected_size() / full_size;
  result.stopped_in_window = std::abs(expected_size() - limit) <= o.window * limit;
  result.teacher_forwards = targets.forwards();
  result.teacher_cached = targets.caching();
  {
    trajectory_point pt{step, last_loss, result.final_expected_sparsity, final_sparsity, lag.lambda1(), lag.lambda2(), {}};
    for (const auto& h : student.masks().heads) pt.head_scores.push_back(h.score());
    result.trajectory.push_back(std::move(pt));
  }
  result.times.prune_s = earlier_seconds + detail::seconds_since(t_start);

  // Fast-VTrans fine-tunes on all the training data; Faster-VTrans does not fine-tune by default
  resident.reset();
  select_compact_finetune(student, teacher, task, train_set, collate, o, o.kind, result);
  return result;
}

}  // namespace vtrans::prune
