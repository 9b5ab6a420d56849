// Reading, encoding and evaluating a task split for a model folder (task_data.hpp).
#include "task_data.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "encoding.hpp"
#include "load_model.hpp"
#include "tasks.hpp"
#include "vtrans/data/batching.hpp"
#include "vtrans/io/json.hpp"
#include "vtrans/io/model_config.hpp"
#include "vtrans/tensor/cpu.hpp"
#include "vtrans/text/tokenizer.hpp"
#include "vtrans/train/evaluate.hpp"
#include "vtrans/train/progress.hpp"

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

namespace {
// A split of a task encoded for the model in model_dir, with what evaluation needs besides.
struct prepared_split {
  task_split split;
  io::model_config config;
  task_spec spec;
  nlohmann::json args;
  text::special_ids specials;
};

prepared_split prepare_split(const std::string& model_dir, const std::string& task_name, const std::string& data, const std::string& split,
                             long max_length, bool pair, bool header) {
  prepared_split p;
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
}  // namespace

// Metrics of the model in model_dir on a split of a task ("" for the task saved with the model).
std::map<std::string, double> evaluate_task(const std::string& model_dir, const std::string& task_name, const std::string& data,
                                            const std::string& split, long batch_size, long max_length, bool pair, bool header,
                                            bool quiet, nn::matrix_dtype matrices) {
  prepared_split p = prepare_split(model_dir, task_name, data, split, max_length, pair, header);
  nn::load_options load = nn::load_options::from_environment();
  load.matrices = matrices;
  auto model = load_model(model_dir, load);
  if (model.head() != train::head_for(p.spec.objective))
    throw vtrans::usage_error(model_dir + ": the model's head (" + std::string(nn::head_name(model.head())) + ") does not fit task " +
                                p.spec.name);
  data::batch_plan_options ep;
  ep.batch_size = batch_size;
  ep.shuffle = false;
  data::collate_options col;
  col.pad_id = p.split.pad_id;
  col.max_length = p.split.max_length;
  data::data_loader loader(std::move(p.split.sequences), ep, col);
  train::eval_options eo;
  const auto& s = p.specials;
  eo.mlm.mask_id = s.mask;
  eo.mlm.vocab_size = p.config.vocab_size;
  eo.mlm.seed = p.args.value("seed", std::uint64_t(0));
  eo.mlm.probability = p.args.value("mlm_probability", 0.15);
  for (auto id : {s.cls, s.sep, s.pad, s.bos, s.eos, s.mask, s.unk})
    if (id >= 0) eo.mlm.special_ids.push_back(id);
  train::progress_options po;
  po.style = quiet ? train::progress_style::silent : train::progress_style::automatic;
  train::progress bar("eval " + split, std::int64_t(loader.batches_per_epoch()), po);
  eo.on_batch = [&](std::size_t done, std::size_t) { bar.update(std::int64_t(done)); };
  auto r = train::evaluate(model, p.spec.objective, loader, eo);
  bar.finish();
  r.metrics["examples"] = double(r.examples);
  return r.metrics;
}

// The split of a task tokenized for the model in model_dir (for vtrans prune and probe).
task_split encode_task_split(const std::string& model_dir, const std::string& task_name, const std::string& data, const std::string& split) {
  return prepare_split(model_dir, task_name, data, split, 0, false, false).split;
}

}  // namespace vtrans::cli
