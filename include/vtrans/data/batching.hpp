#pragma once
// Encoded sequences -> padded batches, and the seeded order in which an epoch visits them:
// shuffling reproducible across runs and platforms (own Fisher-Yates on std::mt19937_64),
// optional length bucketing (sort by length inside a shuffled window of batches, then shuffle
// the batches), padding to the longest in the batch, truncation to a maximum length.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "vtrans/data/encode.hpp"
#include "vtrans/data/shuffle.hpp"
#include "vtrans/error.hpp"
#include "vtrans/tensor/shape.hpp"

namespace vtrans::data {

// Row-major [batch_size x seq_len] host buffers.
struct batch {
  index batch_size = 0;
  index seq_len = 0;
  std::vector<std::int32_t> ids;
  std::vector<std::int32_t> attention_mask;  // 1 = real token, 0 = padding
  std::vector<std::int32_t> token_type_ids;
  // Per sequence [B] (classes) or, when token_level, per token [B x S]; ignore_index marks
  // padding, unlabelled items and pieces without a tag.
  std::vector<std::int32_t> labels;
  bool token_level = false;
  std::vector<float> scores;          // [B] regression targets when any item has one (NaN if not)
  std::vector<std::size_t> indices;   // dataset position of each row

  std::int32_t id_at(index b, index s) const { return ids[static_cast<std::size_t>(b * seq_len + s)]; }
};

// Rows of the flattened [batch * seq] positions that hold real (non-padding) tokens, ascending.
inline std::vector<std::int32_t> real_token_rows(const batch& b) {
  std::vector<std::int32_t> rows;
  for (std::size_t i = 0; i < b.attention_mask.size(); ++i)
    if (b.attention_mask[i]) rows.push_back(std::int32_t(i));
  return rows;
}

struct collate_options {
  std::int32_t pad_id = 0;
  index max_length = 0;         // truncate longer sequences (keep the head); 0 = no cap
  index pad_to_multiple_of = 1; // round the padded length up (e.g. 8 for tensor cores)
};

inline batch collate(const std::vector<sequence>& data, const std::vector<std::size_t>& indices,
                     const collate_options& opt = {}) {
  batch out;
  out.indices = indices;
  out.batch_size = static_cast<index>(indices.size());
  auto length = [&](const sequence& s) {
    index n = static_cast<index>(s.ids.size());
    return opt.max_length > 0 ? std::min(n, opt.max_length) : n;
  };
  bool any_score = false;
  for (auto i : indices) {
    if (i >= data.size()) throw std::out_of_range("vtrans::data::collate: index " + std::to_string(i) + " out of range");
    const sequence& s = data[i];
    out.seq_len = std::max(out.seq_len, length(s));
    out.token_level = out.token_level || !s.token_labels.empty();
    any_score = any_score || s.score.has_value();
  }
  if (opt.pad_to_multiple_of > 1 && out.seq_len % opt.pad_to_multiple_of)
    out.seq_len += opt.pad_to_multiple_of - out.seq_len % opt.pad_to_multiple_of;
  const auto cells = static_cast<std::size_t>(out.batch_size * out.seq_len);
  out.ids.assign(cells, opt.pad_id);
  out.attention_mask.assign(cells, 0);
  out.token_type_ids.assign(cells, 0);
  out.labels.assign(out.token_level ? cells : indices.size(), ignore_index);
  if (any_score) out.scores.assign(indices.size(), std::numeric_limits<float>::quiet_NaN());
  for (std::size_t b = 0; b < indices.size(); ++b) {
    const sequence& s = data[indices[b]];
    const auto n = static_cast<std::size_t>(length(s));
    const std::size_t row = b * static_cast<std::size_t>(out.seq_len);
    if (!s.token_type_ids.empty() && s.token_type_ids.size() != s.ids.size())
      throw vtrans::usage_error("vtrans::data::collate: token_type_ids length differs from ids in item " + std::to_string(indices[b]));
    if (!s.token_labels.empty() && s.token_labels.size() != s.ids.size())
      throw vtrans::usage_error("vtrans::data::collate: token_labels length differs from ids in item " + std::to_string(indices[b]));
    for (std::size_t t = 0; t < n; ++t) {
      out.ids[row + t] = s.ids[t];
      out.attention_mask[row + t] = 1;
      if (!s.token_type_ids.empty()) out.token_type_ids[row + t] = s.token_type_ids[t];
      if (out.token_level && !s.token_labels.empty()) out.labels[row + t] = s.token_labels[t];
    }
    if (!out.token_level && s.label) out.labels[b] = *s.label;
    if (any_score && s.score) out.scores[b] = *s.score;
  }
  return out;
}

struct batch_plan_options {
  index batch_size = 32;
  bool shuffle = true;
  std::uint64_t seed = 0;
  bool drop_last = false;      // drop a final batch smaller than batch_size
  index bucket_batches = 0;    // > 0: sort by length inside windows of this many batches
};

// The batches (dataset indices) of one epoch. The same (lengths, options, epoch) gives the same
// plan on every run; different epochs get independent orders.
inline std::vector<std::vector<std::size_t>> plan_batches(const std::vector<std::size_t>& lengths,
                                                          const batch_plan_options& opt, std::uint64_t epoch = 0) {
  if (opt.batch_size <= 0) throw vtrans::usage_error("vtrans::data::plan_batches: batch_size must be positive");
  const std::size_t n = lengths.size();
  const auto bs = static_cast<std::size_t>(opt.batch_size);
  std::mt19937_64 rng(derive_seed(opt.seed, epoch));
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  if (opt.shuffle) fisher_yates(order, rng);
  if (opt.bucket_batches > 0) {
    // Longest first inside each window; stable, so ties keep the (shuffled) order.
    const std::size_t window = bs * static_cast<std::size_t>(opt.bucket_batches);
    for (std::size_t w = 0; w < n; w += window)
      std::stable_sort(order.begin() + static_cast<std::ptrdiff_t>(w),
                       order.begin() + static_cast<std::ptrdiff_t>(std::min(n, w + window)),
                       [&](std::size_t a, std::size_t b) { return lengths[a] > lengths[b]; });
  }
  std::vector<std::vector<std::size_t>> batches;
  for (std::size_t b = 0; b < n; b += bs) {
    if (opt.drop_last && b + bs > n) break;
    batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(b),
                         order.begin() + static_cast<std::ptrdiff_t>(std::min(n, b + bs)));
  }
  // Otherwise every epoch would start with the longest window's longest batch.
  if (opt.bucket_batches > 0 && opt.shuffle) fisher_yates(batches, rng);
  return batches;
}

// A dataset of encoded sequences with its batching rules; epochs are planned on demand.
class data_loader {
 public:
  data_loader(std::vector<sequence> data, batch_plan_options plan, collate_options collate = {})
      : data_(std::move(data)), plan_(plan), collate_(collate) {
    lengths_.reserve(data_.size());
    for (const auto& s : data_) {
      std::size_t n = s.ids.size();
      if (collate_.max_length > 0) n = std::min(n, static_cast<std::size_t>(collate_.max_length));
      lengths_.push_back(n);
    }
  }

  std::size_t size() const { return data_.size(); }
  const std::vector<sequence>& data() const { return data_; }
  // Tokens of each example after truncation, by dataset position (a batch's `indices`): the
  // identity under which per-example results (a fixed teacher's outputs) are kept.
  const std::vector<std::size_t>& lengths() const { return lengths_; }
  const batch_plan_options& plan_options() const { return plan_; }

  std::size_t batches_per_epoch() const {
    const auto bs = static_cast<std::size_t>(plan_.batch_size);
    return plan_.drop_last ? data_.size() / bs : (data_.size() + bs - 1) / bs;
  }
  std::vector<std::vector<std::size_t>> plan(std::uint64_t epoch) const { return plan_batches(lengths_, plan_, epoch); }
  batch make_batch(const std::vector<std::size_t>& indices) const { return collate(data_, indices, collate_); }

  // f(const batch&, std::size_t batch_number) for every batch of the epoch, in plan order.
  template <class F>
  void for_each_batch(std::uint64_t epoch, F&& f) const {
    const auto p = plan(epoch);
    for (std::size_t i = 0; i < p.size(); ++i) f(make_batch(p[i]), i);
  }

 private:
  std::vector<sequence> data_;
  batch_plan_options plan_;
  collate_options collate_;
  std::vector<std::size_t> lengths_;
};

}  // namespace vtrans::data
