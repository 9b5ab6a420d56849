// Reading, encoding and evaluating a task split for a model folder (task_data.hpp).
#include "task_data.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "encoding.hpp"
#include "eval_job.hpp"
#include "tasks.hpp"
#include "vtrans/data/batching.hpp"
#include "vtrans/io/json.hpp"
#include "vtrans/io/model_config.hpp"
#include "vtrans/tensor/cpu.hpp"
#include "vtrans/text/tokenizer.hpp"

namespace fs = std::filesystem;

namespace vtrans::cli {

// Task options of a trained model folder (training_args.json), or empty.
nlohmann::json saved_args(const std::string& model_dir) {
  const fs::path p = fs::path(model_dir) / "training_args.json";
  if (!fs::is_regular_file(p)) return nlohmann::json::object();
  nlohmann::json j = io::read_json_file(p.string());
  if (!j.is_object()) throw format_error(p.string() + ": must be a JSON object");
  return j;
}

prepared_split prepare_split(const std::string& model_dir, const std::string& task_name, const std::string& data, const std::string& split,
                             long max_length, bool pair, bool header) {
  prepared_split p;
  p.name = split;
  p.args = saved_args(model_dir);
  p.config = io::load_config((fs::path(model_dir) / "config.json").string());
  const std::string tname = !task_name.empty() ? task_name : p.args.value("task", std::string());
  if (tname.empty()) throw vtrans::usage_error("--task is required (the model folder has no training_args.json)");
  p.spec = parse_task(tname, p.config.family, p.config.problem_type == "regression");
  const bool file_task = p.spec.from_file();
  source_options so = make_source_options(p.spec, data, "", pair || p.args.value("pair", false), header || p.args.value("header", false),
                                          p.config.problem_type == "regression");
  if (file_task) so.files = {{split, data}};
  if (file_task && p.config.problem_type != "regression") so.labels = p.config.id2label;
  task_source src(p.spec, so);
  if (!src.has_split(split)) throw vtrans::usage_error("task " + tname + " has no labelled " + split + " split");
  const auto tok = text::load_tokenizer(model_dir);
  p.specials = tok->specials();
  const index len = max_length > 0 ? index(max_length)
                                   : p.args.value("max_length", index(0)) > 0 ? p.args["max_length"].get<index>() : io::max_sequence_length(p.config);
  const encoding_setup enc = make_encoding_setup(p.config.family, *tok, len);
  p.split.objective = p.spec.objective;
  p.split.sequences = encode_split(p.spec, src.read_split(split), *tok, enc);
  p.split.pad_id = static_cast<std::int32_t>(std::max<index>(0, p.config.pad_token_id));
  p.split.max_length = len;
  check_model_input(p.config, p.split.sequences, len, data + " (" + split + " split)");
  return p;
}

std::map<std::string, double> evaluate_task(device_kind device, const std::string& model_dir, const std::string& task_name, const std::string& data,
                                            const std::string& split, long batch_size, long max_length, bool pair, bool header,
                                            bool quiet, nn::matrix_dtype matrices) {
  prepared_split p = prepare_split(model_dir, task_name, data, split, max_length, pair, header);
  if (device == device_kind::cuda) return evaluate_prepared_on_cuda(std::move(p), model_dir, batch_size, quiet, matrices);
  return evaluate_prepared<cpu>(std::move(p), model_dir, batch_size, quiet, matrices);
}

// The split of a task tokenized for the model in model_dir (for vtrans prune and probe).
task_split encode_task_split(const std::string& model_dir, const std::string& task_name, const std::string& data, const std::string& split) {
  return prepare_split(model_dir, task_name, data, split, 0, false, false).split;
}

}  // namespace vtrans::cli
