#pragma once
// Evaluation loops: the model over a data set without recording a tape, predictions and losses
// gathered on the host, then the task's metrics:
//   sequence classification  accuracy, macro-F1, MCC (and binary F1 for two labels), loss
//   regression               Pearson, Spearman, MSE
//   token classification     token accuracy and macro-F1 over labelled tokens, loss
//   causal LM                mean next-token NLL ("loss") and perplexity = exp(loss)
//   masked LM                accuracy and perplexity on the masked positions (seeded masking)
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "vtrans/data/batching.hpp"
#include "vtrans/error.hpp"
#include "vtrans/train/metrics.hpp"
#include "vtrans/train/objectives.hpp"

namespace vtrans::train {

struct eval_result {
  std::map<std::string, double> metrics;
  std::int64_t examples = 0;  // sequences
  std::int64_t tokens = 0;    // scored tokens (token-level tasks), else 0
  std::vector<std::int32_t> predictions;  // classes (sequence or labelled tokens), in data order
};

struct eval_options {
  mlm_options mlm;  // masked LM only
  std::function<void(std::size_t done, std::size_t total)> on_batch;  // progress
};

namespace detail {
template <class T>
std::int32_t row_argmax(const T* row, index cols) {
  index best = 0;
  for (index c = 1; c < cols; ++c)
    if (row[c] > row[best]) best = c;
  return static_cast<std::int32_t>(best);
}
}  // namespace detail

template <class Model>
eval_result evaluate(const Model& model, task_kind task, const data::data_loader& loader, const eval_options& opt = {}) {
  autodiff::no_record guard;
  std::vector<std::int32_t> pred, gold;
  std::vector<double> score_pred, score_gold;
  double nll = 0;
  std::int64_t counted = 0;
  eval_result res;
  const auto plan = loader.plan(0);
  for (std::size_t bi = 0; bi < plan.size(); ++bi) {
    data::batch b = loader.make_batch(plan[bi]);
    const auto out = model.forward(task_input(task, b, opt.mlm, bi));
    const index cols = out.logits.shape().cols(), rows = out.logits.shape().rows();
    // log-probabilities by the backend's kernel; argmax and NLL read them on the host
    tensor<typename Model::value_type, typename Model::backend> logp(out.logits.shape());
    Model::backend::log_softmax(rows, cols, out.logits.value().data(), logp.data());
    const auto logits = task == task_kind::regression ? out.logits.value().to_host() : logp.to_host();
    res.examples += b.batch_size;
    switch (task) {
      case task_kind::sequence_classification:
        for (index r = 0; r < b.batch_size; ++r) {
          const auto* row = logits.data() + r * cols;
          const std::int32_t y = b.labels[std::size_t(r)];
          pred.push_back(detail::row_argmax(row, cols));
          if (y == data::ignore_index) continue;
          gold.push_back(y);
          nll -= double(row[y]);
          ++counted;
        }
        if (gold.size() != pred.size()) throw vtrans::usage_error("evaluate: some examples have no label");
        break;
      case task_kind::regression:
        for (index r = 0; r < b.batch_size; ++r) {
          score_pred.push_back(logits[std::size_t(r)]);
          score_gold.push_back(b.scores.at(std::size_t(r)));
        }
        break;
      case task_kind::token_classification:
      case task_kind::masked_lm:
      case task_kind::causal_lm: {
        const auto targets = task == task_kind::causal_lm ? causal_lm_targets(b) : b.labels;
        for (std::size_t i = 0; i < targets.size(); ++i) {
          if (targets[i] == data::ignore_index) continue;
          const auto* row = logits.data() + index(i) * cols;
          pred.push_back(detail::row_argmax(row, cols));
          gold.push_back(targets[i]);
          nll -= double(row[targets[i]]);
          ++counted;
        }
        break;
      }
    }
    if (opt.on_batch) opt.on_batch(bi + 1, plan.size());
  }
  auto& m = res.metrics;
  switch (task) {
    case task_kind::sequence_classification: {
      m["accuracy"] = accuracy(pred, gold);
      m["macro_f1"] = f1_macro(pred, gold);
      m["mcc"] = matthews_corrcoef(pred, gold);
      if (model.config().num_labels == 2) m["f1"] = f1_binary(pred, gold);
      m["loss"] = counted ? nll / double(counted) : 0.0;
      break;
    }
    case task_kind::regression: {
      m["pearson"] = pearson(score_pred, score_gold);
      m["spearman"] = spearman(score_pred, score_gold);
      double se = 0;
      for (std::size_t i = 0; i < score_pred.size(); ++i) se += (score_pred[i] - score_gold[i]) * (score_pred[i] - score_gold[i]);
      m["mse"] = score_pred.empty() ? 0.0 : se / double(score_pred.size());
      break;
    }
    case task_kind::token_classification:
      m["token_accuracy"] = accuracy(pred, gold);
      m["macro_f1"] = f1_macro(pred, gold);
      m["loss"] = counted ? nll / double(counted) : 0.0;
      res.tokens = counted;
      break;
    case task_kind::masked_lm:
    case task_kind::causal_lm:
      if (task == task_kind::masked_lm) m["accuracy"] = accuracy(pred, gold);
      m["loss"] = counted ? nll / double(counted) : 0.0;
      m["perplexity"] = counted ? perplexity(nll, double(counted)) : 0.0;
      res.tokens = counted;
      break;
  }
  res.predictions = std::move(pred);
  return res;
}

}  // namespace vtrans::train
