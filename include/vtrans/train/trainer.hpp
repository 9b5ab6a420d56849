#pragma once
// The training loop: optimizer steps of grad_accum micro-batches each (loss scaled by
// 1 / grad_accum so the accumulated gradient is the mean), gradient clipping, the schedule,
// dropout and MLM masking seeded from (seed, micro-batch number), an endless seeded sequence of
// epochs over a data_loader, and checkpoints from which a run continues bit for bit.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "vtrans/data/batching.hpp"
#include "vtrans/error.hpp"
#include "vtrans/train/adamw.hpp"
#include "vtrans/train/checkpoint.hpp"
#include "vtrans/train/clip.hpp"
#include "vtrans/train/objectives.hpp"
#include "vtrans/train/resident_set.hpp"
#include "vtrans/train/schedule.hpp"

namespace vtrans::train {

struct step_report {
  std::int64_t step = 0;   // optimizer steps done, this one included
  // Read on the host every sync_every steps (and at the last): loss is then the mean over the
  // micro-batches of the steps since the previous read (`read_steps` of them), grad_norm this
  // step's norm before clipping. Between reads both repeat the last values read and read is false.
  bool read = true;
  std::int64_t read_steps = 1;
  double loss = 0;
  double grad_norm = 0;
  double lr = 0;           // base rate times the schedule factor used
  std::int64_t tokens = 0; // real (non-padding) tokens seen in this step
  std::uint64_t epoch = 0;
};

struct trainer_options {
  task_kind task = task_kind::sequence_classification;
  std::int64_t total_steps = 100;  // optimizer steps
  index grad_accum = 1;            // micro-batches per step
  double max_grad_norm = 1.0;      // 0: no clipping
  lr_schedule schedule;            // factor of every group's rate
  std::uint64_t seed = 0;          // dropout and masking streams
  bool dropout = true;
  mlm_options mlm;                 // masked LM only (its seed is replaced by `seed`)
  std::int64_t sync_every = 1;     // read loss and gradient norm on the host every this many steps
  // memory (the backend's) for the training set and the run's batch plan, kept there so that a
  // step uploads nothing (resident_set.hpp); over it (or 0), each micro-batch is uploaded
  double resident_data_mb = 1024;
};

template <class Model>
class trainer {
 public:
  using T = typename Model::value_type;
  using B = typename Model::backend;
  using optimizer_type = adamw<T, B>;

  trainer(Model& model, optimizer_type& optimizer, const data::data_loader& loader, trainer_options options)
      : model_(model), opt_(optimizer), loader_(loader), o_(std::move(options)),
        resident_(model, loader, o_.task, o_.total_steps * o_.grad_accum, std::size_t(o_.resident_data_mb * 1024.0 * 1024.0)) {
    if (o_.grad_accum < 1) throw vtrans::usage_error("trainer: grad_accum must be at least 1");
    if (o_.sync_every < 1) throw vtrans::usage_error("trainer: sync_every must be at least 1");
    if (loader_.batches_per_epoch() == 0) throw vtrans::usage_error("trainer: the training set yields no batches");
    state_.seed = o_.seed;
    o_.mlm.seed = o_.seed;
  }

  training_state& state() { return state_; }
  const training_state& state() const { return state_; }
  bool done() const { return state_.step >= o_.total_steps; }

  // One optimizer step.
  step_report step() {
    step_report r;
    const double factor = o_.schedule.factor(state_.step);
    for (index micro = 0; micro < o_.grad_accum; ++micro) {
      const std::uint64_t stream = std::uint64_t(state_.step) * std::uint64_t(o_.grad_accum) + std::uint64_t(micro);
      data::batch b = next_batch();
      const std::size_t number = std::size_t(state_.cursor - 1);
      const auto on_device = resident_.covers(state_.epoch, number) ? std::optional(resident_.batch(state_.epoch, number, b)) : std::nullopt;
      const nn::batch_input in = on_device ? nn::batch_input{} : task_input(o_.task, b, o_.mlm, stream);
      for (auto m : b.attention_mask) r.tokens += m;
      nn::forward_options fo;
      fo.training = o_.dropout;
      fo.dropout_seed = data::derive_seed(o_.seed ^ 0x5eedULL, stream);
      const auto out = on_device ? model_.forward(on_device->input, fo) : model_.forward(in, fo);
      auto loss = on_device ? task_loss(o_.task, out, b, *on_device) : task_loss(o_.task, out, b);
      if (o_.grad_accum > 1) loss = autodiff::scale(loss, T(1.0 / double(o_.grad_accum)));
      B::axpby(1, T(1), loss.value().data(), T(1), loss_sum_.data());  // summed where it lives
      autodiff::backward(loss);
    }
    const tensor<T, B> norm = clip_grad_norm_on_device(model_.parameters(), o_.max_grad_norm);
    opt_.step(factor);
    opt_.zero_grad();
    ++state_.step;
    ++unread_steps_;
    r.step = state_.step;
    r.lr = opt_.options().lr * factor;
    r.epoch = state_.epoch;
    r.read = state_.step % o_.sync_every == 0 || done();
    if (r.read) {
      r.read_steps = unread_steps_;
      state_.last_loss = double(loss_sum_.item()) / double(unread_steps_);
      last_grad_norm_ = double(norm.item());
      B::fill(1, T(0), loss_sum_.data());
      unread_steps_ = 0;
    }
    r.loss = state_.last_loss;
    r.grad_norm = last_grad_norm_;
    return r;
  }

  // Steps until total_steps, or until on_step returns false.
  void run(const std::function<bool(const step_report&)>& on_step = {}) {
    while (!done()) {
      const auto r = step();
      if (on_step && !on_step(r)) break;
    }
  }

  void save(const std::string& dir) const { save_checkpoint(dir, model_, opt_, state_); }
  // Restores model, optimizer and position; the seed must match the options'.
  void resume(const std::string& dir) {
    training_state s = load_checkpoint(dir, model_, opt_);
    if (s.seed != o_.seed)
      throw std::runtime_error(dir + ": checkpoint was trained with seed " + std::to_string(s.seed) + ", this run uses " + std::to_string(o_.seed));
    state_ = std::move(s);
    plan_.clear();
    plan_epoch_ = ~std::uint64_t(0);
  }

 private:
  data::batch next_batch() {
    if (plan_epoch_ != state_.epoch) {
      plan_ = loader_.plan(state_.epoch);
      plan_epoch_ = state_.epoch;
    }
    if (state_.cursor >= plan_.size()) {
      ++state_.epoch;
      state_.cursor = 0;
      plan_ = loader_.plan(state_.epoch);
      plan_epoch_ = state_.epoch;
    }
    return loader_.make_batch(plan_[std::size_t(state_.cursor++)]);
  }

  Model& model_;
  optimizer_type& opt_;
  const data::data_loader& loader_;
  trainer_options o_;
  resident_set<Model> resident_;
  training_state state_;
  std::vector<std::vector<std::size_t>> plan_;
  std::uint64_t plan_epoch_ = ~std::uint64_t(0);
  tensor<T, B> loss_sum_ = tensor<T, B>::zeros(shape{1});  // losses of the steps not read yet
  std::int64_t unread_steps_ = 0;
  double last_grad_norm_ = 0;
};

}  // namespace vtrans::train
