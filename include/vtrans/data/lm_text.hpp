#pragma once
// WikiText raw files and the perplexity protocol of the pruning papers (formats.md §7;
// locuslab/wanda lib/data.py, lib/eval.py): rows as the Hugging Face loader yields them, test
// rows joined with "\n\n" and tokenized once, non-overlapping seqlen windows; calibration
// windows drawn at random offsets from the train rows joined with " ".
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "vtrans/data/error.hpp"
#include "vtrans/data/example.hpp"
#include "vtrans/data/shuffle.hpp"
#include "vtrans/data/text_file.hpp"
#include "vtrans/tensor/shape.hpp"

namespace vtrans::data {

// One row per line of a wiki.*.raw file, as the HF `wikitext` script yields them: a line with
// any non-whitespace keeps its trailing "\n"; a blank line becomes "" (wikitext-2-raw:
// 36,718 / 3,760 / 4,358 rows).
inline std::vector<std::string> read_wikitext_rows(const std::filesystem::path& file) {
  const std::string text = read_file_text(file);
  std::vector<std::string> rows;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    std::size_t stop = end == std::string::npos ? text.size() : end + 1;
    std::string_view row(text.data() + start, stop - start);
    bool blank = row.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos;
    rows.emplace_back(blank ? std::string() : std::string(row));
    start = stop;
  }
  return rows;
}

inline std::string join_rows(const std::vector<std::string>& rows, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i) out += sep;
    out += rows[i];
  }
  return out;
}

// The evaluation text: rows joined with "\n\n".
inline std::string wikitext_eval_text(const std::vector<std::string>& rows) { return join_rows(rows, "\n\n"); }
// The calibration text: rows joined with " ".
inline std::string wikitext_calibration_text(const std::vector<std::string>& rows) { return join_rows(rows, " "); }

// A token stream cut into windows of seq_len tokens: window i is ids[starts[i], starts[i]+seq_len).
struct lm_windows {
  index seq_len = 0;
  std::vector<std::int32_t> ids;
  std::vector<index> starts;

  std::size_t size() const { return starts.size(); }
  std::vector<std::int32_t> window(std::size_t i) const {
    auto b = ids.begin() + starts.at(i);
    return {b, b + seq_len};
  }
  index token_count() const { return static_cast<index>(starts.size()) * seq_len; }
};

// Non-overlapping windows from the start; the tail shorter than seq_len is dropped
// (nsamples = numel / seqlen).
inline lm_windows eval_windows(std::vector<std::int32_t> ids, index seq_len) {
  if (seq_len <= 0) throw usage_error("vtrans::data::eval_windows: seq_len must be positive");
  lm_windows w;
  w.seq_len = seq_len;
  w.ids = std::move(ids);
  const index n = static_cast<index>(w.ids.size()) / seq_len;
  for (index i = 0; i < n; ++i) w.starts.push_back(i * seq_len);
  return w;
}

// `count` windows at seeded random starts in [0, numel - seq_len - 1] (wanda's randint bounds);
// windows may overlap. Needs numel > seq_len.
inline lm_windows calibration_windows(std::vector<std::int32_t> ids, index seq_len, std::size_t count, std::uint64_t seed) {
  if (seq_len <= 0) throw usage_error("vtrans::data::calibration_windows: seq_len must be positive");
  if (static_cast<index>(ids.size()) <= seq_len)
    throw usage_error("vtrans::data::calibration_windows: " + std::to_string(ids.size()) +
                                " tokens, need more than seq_len = " + std::to_string(seq_len));
  lm_windows w;
  w.seq_len = seq_len;
  w.ids = std::move(ids);
  std::mt19937_64 rng(seed);
  const auto span = static_cast<std::uint64_t>(static_cast<index>(w.ids.size()) - seq_len);
  for (std::size_t i = 0; i < count; ++i) w.starts.push_back(static_cast<index>(uniform_below(rng, span)));
  return w;
}

// The whole protocol on files: test rows joined with "\n\n", tokenized once, cut.
inline lm_windows wikitext_eval_windows(const std::filesystem::path& test_file, const tokenize_fn& tokenize, index seq_len) {
  return eval_windows(tokenize(wikitext_eval_text(read_wikitext_rows(test_file))), seq_len);
}

inline lm_windows wikitext_calibration_windows(const std::filesystem::path& train_file, const tokenize_fn& tokenize,
                                               index seq_len, std::size_t count = 128, std::uint64_t seed = 0) {
  return calibration_windows(tokenize(wikitext_calibration_text(read_wikitext_rows(train_file))), seq_len, count, seed);
}

}  // namespace vtrans::data
