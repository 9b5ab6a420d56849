#pragma once
// Generic labelled text (pairs) from TSV — columns text[, text_pair], label — or JSONL —
// {"text", "text_pair"?, "label"} per line — with a label vocabulary shared across splits.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vtrans/data/error.hpp"
#include "vtrans/data/example.hpp"
#include "vtrans/data/label_vocab.hpp"
#include "vtrans/data/text_file.hpp"
#include "vtrans/io/json.hpp"

namespace vtrans::data {

struct text_pairs_options {
  bool pair = false;         // TSV: a text_pair column after text
  bool labelled = true;      // TSV: a label column last; JSONL: a missing "label" is an error
  bool has_header = false;   // TSV: skip the first line
  bool regression = false;   // labels are floats (example::score) instead of classes
  bool freeze_labels = false;  // an unknown label is an error instead of a new class
  bool sort_labels = true;   // when the vocabulary was empty: order classes canonically
                             // (numeric if all integers, else lexicographic), not by first sight
};

struct text_pairs_data {
  std::vector<example> examples;
  label_vocab labels;  // the vocabulary passed in, grown unless frozen
};

namespace detail {

struct label_sink {
  const text_pairs_options& opt;
  label_vocab vocab;
  bool started_empty;

  void set(example& e, const std::string& label, const std::filesystem::path& file, std::size_t line) {
    if (opt.regression) {
      char* end = nullptr;
      float v = std::strtof(label.c_str(), &end);
      if (label.empty() || end != label.c_str() + label.size() || !std::isfinite(v))
        throw make_data_error(file, line, "bad regression label " + io::detail::quote(label));
      e.score = v;
      return;
    }
    if (opt.freeze_labels) {
      auto id = vocab.find(label);
      if (!id) throw make_data_error(file, line, "unknown label " + io::detail::quote(label));
      e.label = *id;
    } else {
      e.label = vocab.add(label);
    }
  }
  text_pairs_data finish(std::vector<example> examples) {
    if (started_empty && opt.sort_labels && !opt.regression && !vocab.empty()) {
      const auto remap = vocab.sort();
      for (auto& e : examples)
        if (e.label) e.label = remap[static_cast<std::size_t>(*e.label)];
    }
    return {std::move(examples), std::move(vocab)};
  }
};

}  // namespace detail

// TSV without quote handling; empty lines are skipped; a row must have exactly the configured
// number of columns. id = 0-based row number.
inline text_pairs_data read_text_pairs_tsv(const std::filesystem::path& file, const text_pairs_options& opt = {},
                                           label_vocab vocab = {}) {
  detail::label_sink sink{opt, std::move(vocab), false};
  sink.started_empty = sink.vocab.empty();
  const std::size_t ncols = 1 + (opt.pair ? 1 : 0) + (opt.labelled ? 1 : 0);
  const auto lines = read_lines(file);
  std::vector<example> out;
  for (std::size_t i = opt.has_header ? 1 : 0; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    const auto f = split_tabs(lines[i]);
    if (f.size() != ncols)
      throw make_data_error(file, i + 1, "row has " + std::to_string(f.size()) + " columns, expected " + std::to_string(ncols));
    example e;
    e.origin = file_line(file, i + 1);
    e.id = std::to_string(out.size());
    e.text_a = f[0];
    if (opt.pair) e.text_b = f[1];
    if (opt.labelled) sink.set(e, f.back(), file, i + 1);
    out.push_back(std::move(e));
  }
  return sink.finish(std::move(out));
}

// JSONL: one object per non-blank line. "text" (string) required; "text_pair" optional; "label"
// a string or number (integers become their decimal string in the vocabulary); "id" optional
// (string or number), else the 0-based row number.
inline text_pairs_data read_text_pairs_jsonl(const std::filesystem::path& file, const text_pairs_options& opt = {},
                                             label_vocab vocab = {}) {
  detail::label_sink sink{opt, std::move(vocab), false};
  sink.started_empty = sink.vocab.empty();
  const auto lines = read_lines(file);
  std::vector<example> out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::size_t line_no = i + 1;
    if (lines[i].find_first_not_of(" \t") == std::string::npos) continue;
    const std::string origin = file_line(file, line_no);
    nlohmann::json j;
    try {
      j = io::parse_json(lines[i], origin);
    } catch (const format_error& err) {
      throw data_error(err.what());
    }
    if (!j.is_object()) throw make_data_error(file, line_no, "expected a JSON object");
    auto text = j.find("text");
    if (text == j.end() || !text->is_string()) throw make_data_error(file, line_no, "missing string field \"text\"");
    example e;
    e.origin = origin;
    e.text_a = text->get<std::string>();
    if (auto p = j.find("text_pair"); p != j.end() && !p->is_null()) {
      if (!p->is_string()) throw make_data_error(file, line_no, "\"text_pair\" must be a string");
      e.text_b = p->get<std::string>();
    }
    if (auto id = j.find("id"); id != j.end() && (id->is_string() || id->is_number()))
      e.id = id->is_string() ? id->get<std::string>() : id->dump();
    else
      e.id = std::to_string(out.size());
    auto label = j.find("label");
    if (label == j.end() || label->is_null()) {
      if (opt.labelled) throw make_data_error(file, line_no, "missing field \"label\"");
    } else if (label->is_string()) {
      sink.set(e, label->get<std::string>(), file, line_no);
    } else if (label->is_number_integer()) {
      sink.set(e, label->dump(), file, line_no);
    } else if (label->is_number() && opt.regression) {
      const double v = label->get<double>();  // range-checked before narrowing: a float cast of 1e39 is undefined
      if (!(std::fabs(v) <= std::numeric_limits<float>::max()))
        throw make_data_error(file, line_no, "regression label " + label->dump() + " is not a finite float");
      e.score = static_cast<float>(v);
    } else {
      throw make_data_error(file, line_no, "\"label\" must be a string or integer (or a number for regression)");
    }
    out.push_back(std::move(e));
  }
  return sink.finish(std::move(out));
}

}  // namespace vtrans::data
