#pragma once
// GLUE TSV readers (original GLUE download, columns as in transformers' glue processors; see
// formats.md §6): tab split with no quote handling, UTF-8 BOM stripped, per-task header,
// text and label columns; test files carry no labels; short QQP rows are skipped and counted.
#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "vtrans/data/error.hpp"
#include "vtrans/data/example.hpp"
#include "vtrans/data/text_file.hpp"
#include "vtrans/error.hpp"

namespace vtrans::data {

enum class glue_task { cola, sst2, mrpc, qqp, stsb, mnli, qnli, rte, wnli };
inline constexpr int glue_task_count = 9;

struct glue_task_info {
  glue_task task;
  const char* name;                 // lower-case key: "cola", "sst2", "sts-b" -> "stsb"…
  const char* folder;               // folder of the GLUE download: "CoLA", "SST-2", …
  std::vector<std::string> labels;  // label strings in index order; empty = regression
  std::vector<std::string> splits;  // file stems available
  const char* metric;               // "mcc", "acc", "acc_f1", "pearson_spearman"
  bool pair() const { return task != glue_task::cola && task != glue_task::sst2; }
  bool regression() const { return labels.empty(); }
};

inline const std::array<glue_task_info, glue_task_count>& glue_tasks() {
  static const std::vector<std::string> std_splits{"train", "dev", "test"};
  static const std::vector<std::string> bin{"0", "1"}, ent{"entailment", "not_entailment"};
  static const std::array<glue_task_info, glue_task_count> tasks{{
      {glue_task::cola, "cola", "CoLA", bin, std_splits, "mcc"},
      {glue_task::sst2, "sst2", "SST-2", bin, std_splits, "acc"},
      {glue_task::mrpc, "mrpc", "MRPC", bin, std_splits, "acc_f1"},
      {glue_task::qqp, "qqp", "QQP", bin, std_splits, "acc_f1"},
      {glue_task::stsb, "stsb", "STS-B", {}, std_splits, "pearson_spearman"},
      {glue_task::mnli, "mnli", "MNLI", {"contradiction", "entailment", "neutral"},
       {"train", "dev_matched", "dev_mismatched", "test_matched", "test_mismatched"}, "acc"},
      {glue_task::qnli, "qnli", "QNLI", ent, std_splits, "acc"},
      {glue_task::rte, "rte", "RTE", ent, std_splits, "acc"},
      {glue_task::wnli, "wnli", "WNLI", bin, std_splits, "acc"},
  }};
  return tasks;
}

inline const glue_task_info& glue_info(glue_task t) { return glue_tasks()[static_cast<std::size_t>(t)]; }

// Accepts the key or the folder name in any case, with or without '-': "SST-2", "sst2", "STS-B".
inline glue_task parse_glue_task(std::string_view name) {
  auto norm = [](std::string_view s) {
    std::string o;
    for (char c : s)
      if (c != '-' && c != '_') o += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return o;
  };
  const std::string n = norm(name);
  for (const auto& t : glue_tasks())
    if (n == norm(t.name) || n == norm(t.folder)) return t.task;
  throw usage_error("vtrans::data: unknown GLUE task '" + std::string(name) + "'");
}

// Column layout of one GLUE file kind. Column numbers are 0-based.
struct glue_columns {
  static constexpr int none = -1;  // column absent
  static constexpr int last = -2;  // the row's last column
  bool header = true;
  int text_a = 0;
  int text_b = none;
  int label = none;
  int id = none;  // none: the example's id is its 0-based row number in the file
};

inline glue_columns glue_layout(glue_task task, bool test) {
  constexpr int N = glue_columns::none, L = glue_columns::last;
  switch (task) {
    case glue_task::cola: return test ? glue_columns{true, 1, N, N, 0} : glue_columns{false, 3, N, 1, N};
    case glue_task::sst2: return test ? glue_columns{true, 1, N, N, 0} : glue_columns{true, 0, N, 1, N};
    case glue_task::mrpc: return test ? glue_columns{true, 3, 4, N, 0} : glue_columns{true, 3, 4, 0, N};
    case glue_task::qqp: return test ? glue_columns{true, 1, 2, N, 0} : glue_columns{true, 3, 4, 5, 0};
    case glue_task::stsb: return glue_columns{true, 7, 8, test ? N : L, 0};
    case glue_task::mnli: return glue_columns{true, 8, 9, test ? N : L, 0};
    case glue_task::qnli:
    case glue_task::rte:
    case glue_task::wnli: return glue_columns{true, 1, 2, test ? N : L, 0};
  }
  return {};
}

struct glue_data {
  glue_task task = glue_task::cola;
  std::filesystem::path file;
  bool test = false;               // a test file: examples carry no label
  std::vector<example> examples;
  std::size_t skipped_rows = 0;    // QQP rows with too few columns (transformers skips them)
};

namespace detail {
inline float parse_glue_float(const std::string& s, const std::filesystem::path& file, std::size_t line) {
  errno = 0;
  char* end = nullptr;
  float v = std::strtof(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(v))
    throw make_data_error(file, line, "bad regression label '" + s + "'");
  return v;
}
}  // namespace detail

// Reads one GLUE TSV file of a task; `test` selects the unlabelled test layout. Empty lines are
// ignored. A row with too few columns or an unknown label throws data_error (file:line), except
// short QQP rows, which are counted in skipped_rows.
inline glue_data read_glue_tsv(glue_task task, const std::filesystem::path& file, bool test) {
  const glue_task_info& info = glue_info(task);
  const glue_columns cols = glue_layout(task, test);
  glue_data out;
  out.task = task;
  out.file = file;
  out.test = test;
  const auto lines = read_lines(file);
  int needed = std::max({cols.text_a, cols.text_b, cols.label, cols.id}) + 1;
  if (cols.label == glue_columns::last) needed = std::max(needed, std::max(cols.text_a, cols.text_b) + 2);
  std::size_t row = 0;
  for (std::size_t i = cols.header ? 1 : 0; i < lines.size(); ++i) {
    const std::size_t line_no = i + 1;
    if (lines[i].empty()) continue;
    const auto f = split_tabs(lines[i]);
    if (static_cast<int>(f.size()) < needed) {
      if (task == glue_task::qqp) {
        ++out.skipped_rows;
        continue;
      }
      throw make_data_error(file, line_no, std::string(info.folder) + " row has " + std::to_string(f.size()) +
                                               " columns, needs " + std::to_string(needed));
    }
    example e;
    e.origin = file_line(file, line_no);
    e.id = cols.id == glue_columns::none ? std::to_string(row) : f[static_cast<std::size_t>(cols.id)];
    e.text_a = f[static_cast<std::size_t>(cols.text_a)];
    if (cols.text_b != glue_columns::none) e.text_b = f[static_cast<std::size_t>(cols.text_b)];
    if (cols.label != glue_columns::none) {
      const std::string& lab = cols.label == glue_columns::last ? f.back() : f[static_cast<std::size_t>(cols.label)];
      if (info.regression()) {
        e.score = detail::parse_glue_float(lab, file, line_no);
      } else {
        auto it = std::find(info.labels.begin(), info.labels.end(), lab);
        if (it == info.labels.end()) throw make_data_error(file, line_no, std::string(info.folder) + " unknown label '" + lab + "'");
        e.label = static_cast<int>(it - info.labels.begin());
      }
    }
    out.examples.push_back(std::move(e));
    ++row;
  }
  return out;
}

// `<task_dir>/<split>.tsv`; split is one of glue_info(task).splits ("train", "dev", "test",
// MNLI: "dev_matched", "test_mismatched"…); stems starting with "test" read unlabelled.
inline glue_data load_glue(glue_task task, const std::filesystem::path& task_dir, std::string_view split) {
  const auto& splits = glue_info(task).splits;
  if (std::find(splits.begin(), splits.end(), split) == splits.end())
    throw usage_error("vtrans::data: GLUE task " + std::string(glue_info(task).folder) + " has no split '" +
                                std::string(split) + "'");
  return read_glue_tsv(task, task_dir / (std::string(split) + ".tsv"), split.substr(0, 4) == "test");
}

}  // namespace vtrans::data
