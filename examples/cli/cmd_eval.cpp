// vtrans eval --model DIR [--task T] --data PATH [--split test] [--baseline]: a trained model's
// metrics on a task split, and/or the task's trivial baselines (task_data.hpp).
#include <boost/program_options.hpp>

#include <iomanip>
#include <iostream>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "command.hpp"
#include "load_model.hpp"
#include "task_data.hpp"

namespace po = boost::program_options;

namespace {

void print(const std::string& what, const std::map<std::string, double>& m, bool json) {
  if (json) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [k, v] : m) j[k] = v;
    std::cout << nlohmann::json{{what, j}}.dump() << "\n";
    return;
  }
  std::cout << what << ":";
  for (const auto& [k, v] : m) std::cout << "  " << k << " " << std::fixed << std::setprecision(4) << v;
  std::cout << "\n";
}

int run(int argc, char** argv) {
  std::string model, task, data, train_data, split = "test", dtype = "auto";
  long batch_size = 64, max_length = 0;
  vtrans::cli::device_args device;
  bool baseline = false, baseline_only = false, pair = false, header = false, json = false, quiet = false;
  po::options_description opts(
      "vtrans eval: metrics of a trained model on a task split, and the task's trivial baselines\n"
      "usage: vtrans eval --model DIR --data PATH [--task T] [--split test] [--baseline]\n"
      "Metrics: accuracy, macro-F1, MCC (and F1 for two classes) for classification; Pearson, Spearman, MSE for\n"
      "regression; token accuracy and macro-F1 for brown-pos; loss (mean NLL) and perplexity for language models.");
  opts.add_options()("help,h", "show this help")
      ("model", po::value(&model), "model folder written by vtrans train (config.json, model.safetensors, tokenizer files)")
      ("task", po::value(&task), "brown-genre, brown-pos, brown-lm, brown-mlm, glue:<TASK>, tsv, jsonl (default: the task the model was trained on)")
      ("data", po::value(&data)->required(), "Brown folder, GLUE task folder, or the TSV/JSONL file to evaluate")
      ("split", po::value(&split)->default_value(split), "train, dev or test (Brown and GLUE; GLUE test files have no labels)")
      ("train-data", po::value(&train_data), "tsv/jsonl --baseline: the training file the majority class comes from")
      ("pair", po::bool_switch(&pair), "tsv: rows are text, text_pair, label")
      ("header", po::bool_switch(&header), "tsv: skip the first line")
      ("batch-size", po::value(&batch_size)->default_value(batch_size), "sequences per batch")
      ("dtype", po::value(&dtype)->default_value(dtype), vtrans::cli::matrix_dtype_help)
      ("max-length", po::value(&max_length)->default_value(max_length), "truncate inputs / LM window length (0: as trained)")
      ("baseline", po::bool_switch(&baseline),
       "also print the trivial baseline: majority class of train, mean training score, most frequent tag per word (brown-pos), "
       "add-one unigram perplexity over the model's tokens (LM)")
      ("baseline-only", po::bool_switch(&baseline_only), "print only the baseline (no model needed except for LM tasks)")
      ("json", po::bool_switch(&json), "print one JSON object per result")
      ("quiet", po::bool_switch(&quiet), "no progress display");
  vtrans::cli::add_device_options(opts, device);
  po::variables_map vm;
  if (!vtrans::cli::parse_options(argc, argv, opts, vm)) return 0;
  if (model.empty() && !baseline_only) throw vtrans::usage_error("--model is required (or --baseline-only)");
  const auto where = baseline_only ? vtrans::cli::parse_device(device) : vtrans::cli::choose_device(device);
  if (!baseline_only) print("model", vtrans::cli::evaluate_task(where, model, task, data, split, batch_size, max_length, pair, header, quiet,
                                                                                vtrans::cli::parse_matrix_dtype(dtype)), json);
  if (baseline || baseline_only) print("baseline", vtrans::cli::baseline_task(model, task, data, train_data, split, max_length, pair, header), json);
  return 0;
}

const bool registered = vtrans::cli::add("eval", "evaluate a trained model on a task split (and trivial baselines)", run);

}  // namespace
