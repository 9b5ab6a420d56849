#pragma once
// Training objectives: the loss of a model_output for one data::batch, per task.
//   sequence classification  cross-entropy of [batch, labels] logits against batch.labels
//   regression (STS-B)       mean squared error of the single logit against batch.scores
//   token classification     cross-entropy per token, ignoring -100 (padding, non-first pieces)
//   masked LM (BERT/RoBERTa) 15% of the real, non-special tokens are selected; of those 80%
//                            become [MASK], 10% a random token, 10% stay; loss on the selected
//                            ones only (BERT / DataCollatorForLanguageModeling), seeded
//   causal LM (GPT-2/LLaMA)  next-token cross-entropy: position s predicts token s + 1; the
//                            last position and targets that are padding are ignored
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "vtrans/autodiff/autodiff.hpp"
#include "vtrans/data/batching.hpp"
#include "vtrans/data/shuffle.hpp"
#include "vtrans/error.hpp"
#include "vtrans/nn/heads.hpp"
#include "vtrans/nn/transformer.hpp"

namespace vtrans::train {

enum class task_kind { sequence_classification, regression, token_classification, masked_lm, causal_lm };

inline const char* task_kind_name(task_kind t) {
  switch (t) {
    case task_kind::sequence_classification: return "sequence_classification";
    case task_kind::regression: return "regression";
    case task_kind::token_classification: return "token_classification";
    case task_kind::masked_lm: return "masked_lm";
    case task_kind::causal_lm: return "causal_lm";
  }
  return "?";
}

// The model head a task trains.
inline nn::head_kind head_for(task_kind t) {
  switch (t) {
    case task_kind::sequence_classification:
    case task_kind::regression: return nn::head_kind::sequence_classification;
    case task_kind::token_classification: return nn::head_kind::token_classification;
    case task_kind::masked_lm: return nn::head_kind::masked_lm;
    case task_kind::causal_lm: return nn::head_kind::causal_lm;
  }
  return nn::head_kind::base;
}

// The model's input for a collated batch.
inline nn::batch_input to_input(const data::batch& b) {
  nn::batch_input in;
  in.batch = b.batch_size;
  in.seq = b.seq_len;
  in.ids = b.ids;
  in.attention_mask = b.attention_mask;
  in.token_type_ids = b.token_type_ids;
  return in;
}

template <class T, class B>
autodiff::var<T, B> sequence_classification_loss(const nn::model_output<T, B>& out, const data::batch& b) {
  if (b.token_level) throw vtrans::usage_error("sequence_classification_loss: the batch has per-token labels");
  if (out.logits.shape().rank() != 2 || out.logits.shape()[0] != b.batch_size)
    throw vtrans::usage_error("sequence_classification_loss: logits " + out.logits.shape().str() + " are not [batch, labels]");
  return autodiff::cross_entropy(out.logits, b.labels, data::ignore_index);
}

template <class T, class B>
autodiff::var<T, B> regression_loss(const nn::model_output<T, B>& out, const data::batch& b) {
  if (b.scores.size() != std::size_t(b.batch_size)) throw vtrans::usage_error("regression_loss: the batch has no regression targets");
  if (out.logits.numel() != b.batch_size)
    throw vtrans::usage_error("regression_loss: logits " + out.logits.shape().str() + " are not one value per sequence (num_labels = 1)");
  std::vector<T> target(b.scores.begin(), b.scores.end());
  for (std::size_t i = 0; i < target.size(); ++i)
    if (target[i] != target[i]) throw vtrans::usage_error("regression_loss: item " + std::to_string(b.indices.at(i)) + " has no score");
  autodiff::var<T, B> t(tensor<T, B>::from_host(out.logits.shape(), target));
  return autodiff::mse(out.logits, t);
}

template <class T, class B>
autodiff::var<T, B> token_classification_loss(const nn::model_output<T, B>& out, const data::batch& b) {
  if (!b.token_level) throw vtrans::usage_error("token_classification_loss: the batch has no per-token labels");
  return autodiff::cross_entropy(out.logits, b.labels, data::ignore_index);
}

// Targets of the causal LM loss, [batch * seq] row-major: ids[b, s + 1] where that token is real.
inline std::vector<std::int32_t> causal_lm_targets(const data::batch& b) {
  std::vector<std::int32_t> t(b.ids.size(), data::ignore_index);
  for (index r = 0; r < b.batch_size; ++r)
    for (index s = 0; s + 1 < b.seq_len; ++s) {
      const std::size_t next = std::size_t(r * b.seq_len + s + 1);
      if (b.attention_mask.empty() || b.attention_mask[next]) t[next - 1] = b.ids[next];
    }
  return t;
}

// Masked LM predicts the selected positions only: the head reads those rows of the last hidden
// state (batch_input::predict_rows) and b.labels shrinks to them, so the decoder over the
// vocabulary, most of a small model's work, runs on ~15% of the tokens; the loss is the same. A
// batch with nothing selected keeps every row (its loss is 0).
inline nn::batch_input predict_selected(data::batch& b) {
  nn::batch_input in = to_input(b);
  std::vector<std::int32_t> labels;
  for (std::size_t i = 0; i < b.labels.size(); ++i)
    if (b.labels[i] != data::ignore_index) in.predict_rows.push_back(static_cast<std::int32_t>(i)), labels.push_back(b.labels[i]);
  if (!labels.empty()) b.labels = std::move(labels);
  return in;
}

template <class T, class B>
autodiff::var<T, B> causal_lm_loss(const nn::model_output<T, B>& out, const data::batch& b) {
  return autodiff::cross_entropy(out.logits, causal_lm_targets(b), data::ignore_index);
}

struct mlm_options {
  double probability = 0.15;      // share of eligible tokens selected
  double mask_share = 0.8;        // of the selected: replaced by [MASK]
  double random_share = 0.1;      // of the selected: replaced by a random token (the rest stay)
  std::int32_t mask_id = -1;
  index vocab_size = 0;
  std::vector<std::int32_t> special_ids;  // never selected ([CLS], [SEP], [PAD], ...)
  std::uint64_t seed = 0;
};

struct masked_batch {
  data::batch input;                  // the batch with masked ids
  std::vector<std::int32_t> labels;   // original id at selected positions, -100 elsewhere
  index selected = 0;
};

// Masks a batch; the same (options, stream) gives the same masking (stream: e.g. the step).
inline masked_batch mask_tokens(const data::batch& b, const mlm_options& opt, std::uint64_t stream) {
  if (opt.mask_id < 0 || opt.vocab_size <= 0) throw vtrans::usage_error("mask_tokens: needs mask_id and vocab_size");
  std::mt19937_64 rng(data::derive_seed(opt.seed, stream));
  auto uniform = [&] { return double(rng() >> 11) * 0x1.0p-53; };
  masked_batch m;
  m.input = b;
  m.input.token_level = true;
  m.labels.assign(b.ids.size(), data::ignore_index);
  for (std::size_t i = 0; i < b.ids.size(); ++i) {
    if (!b.attention_mask.empty() && !b.attention_mask[i]) continue;
    bool special = false;
    for (auto s : opt.special_ids) special = special || s == b.ids[i];
    if (special) continue;
    if (uniform() >= opt.probability) continue;
    m.labels[i] = b.ids[i];
    ++m.selected;
    const double r = uniform();
    if (r < opt.mask_share) m.input.ids[i] = opt.mask_id;
    else if (r < opt.mask_share + opt.random_share) m.input.ids[i] = static_cast<std::int32_t>(data::uniform_below(rng, std::uint64_t(opt.vocab_size)));
  }
  m.input.labels = m.labels;
  return m;
}

// The model's input for a batch of `task`: masked LM masks it first (seeded by the stream, e.g.
// the micro-batch number) and predicts the selected positions only; b is left as the loss reads it.
inline nn::batch_input task_input(task_kind task, data::batch& b, const mlm_options& mlm, std::uint64_t stream) {
  if (task != task_kind::masked_lm) return to_input(b);
  b = mask_tokens(b, mlm, stream).input;
  return predict_selected(b);
}

template <class T, class B>
autodiff::var<T, B> masked_lm_loss(const nn::model_output<T, B>& out, const std::vector<std::int32_t>& labels) {
  return autodiff::cross_entropy(out.logits, labels, data::ignore_index);
}

// The loss of a task on a batch whose inputs the model has already seen (for masked LM the batch
// must be the masked one, with its labels in batch.labels).
template <class T, class B>
autodiff::var<T, B> task_loss(task_kind task, const nn::model_output<T, B>& out, const data::batch& b) {
  switch (task) {
    case task_kind::sequence_classification: return sequence_classification_loss(out, b);
    case task_kind::regression: return regression_loss(out, b);
    case task_kind::token_classification: return token_classification_loss(out, b);
    case task_kind::masked_lm: return masked_lm_loss(out, b.labels);
    case task_kind::causal_lm: return causal_lm_loss(out, b);
  }
  throw vtrans::usage_error("task_loss: unknown task");
}

}  // namespace vtrans::train
