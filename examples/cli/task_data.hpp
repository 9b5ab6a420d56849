#pragma once
// Task plumbing shared by the subcommands: reading a task's split, tokenizing it with a model's
// tokenizer, evaluating a model folder on it, and the task's trivial baselines.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vtrans/data/encode.hpp"
#include "vtrans/tensor/cpu.hpp"
#include "vtrans/train/objectives.hpp"

namespace vtrans::cli {

struct task_split {
  train::task_kind objective = train::task_kind::sequence_classification;
  std::vector<data::sequence> sequences;
  std::int32_t pad_id = 0;
  index max_length = 128;
};

// Task options of a trained model folder (training_args.json), or empty.
nlohmann::json saved_args(const std::string& model_dir);

// The split of a task (the model's own task when `task` is empty), tokenized for the model in model_dir.
task_split encode_task_split(const std::string& model_dir, const std::string& task, const std::string& data, const std::string& split);

// Metrics of the model in model_dir on a split of a task ("" for the task saved with the model).
std::map<std::string, double> evaluate_task(const std::string& model_dir, const std::string& task_name, const std::string& data,
                                            const std::string& split, long batch_size, long max_length, bool pair, bool header,
                                            bool quiet, nn::matrix_dtype matrices = nn::matrix_dtype::compute);

// Trivial baselines of a task: majority class (classification), mean score (regression),
// most frequent tag per word (brown-pos), add-one unigram (LM; needs the model's tokenizer).
std::map<std::string, double> baseline_task(const std::string& model_dir, const std::string& task_name, const std::string& data,
                                            const std::string& train_data, const std::string& split, long max_length, bool pair,
                                            bool header);

}  // namespace vtrans::cli
