#pragma once
// The tasks the CLI trains, evaluates and prunes on: Brown (genre, POS, LM, MLM), GLUE, and
// labelled TSV / JSONL files. A task_source reads a task's splits before tokenization.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vtrans/data/brown.hpp"
#include "vtrans/data/example.hpp"
#include "vtrans/data/glue.hpp"
#include "vtrans/data/label_vocab.hpp"
#include "vtrans/io/family.hpp"
#include "vtrans/train/objectives.hpp"

namespace vtrans::cli {

enum class source_kind { brown_genre, brown_pos, brown_lm, brown_mlm, glue, tsv, jsonl };

struct task_spec {
  std::string name;  // as given: "brown-genre", "glue:SST-2", "tsv", ...
  source_kind source = source_kind::brown_genre;
  data::glue_task glue = data::glue_task::sst2;
  train::task_kind objective = train::task_kind::sequence_classification;
  bool from_file() const { return source == source_kind::tsv || source == source_kind::jsonl; }
  bool language_model() const { return source == source_kind::brown_lm || source == source_kind::brown_mlm; }
};

// The task named `name` for a model of `family` (brown-lm is a masked LM for encoders); without
// a family (no model yet) every task is accepted.
// regression: tsv/jsonl labels are scores (--regression, or a model whose problem_type is regression).
task_spec parse_task(const std::string& name, std::optional<io::family> family, bool regression = false);

struct source_options {
  std::string data;                          // Brown folder, GLUE task folder, or the TSV/JSONL file
  std::map<std::string, std::string> files;  // tsv/jsonl: split -> file (train, dev, test)
  bool pair = false;                         // tsv: a text_pair column
  bool header = false;                       // tsv: skip the first line
  bool regression = false;                   // tsv/jsonl: float labels
  std::vector<std::string> labels;           // tsv/jsonl: frozen label vocabulary (eval of a trained model)
};

// Options for a task's data: tsv/jsonl read `data` as train and `eval_data` (if any) as dev and test.
source_options make_source_options(const task_spec& spec, const std::string& data, const std::string& eval_data, bool pair, bool header,
                                   bool regression);

// What a task yields for one split before tokenization.
struct split_items {
  std::vector<data::example> examples;        // classification / regression
  std::vector<data::tagged_sentence> tagged;  // POS
  std::string text;                           // LM
};

class task_source {
 public:
  task_source(task_spec spec, source_options opt);
  const task_spec& spec() const { return spec_; }
  // Class names (empty for LM tasks, {"score"} for regression).
  std::vector<std::string> labels();
  bool has_split(const std::string& split) const;
  split_items read_split(const std::string& split);
  // Training text for building a vocabulary.
  std::vector<std::string> training_texts();

 private:
  task_spec spec_;
  source_options opt_;
  data::brown_corpus corpus_;
  data::label_vocab label_vocab_;
};

}  // namespace vtrans::cli
