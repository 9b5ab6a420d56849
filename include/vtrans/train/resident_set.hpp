#pragma once
// A data set kept in the backend's memory (on a GPU: the device's) for a whole run, so that a
// step uploads nothing. Every example's ids, attention mask, token types, positions and labels
// sit in [examples, longest] tables, padded as data::collate pads; the run's batch plan (which
// examples each batch holds, and the row its sequence head pools) is uploaded once, for every
// batch of the run. A batch is gathered from the tables on the device and cut to its own padded
// length: the values data::collate and the model's upload() would give, for any padding, since
// an example's positions and labels do not depend on how far its row is padded. The real-token
// rows that distillation selects in padded batches are planned with the batches, on request.
// Not kept, so uploaded per step as before: masked LM (masked anew every step), regression with
// examples lacking a score (the host path names them), and data over the memory cap.
#include <cstdint>
#include <numeric>
#include <vector>

#include "vtrans/data/batching.hpp"
#include "vtrans/nn/transformer.hpp"
#include "vtrans/train/objectives.hpp"

namespace vtrans::train {

template <class T, class B>
struct device_batch {
  nn::device_input<B> input;
  autodiff::id_tensor<B> labels;  // [batch] per sequence, [batch * seq] per token; undefined for regression
  tensor<T, B> scores;            // [batch] regression targets
  // data::real_token_rows of a padded batch (the rows distillation compares), when kept
  autodiff::id_tensor<B> token_rows;
};

// The examples of `loader` and its plans for a run of `batches` batches (epoch 0 onwards, in
// plan order), for `model` (its position and pooling rules) and `task`; with `token_rows`, also
// each padded batch's real-token rows, when they fit under the cap too.
template <class Model>
class resident_set {
 public:
  using T = typename Model::value_type;
  using B = typename Model::backend;
  using ids_t = autodiff::id_tensor<B>;

  resident_set(const Model& model, const data::data_loader& loader, task_kind task, std::int64_t batches, std::size_t cap_bytes,
               bool token_rows = false)
      : task_(task) {
    if (task == task_kind::masked_lm || loader.size() == 0 || batches <= 0) return;
    std::vector<std::size_t> all(loader.size());
    std::iota(all.begin(), all.end(), std::size_t(0));
    if (task == task_kind::regression)
      for (const auto& s : loader.data())
        if (!s.score) return;
    const bool types = model.spec().model.token_type_embedding.present(), positions = model.uses_positions();
    const bool token_labels = task == task_kind::token_classification || task == task_kind::causal_lm;
    width_ = 0;
    for (std::size_t n : loader.lengths()) width_ = std::max(width_, index(n));
    const std::size_t per_batch = std::size_t(loader.plan_options().batch_size);
    const std::size_t planned = std::size_t(batches) * per_batch * 2 * sizeof(std::int32_t);
    const std::size_t tables = (2 + types + positions + token_labels) * loader.size() * std::size_t(width_) * sizeof(std::int32_t);
    bytes_ = tables + planned;
    if (bytes_ > cap_bytes) return;

    // the tables: every example in one batch padded to the longest, checked as upload() checks
    const data::batch every = loader.make_batch(all);
    width_ = every.seq_len;  // collate may round the length up
    const index n = index(loader.size()), cells = n * width_;
    const nn::batch_input in = to_input(every);
    const io::model_config& c = model.config();
    ids_ = autodiff::upload_ids<B>("input_ids", shape{cells}, every.ids, c.vocab_size);
    mask_ = autodiff::upload_ids<B>("attention_mask", shape{cells}, every.attention_mask, 2);
    if (types) types_ = autodiff::upload_ids<B>("token_type_ids", shape{cells}, every.token_type_ids, std::max<index>(1, c.type_vocab_size));
    if (positions) {
      require(width_ <= io::max_sequence_length(c) || !model.spec().model.position_embedding.present(), "resident_set",
              "sequence length " + std::to_string(width_) + " exceeds the " + std::to_string(c.max_positions) + " position embeddings");
      positions_ = autodiff::upload_ids<B>("position_ids", shape{cells}, model.position_ids(in),
                                           model.spec().positions == nn::position_kind::rotary ? INT32_MAX : c.max_positions);
    }
    switch (task) {
      case task_kind::sequence_classification:
        labels_ = autodiff::upload_ids<B>("labels", shape{n}, every.labels, c.num_labels, data::ignore_index);
        break;
      case task_kind::token_classification:
        labels_ = autodiff::upload_ids<B>("labels", shape{cells}, every.labels, c.num_labels, data::ignore_index);
        break;
      case task_kind::causal_lm:
        labels_ = autodiff::upload_ids<B>("labels", shape{cells}, causal_lm_targets(every), c.vocab_size, data::ignore_index);
        break;
      case task_kind::regression:
        scores_ = tensor<T, B>::from_host(shape{n}, std::vector<T>(every.scores.begin(), every.scores.end()));
        break;
      case task_kind::masked_lm: break;
    }

    // the plan of every batch of the run, the pooled rows of each, and its real-token rows
    std::vector<std::int32_t> order, pooled, tokens;
    const bool pools = model.head() == nn::head_kind::sequence_classification;
    for (std::uint64_t epoch = 0; std::int64_t(slots_.size()) < batches; ++epoch) {
      epoch_first_.push_back(slots_.size());
      for (const auto& indices : loader.plan(epoch)) {
        const data::batch b = loader.make_batch(indices);
        slot s{std::size_t(order.size()), b.batch_size, b.seq_len, 0, 0};
        for (std::size_t i : indices) order.push_back(std::int32_t(i));
        if (pools) {
          std::vector<std::int32_t> rows = model.pooled_positions(to_input(b));
          for (std::size_t r = 0; r < rows.size(); ++r) pooled.push_back(rows[r] + std::int32_t(index(r) * b.seq_len));
        }
        if (token_rows) {
          const std::vector<std::int32_t> real = data::real_token_rows(b);
          if (index(real.size()) < b.batch_size * b.seq_len) {  // a complete set needs no index
            s.tokens_first = tokens.size(), s.tokens = index(real.size());
            tokens.insert(tokens.end(), real.begin(), real.end());
          }
        }
        slots_.push_back(s);
      }
    }
    order_ = ids_t::from_host(shape{index(order.size())}, order);
    if (pools) pooled_ = ids_t::from_host(shape{index(pooled.size())}, pooled);
    if (!tokens.empty() && bytes_ + tokens.size() * sizeof(std::int32_t) <= cap_bytes) {
      tokens_ = ids_t::from_host(shape{index(tokens.size())}, tokens);
      bytes_ += tokens.size() * sizeof(std::int32_t);
    }
    active_ = true;
  }

  bool active() const { return active_; }
  std::size_t bytes() const { return bytes_; }  // memory the tables, the plan and any token rows take (or would take)
  bool keeps_token_rows() const { return held(tokens_); }
  std::size_t planned_batches() const { return slots_.size(); }
  // Whether batch `number` of `epoch` is in the planned run (a run driven past it uploads).
  bool covers(std::uint64_t epoch, std::size_t number) const {
    return active_ && epoch < epoch_first_.size() && epoch_first_[epoch] + number < slots_.size();
  }

  // Batch `number` of `epoch`'s plan, assembled on the device; `host` is the same batch collated
  // on the host (its shape is checked against the plan).
  device_batch<T, B> batch(std::uint64_t epoch, std::size_t number, const data::batch& host) const {
    require(active_, "resident_set::batch", "the data set is not kept in the backend's memory");
    require(covers(epoch, number), "resident_set::batch",
            "batch " + std::to_string(number) + " of epoch " + std::to_string(epoch) + " is past the " + std::to_string(slots_.size()) +
                " batches planned");
    const slot& s = slots_[epoch_first_[epoch] + number];
    require(host.batch_size == s.size && host.seq_len == s.seq, "resident_set::batch",
            "the host batch [" + std::to_string(host.batch_size) + ", " + std::to_string(host.seq_len) + "] is not the planned [" +
                std::to_string(s.size) + ", " + std::to_string(s.seq) + "]");
    const std::int32_t* rows = order_.data() + s.first;
    device_batch<T, B> d;
    d.input.batch = s.size, d.input.seq = s.seq;
    d.input.ids = cut(ids_, s);
    d.input.attention_mask = cut(mask_, s);
    if (held(types_)) d.input.token_type_ids = cut(types_, s);
    if (held(positions_)) d.input.position_ids = cut(positions_, s);
    if (held(pooled_)) {
      d.input.pooled_rows = ids_t(shape{s.size});
      B::copy_2d(1, s.size, pooled_.data() + s.first, s.size, d.input.pooled_rows.data(), s.size, std::int32_t(0));
    }
    if (task_ == task_kind::sequence_classification) {
      d.labels = ids_t(shape{s.size});
      B::gather_rows(s.size, 1, labels_.data(), rows, d.labels.data());
    } else if (held(labels_)) {
      d.labels = cut(labels_, s).reshaped(shape{s.size * s.seq});
    }
    if (held(scores_)) {
      d.scores = tensor<T, B>(shape{s.size});
      B::gather_rows(s.size, 1, scores_.data(), rows, d.scores.data());
    }
    if (held(tokens_) && s.tokens > 0) {
      d.token_rows = ids_t(shape{s.tokens});
      B::copy_2d(1, s.tokens, tokens_.data() + s.tokens_first, s.tokens, d.token_rows.data(), s.tokens, std::int32_t(0));
    }
    return d;
  }

 private:
  struct slot {
    std::size_t first;  // of its examples in order_ (and rows in pooled_)
    index size, seq;
    std::size_t tokens_first;  // of its real-token rows in tokens_
    index tokens;              // 0: none kept (complete, or not asked for)
  };
  template <class V>
  static bool held(const tensor<V, B>& t) { return t.rank() > 0; }  // a default tensor has rank 0
  // the slot's examples' rows of a [examples, width] table, cut to the batch's length
  ids_t cut(const ids_t& table, const slot& s) const {
    ids_t full(shape{s.size, width_});
    B::gather_rows(s.size, width_, table.data(), order_.data() + s.first, full.data());
    if (s.seq == width_) return full;
    ids_t out(shape{s.size, s.seq});
    B::copy_2d(s.size, s.seq, full.data(), width_, out.data(), s.seq, std::int32_t(0));
    return out;
  }

  task_kind task_;
  bool active_ = false;
  std::size_t bytes_ = 0;
  index width_ = 0;
  ids_t ids_, mask_, types_, positions_, labels_, order_, pooled_, tokens_;
  tensor<T, B> scores_;
  std::vector<slot> slots_;
  std::vector<std::size_t> epoch_first_;
};

// The loss of a task on a resident batch; `host` is the same batch on the host, which says how
// many targets count.
template <class T, class B>
autodiff::var<T, B> task_loss(task_kind task, const nn::model_output<T, B>& out, const data::batch& host, const device_batch<T, B>& d) {
  auto counted = [](const std::vector<std::int32_t>& targets) {
    index n = 0;
    for (auto t : targets) n += t != data::ignore_index;
    return n;
  };
  switch (task) {
    case task_kind::sequence_classification:
      if (out.logits.shape().rank() != 2 || out.logits.shape()[0] != host.batch_size)
        throw vtrans::usage_error("sequence_classification_loss: logits " + out.logits.shape().str() + " are not [batch, labels]");
      return autodiff::cross_entropy(out.logits, d.labels, counted(host.labels), data::ignore_index);
    case task_kind::token_classification:
      return autodiff::cross_entropy(out.logits, d.labels, counted(host.labels), data::ignore_index);
    case task_kind::causal_lm:
      return autodiff::cross_entropy(out.logits, d.labels, counted(causal_lm_targets(host)), data::ignore_index);
    case task_kind::regression: {
      if (out.logits.numel() != host.batch_size)
        throw vtrans::usage_error("regression_loss: logits " + out.logits.shape().str() + " are not one value per sequence (num_labels = 1)");
      tensor<T, B> target = d.scores.clone();
      target.reshape(out.logits.shape());
      return autodiff::mse(out.logits, autodiff::var<T, B>(std::move(target)));
    }
    case task_kind::masked_lm: break;
  }
  throw vtrans::usage_error("task_loss: masked LM batches are not kept in the backend's memory");
}

}  // namespace vtrans::train
