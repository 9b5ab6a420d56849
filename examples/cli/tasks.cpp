// The task registry of the CLI (tasks.hpp).
#include "tasks.hpp"

#include <stdexcept>

#include "vtrans/data/text_pairs.hpp"
#include "vtrans/nn/families.hpp"
#include "vtrans/nn/heads.hpp"
#include "vtrans/tensor/cpu.hpp"

namespace vtrans::cli {

task_spec parse_task(const std::string& name, std::optional<io::family> family, bool regression) {
  task_spec t;
  t.name = name;
  const bool encoder = !family || nn::has_head(family->spec(), nn::head_kind::masked_lm);
  if (name == "brown-genre") t.source = source_kind::brown_genre;
  else if (name == "brown-pos") t.source = source_kind::brown_pos, t.objective = train::task_kind::token_classification;
  else if (name == "brown-lm") t.source = source_kind::brown_lm, t.objective = encoder ? train::task_kind::masked_lm : train::task_kind::causal_lm;
  else if (name == "brown-mlm") t.source = source_kind::brown_mlm, t.objective = train::task_kind::masked_lm;
  else if (name == "tsv" || name == "jsonl") {
    t.source = name == "tsv" ? source_kind::tsv : source_kind::jsonl;
    if (regression) t.objective = train::task_kind::regression;
  }
  else if (name.rfind("glue:", 0) == 0) {
    t.source = source_kind::glue;
    t.glue = data::parse_glue_task(name.substr(5));
    if (data::glue_info(t.glue).regression()) t.objective = train::task_kind::regression;
  } else {
    throw vtrans::usage_error("unknown task '" + name + "' (brown-genre, brown-pos, brown-lm, brown-mlm, glue:<TASK>, tsv, jsonl)");
  }
  if (t.objective == train::task_kind::masked_lm && !encoder) {
    std::string with;  // the families with a masked-LM head
    nn::for_each_family([&](auto f) {
      if (nn::has_head(decltype(f)::spec, nn::head_kind::masked_lm)) with += (with.empty() ? "" : " or ") + std::string(decltype(f)::spec.model_type);
    });
    throw vtrans::usage_error("task " + name + " (masked LM) needs --family " + with);
  }
  return t;
}

source_options make_source_options(const task_spec& spec, const std::string& data, const std::string& eval_data, bool pair, bool header,
                                   bool regression) {
  source_options so;
  so.data = data;
  so.pair = pair;
  so.header = header;
  so.regression = regression;
  if (spec.from_file()) {
    so.files["train"] = data;
    if (!eval_data.empty()) so.files["dev"] = so.files["test"] = eval_data;
  }
  return so;
}

task_source::task_source(task_spec spec, source_options opt) : spec_(std::move(spec)), opt_(std::move(opt)) {
  switch (spec_.source) {
    case source_kind::brown_genre:
    case source_kind::brown_pos:
    case source_kind::brown_lm:
    case source_kind::brown_mlm:
      corpus_ = data::load_brown(opt_.data);
      break;
    default: break;
  }
}

std::vector<std::string> task_source::labels() {
  switch (spec_.source) {
    case source_kind::brown_genre: {
      std::vector<std::string> out;
      for (const auto& g : data::brown_genres()) out.push_back(g.code);
      return out;
    }
    case source_kind::brown_pos: return {data::pos_tag_names().begin(), data::pos_tag_names().end()};
    case source_kind::brown_lm:
    case source_kind::brown_mlm: return {};
    case source_kind::glue: {
      const auto& info = data::glue_info(spec_.glue);
      return info.regression() ? std::vector<std::string>{"score"} : info.labels;
    }
    case source_kind::tsv:
    case source_kind::jsonl:
      if (opt_.regression) return {"score"};
      if (!opt_.labels.empty()) return opt_.labels;
      read_split("train");
      return label_vocab_.names();
  }
  return {};
}

bool task_source::has_split(const std::string& split) const {
  if (spec_.from_file()) return opt_.files.count(split) != 0;
  if (spec_.source == source_kind::glue) return split != "test";  // GLUE test files carry no labels
  return true;
}

split_items task_source::read_split(const std::string& split) {
  split_items out;
  switch (spec_.source) {
    case source_kind::brown_genre: out.examples = data::brown_genre_passages(corpus_, data::parse_split(split)); break;
    case source_kind::brown_pos: out.tagged = data::brown_pos_sentences(corpus_, data::parse_split(split)); break;
    case source_kind::brown_lm:
    case source_kind::brown_mlm: out.text = data::brown_lm_text(corpus_, data::parse_split(split)); break;
    case source_kind::glue: {
      std::string stem = split;
      if (spec_.glue == data::glue_task::mnli && split != "train") stem = split + "_matched";
      out.examples = data::load_glue(spec_.glue, opt_.data, stem).examples;
      break;
    }
    case source_kind::tsv:
    case source_kind::jsonl: {
      auto it = opt_.files.find(split);
      if (it == opt_.files.end()) throw vtrans::usage_error("task " + spec_.name + ": no file for the " + split + " split");
      data::text_pairs_options o;
      o.pair = opt_.pair;
      o.has_header = opt_.header;
      o.regression = opt_.regression;
      const bool frozen = !opt_.labels.empty() || split != "train";
      o.freeze_labels = frozen && !opt_.regression;
      data::label_vocab vocab = !opt_.labels.empty() ? data::label_vocab(opt_.labels) : label_vocab_;
      auto d = spec_.source == source_kind::tsv ? data::read_text_pairs_tsv(it->second, o, vocab)
                                               : data::read_text_pairs_jsonl(it->second, o, vocab);
      if (split == "train" && opt_.labels.empty()) label_vocab_ = d.labels;
      out.examples = std::move(d.examples);
      break;
    }
  }
  return out;
}

std::vector<std::string> task_source::training_texts() {
  split_items s = read_split("train");
  std::vector<std::string> out;
  for (auto& e : s.examples) {
    out.push_back(e.text_a);
    if (e.text_b) out.push_back(*e.text_b);
  }
  for (auto& t : s.tagged) {
    std::string line;
    for (const auto& w : t.words) line += (line.empty() ? "" : " ") + w;
    out.push_back(std::move(line));
  }
  if (!s.text.empty()) out.push_back(std::move(s.text));
  return out;
}

}  // namespace vtrans::cli
