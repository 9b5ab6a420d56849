#pragma once
// Task plumbing shared by the subcommands: reading a task's split, tokenizing it with a model's
// tokenizer, evaluating a model folder on it, and the task's trivial baselines.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "device.hpp"
#include "tasks.hpp"
#include "vtrans/data/encode.hpp"
#include "vtrans/io/model_config.hpp"
#include "vtrans/nn/load.hpp"
#include "vtrans/text/tokenizer.hpp"
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

// A split of a task encoded for the model in model_dir, with what evaluation needs besides.
struct prepared_split {
  std::string name;  // train, dev, test
  task_split split;
  io::model_config config;
  task_spec spec;
  nlohmann::json args;
  text::special_ids specials;
};
prepared_split prepare_split(const std::string& model_dir, const std::string& task_name, const std::string& data, const std::string& split,
                             long max_length, bool pair, bool header);

// The split of a task (the model's own task when `task` is empty), tokenized for the model in model_dir.
task_split encode_task_split(const std::string& model_dir, const std::string& task, const std::string& data, const std::string& split);

// Metrics of the model in model_dir on a split of a task ("" for the task saved with the model),
// computed on `device` (eval_job.hpp).
std::map<std::string, double> evaluate_task(device_kind device, const std::string& model_dir, const std::string& task_name, const std::string& data,
                                            const std::string& split, long batch_size, long max_length, bool pair, bool header,
                                            bool quiet, nn::matrix_dtype matrices = nn::matrix_dtype::compute);

// Trivial baselines of a task: majority class (classification), mean score (regression),
// most frequent tag per word (brown-pos), add-one unigram (LM; needs the model's tokenizer).
std::map<std::string, double> baseline_task(const std::string& model_dir, const std::string& task_name, const std::string& data,
                                            const std::string& train_data, const std::string& split, long max_length, bool pair,
                                            bool header);

}  // namespace vtrans::cli
