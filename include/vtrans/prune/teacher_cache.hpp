#pragma once
// The teacher's side of distillation, per batch: its logits and (with layer distillation) the
// states of the distilled layers, on the batch's real rows. A frozen teacher in evaluation mode
// gives the same outputs for the same example every time, so over a fixed data set they are
// computed once per example and kept in the backend's memory (on a GPU: the device's), when they
// fit in a memory cap; later epochs then run the student only, and nothing crosses to the host.
#include <cstdint>
#include <numeric>
#include <vector>

#include "vtrans/data/batching.hpp"
#include "vtrans/prune/distill.hpp"
#include "vtrans/train/objectives.hpp"
#include "vtrans/train/resident_set.hpp"

namespace vtrans::prune {

using data::real_token_rows;

// The rows `rows` (ascending) of x viewed as [rows, cols]; `on_device`: the same rows already in
// the backend's memory, if they are (train::device_batch::token_rows), else they are uploaded.
template <class T, class B>
autodiff::var<T, B> select_rows(const autodiff::var<T, B>& x, const std::vector<std::int32_t>& rows,
                                const autodiff::id_tensor<B>* on_device = nullptr) {
  const index n = x.shape().rows(), c = x.shape().cols();
  const autodiff::var<T, B> flat = x.shape().rank() == 2 ? x : autodiff::reshape(x, shape{n, c});
  if (index(rows.size()) == n) return flat;  // ascending and complete: every row, in order
  if (on_device && on_device->rank() == 1 && on_device->numel() == index(rows.size())) return autodiff::embedding(flat, *on_device);
  return autodiff::embedding(flat, autodiff::upload_ids<B>("rows", shape{index(rows.size())}, rows, n));
}

// Rows of the batch's logits that distillation compares: real tokens for per-token outputs
// ([batch * seq, C]), every sequence for per-sequence outputs ([batch, C]).
template <class T, class B>
std::vector<std::int32_t> logit_rows(const autodiff::var<T, B>& logits, const data::batch& b) {
  if (logits.shape().rows() == b.batch_size * b.seq_len && b.seq_len > 1) return real_token_rows(b);
  std::vector<std::int32_t> rows(std::size_t(logits.shape().rows()));
  std::iota(rows.begin(), rows.end(), 0);
  return rows;
}

template <class T, class B>
struct distill_targets {
  autodiff::var<T, B> logits;               // [rows, C]; undefined without logit distillation
  std::vector<autodiff::var<T, B>> layers;  // distilled teacher layers, [token rows, D] each
};

// The teacher's outputs on one batch, computed now (one forward pass, not recorded); `d`: the
// batch already in the backend's memory, if it is.
template <class Teacher, class T = typename Teacher::value_type, class B = typename Teacher::backend>
distill_targets<T, B> teacher_targets(const Teacher& teacher, const data::batch& b, bool logits, bool layers,
                                      const train::device_batch<T, B>* d = nullptr) {
  autodiff::no_record guard;
  nn::forward_options fo;
  fo.keep_layer_outputs = layers;
  const auto t = d ? teacher.forward(d->input, fo) : teacher.forward(train::to_input(b), fo);
  const autodiff::id_tensor<B>* rows = d ? &d->token_rows : nullptr;
  distill_targets<T, B> out;
  if (logits) out.logits = select_rows(t.logits, logit_rows(t.logits, b), rows);
  if (layers) {
    const auto tokens = real_token_rows(b);
    for (index l : distilled_teacher_layers(index(t.layer_outputs.size())))
      out.layers.push_back(select_rows(t.layer_outputs[std::size_t(l)], tokens, rows));
  }
  return out;
}

// A frozen teacher's outputs over one data set, kept per example when they fit under a cap.
template <class Teacher>
class teacher_outputs {
 public:
  using T = typename Teacher::value_type;
  using B = typename Teacher::backend;

  // cap_bytes 0: never cache (e.g. inputs that change between epochs, like masked LM)
  teacher_outputs(const Teacher& teacher, const data::data_loader& loader, bool logits, bool layers, std::size_t cap_bytes)
      : teacher_(teacher), lengths_(loader.lengths()), logits_(logits), layers_(layers), cap_(cap_bytes) {}

  distill_targets<T, B> of(const data::batch& b, const train::device_batch<T, B>* d = nullptr) {
    if (caching_ && all_stored(b)) return assemble(b);
    distill_targets<T, B> out = teacher_targets(teacher_, b, logits_, layers_, d);
    ++forwards_;
    // one logit row per token or per sequence (the same thing for one-token batches)
    if (b.seq_len > 1 && out.logits.defined()) per_token_ = out.logits.shape().rows() == index(real_token_rows(b).size());
    if (!decided_) decide(out);
    if (caching_) store(b, out);
    return out;
  }

  std::int64_t forwards() const { return forwards_; }  // teacher forward passes so far
  bool caching() const { return caching_; }
  std::size_t bytes() const { return bytes_; }         // memory the cache needs (when caching)

 private:
  index real_tokens(const data::batch& b, index row) const {
    index n = 0;
    for (index s = 0; s < b.seq_len; ++s) n += b.attention_mask[std::size_t(row * b.seq_len + s)];
    return n;
  }
  // the cache is on when the teacher's outputs for the whole data set fit under the cap
  void decide(const distill_targets<T, B>& out) {
    decided_ = true;
    classes_ = out.logits.defined() ? out.logits.shape().cols() : 0;
    hidden_ = out.layers.empty() ? 0 : out.layers.front().shape().cols();
    std::size_t values = 0;
    for (std::size_t n : lengths_) values += (per_token_ ? n : 1) * std::size_t(classes_) + n * std::size_t(hidden_) * out.layers.size();
    bytes_ = values * sizeof(T);
    caching_ = cap_ > 0 && bytes_ <= cap_;
    if (caching_) store_.assign(lengths_.size(), {}), stored_.assign(lengths_.size(), false);
  }
  bool all_stored(const data::batch& b) const {
    for (auto i : b.indices)
      if (!stored_[i]) return false;
    return true;
  }
  // per example, one tensor: its logit rows, then its rows of every distilled layer (copied
  // within the backend's memory)
  void store(const data::batch& b, const distill_targets<T, B>& out) {
    std::size_t logit_at = 0, token_at = 0;
    for (index r = 0; r < b.batch_size; ++r) {
      const std::size_t n = std::size_t(real_tokens(b, r)), lr = per_token_ ? n : 1;
      const std::size_t lc = classes_ ? lr * std::size_t(classes_) : 0, hc = n * std::size_t(hidden_);
      tensor<T, B> e(shape{index(lc + hc * out.layers.size())});
      if (lc) copy(out.logits.value().data() + logit_at * std::size_t(classes_), lc, e.data());
      for (std::size_t k = 0; k < out.layers.size(); ++k) copy(out.layers[k].value().data() + token_at * std::size_t(hidden_), hc, e.data() + lc + k * hc);
      store_[b.indices[std::size_t(r)]] = std::move(e);
      stored_[b.indices[std::size_t(r)]] = true;
      logit_at += lr, token_at += n;
    }
  }
  distill_targets<T, B> assemble(const data::batch& b) const {
    const std::size_t n_layers = layers_ ? distilled_teacher_layers(index(teacher_.layers().size())).size() : 0;
    index logit_rows_total = 0, tokens_total = 0;
    for (index r = 0; r < b.batch_size; ++r) {
      const index n = real_tokens(b, r);
      logit_rows_total += per_token_ ? n : 1, tokens_total += n;
    }
    tensor<T, B> logits(shape{logit_rows_total, classes_});
    std::vector<tensor<T, B>> layers;
    for (std::size_t k = 0; k < n_layers; ++k) layers.emplace_back(shape{tokens_total, hidden_});
    std::size_t logit_at = 0, token_at = 0;
    for (index r = 0; r < b.batch_size; ++r) {
      const std::size_t n = std::size_t(real_tokens(b, r)), lr = per_token_ ? n : 1;
      const std::size_t lc = classes_ ? lr * std::size_t(classes_) : 0, hc = n * std::size_t(hidden_);
      const T* e = store_[b.indices[std::size_t(r)]].data();
      if (lc) copy(e, lc, logits.data() + logit_at * std::size_t(classes_));
      for (std::size_t k = 0; k < n_layers; ++k) copy(e + lc + k * hc, hc, layers[k].data() + token_at * std::size_t(hidden_));
      logit_at += lr, token_at += n;
    }
    distill_targets<T, B> out;
    if (logits_) out.logits = autodiff::var<T, B>(std::move(logits));
    for (auto& l : layers) out.layers.emplace_back(std::move(l));
    return out;
  }
  static void copy(const T* from, std::size_t n, T* to) {
    if (n) B::axpby(index(n), T(1), from, T(0), to);
  }

  const Teacher& teacher_;
  const std::vector<std::size_t>& lengths_;
  bool logits_, layers_;
  std::size_t cap_;
  bool decided_ = false, caching_ = false, per_token_ = false;
  index classes_ = 0, hidden_ = 0;
  std::size_t bytes_ = 0;
  std::vector<tensor<T, B>> store_;
  std::vector<bool> stored_;
  std::int64_t forwards_ = 0;
};

}  // namespace vtrans::prune
