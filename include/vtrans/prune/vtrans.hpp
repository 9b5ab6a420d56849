#pragma once
// The VTrans loop: masks on every structure of a copy of the teacher are trained with the task
// and distillation losses, the masks' regulariser (VIB's KL) and the Lagrangian size constraint;
// then deterministic masks are selected to meet the budget, the model is compacted, and the
// compacted model is fine-tuned with distillation.
//   vtrans: masks and weights trained on all the data
//   fast:   the same on a seeded, label-stratified fraction of the data (default 3%)
//   faster: masks only, weights frozen (no weight gradients, no optimizer state for them)
#include <chrono>
#include <cmath>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "vtrans/data/batching.hpp"
#include "vtrans/data/subset.hpp"
#include "vtrans/error.hpp"
#include "vtrans/prune/budget.hpp"
#include "vtrans/prune/compact.hpp"
#include "vtrans/prune/distill.hpp"
#include "vtrans/prune/lagrangian.hpp"
#include "vtrans/prune/select.hpp"
#include "vtrans/train/adamw.hpp"
#include "vtrans/train/clip.hpp"
#include "vtrans/train/objectives.hpp"
#include "vtrans/train/progress.hpp"
#include "vtrans/train/schedule.hpp"

namespace vtrans::prune {

enum class variant { vtrans, fast, faster };
inline const char* variant_name(variant v) { return v == variant::vtrans ? "vtrans" : v == variant::fast ? "fast" : "faster"; }
inline variant parse_variant(const std::string& s) {
  if (s == "vtrans") return variant::vtrans;
  if (s == "fast") return variant::fast;
  if (s == "faster") return variant::faster;
  throw std::invalid_argument("unknown variant \"" + s + "\" (vtrans, fast, faster)");
}

struct prune_options {
  variant kind = variant::vtrans;
  budget target;
  std::int64_t prune_steps = 300;        // mask training steps
  // after prune_steps, keep training (at most this many more steps) while the expected sparsity
  // is still more than target_tolerance short of the target: the masks, not the final ranking,
  // should decide what goes
  std::int64_t max_extra_steps = 300;
  double target_tolerance = 0.01;
  // after compaction; -1: the variant's default (300 for vtrans and fast; 0 for faster, whose
  // compression trains only masks: mu, folded into the kept weights, is all it ever changes)
  std::int64_t finetune_steps = -1;
  std::int64_t finetune_steps_for(variant v) const { return finetune_steps >= 0 ? finetune_steps : v == variant::faster ? 0 : 300; }
  double lagrangian_warmup = 0.5;        // fraction of the pruning steps over which the target ramps up
  index batch_size = 16;
  double lr_weights = 1e-4, lr_masks = 0.1, lr_lambda = 0.1;
  double kl_weight = 0.01;               // per structure, divided by its number of units
  masks::vib::options vib;               // VIB mask settings (CoFi's masks keep their published ones)
  double data_fraction = 0.03;           // Fast-VTrans
  double max_grad_norm = 1.0;
  distill_options distill;
  selection_options selection;
  std::uint64_t seed = 1;
  train::progress_style progress = train::progress_style::automatic;
  index trajectory_every = 10;           // record the mask trajectory every this many steps
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
  Model model;  // the compacted, fine-tuned dense model
  kept_units kept;
  selection_report selection;
  cost_numbers<double> full, pruned;
  phase_times times;
  std::vector<trajectory_point> trajectory;
  std::size_t pruning_examples = 0;
  std::int64_t pruning_steps = 0;  // steps actually taken (prune_steps plus any extension)
};

namespace detail {
inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A loss term that is no longer a finite number stops the run, naming the phase, step and term.
template <class V>
void require_finite(const V& term, const std::string& phase, std::int64_t step, const char* name) {
  const double v = double(term.item());
  if (!std::isfinite(v))
    throw vtrans::error(phase + " diverged at step " + std::to_string(step) + ": the " + name + " is " + std::to_string(v) +
                        " (try lower learning rates)");
}

// Loss of a student batch: task loss, logit KD and layer distillation against the teacher.
template <class Student, class Teacher, class T, class B>
autodiff::var<T, B> distill_loss(const Student& student, const Teacher& teacher, train::task_kind task, const data::batch& b,
                                 const nn::forward_options& fo, const distill_options& d, const autodiff::var<T, B>& proj_w,
                                 const autodiff::var<T, B>& proj_b) {
  using V = autodiff::var<T, B>;
  const nn::batch_input in = train::to_input(b);
  nn::forward_options sfo = fo;
  sfo.keep_layer_outputs = d.layer_weight > 0;
  const auto out = student.forward(in, sfo);
  V loss;
  auto add = [&](const V& term, double w) {
    if (w == 0) return;
    const V t = autodiff::scale(term, static_cast<T>(w));
    loss = loss.defined() ? autodiff::add(loss, t) : t;
  };
  if (d.task_weight > 0) add(train::task_loss(task, out, b), d.task_weight);
  if (d.kd_weight > 0 || d.layer_weight > 0) {
    nn::model_output<T, B> t_out;
    {
      autodiff::no_record guard;
      nn::forward_options tfo;
      tfo.keep_layer_outputs = d.layer_weight > 0;
      t_out = teacher.forward(in, tfo);
    }
    if (d.kd_weight > 0 && task != train::task_kind::regression) add(autodiff::kl_div(out.logits, t_out.logits, d.temperature), d.kd_weight);
    if (d.kd_weight > 0 && task == train::task_kind::regression) add(autodiff::mse(out.logits, t_out.logits), d.kd_weight);
    if (d.layer_weight > 0) add(layer_distillation(t_out.layer_outputs, out.layer_outputs, proj_w, proj_b), d.layer_weight);
  }
  return loss;
}

template <class T, class B>
autodiff::param<T, B> identity_projection(index out_dim, const std::vector<index>& in_units) {
  std::vector<T> w(std::size_t(out_dim * index(in_units.size())), T(0));
  for (std::size_t c = 0; c < in_units.size(); ++c) w[std::size_t(in_units[c]) * in_units.size() + c] = T(1);
  return autodiff::param<T, B>(tensor<T, B>::from_host(shape{out_dim, index(in_units.size())}, w));
}
}  // namespace detail

// Fine-tunes a (compacted) dense model with distillation from the teacher.
template <class Student, class Teacher>
void finetune(Student& student, const Teacher& teacher, train::task_kind task, const data::data_loader& loader, const prune_options& o,
              std::int64_t steps, const std::vector<index>& teacher_units = {}, const std::string& phase = "fine-tune") {
  using T = typename Student::value_type;
  using B = typename Student::backend;
  if (steps <= 0) return;
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
  train::progress_options po;
  po.style = o.progress;
  po.unit = "ex";
  train::progress bar(phase, steps, po);
  std::int64_t step = 0;
  for (std::uint64_t epoch = 0; step < steps; ++epoch) {
    loader.for_each_batch(epoch, [&](const data::batch& b, std::size_t) {
      if (step >= steps) return;
      nn::forward_options fo;
      fo.training = true;
      fo.dropout_seed = o.seed * 1000003 + std::uint64_t(step);
      const auto loss = detail::distill_loss(student, teacher, task, b, fo, o.distill, autodiff::var<T, B>(proj_w), autodiff::var<T, B>(proj_b));
      detail::require_finite(loss, phase, step, "task + distillation loss");
      const double lv = double(loss.item());
      autodiff::backward(loss);
      train::clip_grad_norm(params, o.max_grad_norm);
      opt.step(sched.factor(step));
      opt.zero_grad();
      ++step;
      bar.step(lv, b.batch_size);
    });
  }
  bar.finish();
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

  // data: all of it, or Fast-VTrans's stratified fraction
  std::vector<data::sequence> pruning_set = train_set;
  if (o.kind == variant::fast) {
    std::vector<int> labels;
    for (const auto& s : train_set) labels.push_back(s.label ? *s.label : 0);
    const auto keep = data::stratified_subset(labels, o.data_fraction, o.seed);
    pruning_set.clear();
    for (auto i : keep) pruning_set.push_back(train_set[i]);
  }
  data::batch_plan_options plan;
  plan.batch_size = o.batch_size;
  plan.seed = o.seed;
  const data::data_loader pruning_loader(pruning_set, plan, collate);

  // the student: the teacher's weights under fresh masks
  auto mask_settings = masks::structure_options<Policy>::defaults();
  if constexpr (std::is_same_v<Policy, masks::vib>) mask_settings.hidden = mask_settings.heads = mask_settings.layers = mask_settings.intermediate = o.vib;
  student_t student(teacher.config(), teacher.head(), o.seed, mask_settings);
  for (const auto& [name, p] : teacher.parameters()) student.assign(name, p.value().clone());
  if (o.kind == variant::faster) student.set_trainable(false);

  const cost_numbers<double> full = exact_cost(teacher.config(), teacher.head(), o.target.seq_len, o.target.count_embeddings);
  const double full_size = o.target.on_flops() ? full.flops : full.params;
  const double final_sparsity = 1.0 - target_size(o.target, full) / full_size;
  const std::int64_t warmup = std::int64_t(o.lagrangian_warmup * double(o.prune_steps));

  std::vector<index> all_hidden(std::size_t(teacher.config().hidden_size));
  for (std::size_t i = 0; i < all_hidden.size(); ++i) all_hidden[i] = index(i);
  P proj_w = detail::identity_projection<T, B>(teacher.config().hidden_size, all_hidden);
  P proj_b(tensor<T, B>::zeros(shape{teacher.config().hidden_size}));

  lagrangian<T, B> lag;
  auto mask_params = student.masks().parameters();
  std::vector<std::pair<std::string, P>> weight_params;
  if (o.kind != variant::faster) {
    weight_params = student.parameters();
    if (o.distill.layer_weight > 0) weight_params.push_back({"distill.proj.weight", proj_w}), weight_params.push_back({"distill.proj.bias", proj_b});
  }
  train::adamw<T, B> mask_opt(mask_params, {o.lr_masks, 0.9, 0.999, 1e-8, 0.0});
  train::adamw<T, B> weight_opt(weight_params, {o.lr_weights, 0.9, 0.999, 1e-8, 0.01}, {train::no_decay_group()});
  train::adamw<T, B> lambda_opt(lag.parameters(), {-o.lr_lambda, 0.9, 0.999, 1e-8, 0.0});  // negative rate: ascent

  prune_result<nn::transformer<Family, masks::none, B, T>> result{nn::transformer<Family, masks::none, B, T>(teacher.config(), teacher.head()), {}, {}, {}, {}, {}, {}, 0, 0};
  result.full = full;
  result.pruning_examples = pruning_set.size();
  train::progress_options po;
  po.style = o.progress;
  po.unit = "ex";
  train::progress bar(std::string("prune (") + variant_name(o.kind) + ", " + Policy::name() + ")", o.prune_steps, po);
  std::int64_t step = 0;
  double s_hat = 0;
  const auto more = [&] {
    if (step < o.prune_steps) return true;
    return step < o.prune_steps + o.max_extra_steps && s_hat < final_sparsity - o.target_tolerance;
  };
  for (std::uint64_t epoch = 0; more(); ++epoch) {
    pruning_loader.for_each_batch(epoch, [&](const data::batch& b, std::size_t) {
      if (!more()) return;
      nn::forward_options fo;
      fo.training = true;
      fo.dropout_seed = o.seed * 7919 + std::uint64_t(step);
      fo.mask_seed = o.seed * 104729 + std::uint64_t(step);
      V loss = detail::distill_loss(student, teacher, task, b, fo, o.distill, V(proj_w), V(proj_b));
      detail::require_finite(loss, "pruning", step, "task + distillation loss");
      // the masks' regulariser, each structure normalised by its number of units
      student.masks().for_each([&](masks::structure, index, const auto& u) {
        if (o.kl_weight > 0 && u.size() > 0)
          loss = autodiff::add(loss, autodiff::scale(u.regularizer(), static_cast<T>(o.kl_weight / double(u.size()))));
      });
      const auto expected = expected_cost(student, o.target.seq_len, o.target.count_embeddings);
      const V& size = o.target.on_flops() ? expected.flops : expected.params;
      const double t = target_sparsity(final_sparsity, step, warmup);
      loss = autodiff::add(loss, lag.penalty(size, full_size, t));
      detail::require_finite(loss, "pruning", step, "mask regulariser (KL) or Lagrangian size penalty");
      const double lv = double(loss.item());
      s_hat = 1.0 - double(size.item()) / full_size;
      autodiff::backward(loss);
      if (!weight_params.empty()) train::clip_grad_norm(weight_params, o.max_grad_norm);
      mask_opt.step();
      student.masks().after_step();
      if (!weight_params.empty()) weight_opt.step(1.0);
      lambda_opt.step();
      mask_opt.zero_grad();
      weight_opt.zero_grad();
      lambda_opt.zero_grad();
      if (step % o.trajectory_every == 0 || step + 1 == o.prune_steps) {
        trajectory_point pt{step, lv, s_hat, t, double(lag.lambda1.item()), double(lag.lambda2.item()), {}};
        for (const auto& h : student.masks().heads) pt.head_scores.push_back(h.score());
        result.trajectory.push_back(std::move(pt));
      }
      ++step;
      bar.step(lv, b.batch_size);
      bar.set_note("sparsity " + std::to_string(s_hat).substr(0, 5) + " -> " + std::to_string(t).substr(0, 5));
    });
  }
  bar.finish();
  result.pruning_steps = step;
  result.times.prune_s = detail::seconds_since(t_start);

  auto t0 = std::chrono::steady_clock::now();
  result.selection = select_to_budget(student, o.target, full, o.selection);
  result.times.select_s = detail::seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  result.kept = kept_of(student);
  result.model = compact(student);
  result.times.compact_s = detail::seconds_since(t0);
  result.pruned = exact_cost(result.model.config(), result.model.head(), o.target.seq_len, o.target.count_embeddings);

  // fine-tuning on the full training data (the pruning phase alone used the subset for Fast-VTrans)
  t0 = std::chrono::steady_clock::now();
  const data::data_loader full_loader(train_set, plan, collate);
  finetune(result.model, teacher, task, full_loader, o, o.finetune_steps_for(o.kind), result.kept.hidden);
  result.times.finetune_s = detail::seconds_since(t0);
  return result;
}

}  // namespace vtrans::prune
