#pragma once
// Examples -> token id sequences, before batching: single texts and pairs in the BERT layout
// [CLS] a [SEP] b [SEP] with token types 0/1 and longest-first truncation, and word-tagged
// sentences with the tag on each word's first piece (-100 on the rest).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "vtrans/data/example.hpp"
#include "vtrans/error.hpp"
#include "vtrans/tensor/shape.hpp"

namespace vtrans::data {

// Labels equal to this are ignored by losses and metrics (the PyTorch convention).
inline constexpr std::int32_t ignore_index = -100;

// One encoded item, unpadded.
struct sequence {
  std::vector<std::int32_t> ids;
  std::vector<std::int32_t> token_type_ids;  // empty = all 0
  std::vector<std::int32_t> token_labels;    // empty = no per-token labels; else one per id
  std::optional<int> label;                  // sequence class
  std::optional<float> score;                // sequence regression target
  std::string id;                            // the example's id, for reports

  std::size_t size() const { return ids.size(); }
};

struct encode_options {
  std::optional<std::int32_t> cls_id;  // prepended when set (BERT [CLS], or a BOS)
  std::optional<std::int32_t> sep_id;  // appended after each segment when set ([SEP] / EOS)
  std::int32_t pair_type_id = 1;       // token type of a pair's second text: 1 for BERT, 0 for
                                       // RoBERTa (one segment type, as its tokenizer returns)
  index max_length = 0;                // total length cap including specials; 0 = none
  bool space_prefix_words = false;     // tagged words: tokenize " word" for all but the first
                                       // (byte-level BPE marks word starts by the space)
};

using encode_fn = std::function<sequence(const example&)>;

// Removes pieces one at a time from the longer segment (the second on ties) until the whole
// fits: Hugging Face's "longest_first".
inline void truncate_pair(std::vector<std::int32_t>& a, std::vector<std::int32_t>* b, std::size_t budget) {
  while (a.size() + (b ? b->size() : 0) > budget) {
    if (b && b->size() >= a.size() && !b->empty())
      b->pop_back();
    else if (!a.empty())
      a.pop_back();
    else
      break;
  }
}

inline sequence encode_example(const example& ex, const tokenize_fn& tokenize, const encode_options& opt = {}) {
  std::vector<std::int32_t> a = tokenize(ex.text_a);
  std::vector<std::int32_t> b;
  if (ex.text_b) b = tokenize(*ex.text_b);
  const bool pair = ex.text_b.has_value();
  const std::size_t specials = (opt.cls_id ? 1 : 0) + (opt.sep_id ? (pair ? 2 : 1) : 0);
  if (opt.max_length > 0) {
    if (static_cast<std::size_t>(opt.max_length) < specials)
      throw usage_error("vtrans::data::encode_example: max_length smaller than the special tokens");
    truncate_pair(a, pair ? &b : nullptr, static_cast<std::size_t>(opt.max_length) - specials);
  }
  sequence s;
  auto put = [&](std::int32_t id, std::int32_t type) {
    s.ids.push_back(id);
    s.token_type_ids.push_back(type);
  };
  if (opt.cls_id) put(*opt.cls_id, 0);
  for (auto id : a) put(id, 0);
  if (opt.sep_id) put(*opt.sep_id, 0);
  if (pair) {
    for (auto id : b) put(id, opt.pair_type_id);
    if (opt.sep_id) put(*opt.sep_id, opt.pair_type_id);
  }
  // Without special tokens (GPT-2, LLaMA) an empty text gives an empty sequence, which no model
  // can read: say where it came from.
  if (s.ids.empty())
    throw format_error((ex.origin.empty() ? "example " + ex.id : ex.origin) +
                       ": empty input: the text encodes to no tokens and the model adds no special tokens");
  s.label = ex.label;
  s.score = ex.score;
  s.id = ex.id;
  return s;
}

inline encode_fn make_encoder(tokenize_fn tokenize, encode_options opt = {}) {
  return [tokenize = std::move(tokenize), opt](const example& ex) { return encode_example(ex, tokenize, opt); };
}

inline std::vector<sequence> encode_all(const std::vector<example>& examples, const encode_fn& encode) {
  std::vector<sequence> out;
  out.reserve(examples.size());
  for (const auto& e : examples) out.push_back(encode(e));
  return out;
}

// A word-tagged sentence: each word tokenized alone; its tag goes on its first piece, the other
// pieces and the special tokens get ignore_index. Truncation drops whole trailing pieces.
inline sequence encode_tagged_words(const std::vector<std::string>& words, const std::vector<int>& tags,
                                    const tokenize_fn& tokenize, const encode_options& opt = {}) {
  if (words.size() != tags.size())
    throw usage_error("vtrans::data::encode_tagged_words: " + std::to_string(words.size()) + " words but " +
                                std::to_string(tags.size()) + " tags");
  sequence s;
  auto put = [&](std::int32_t id, std::int32_t label) {
    s.ids.push_back(id);
    s.token_labels.push_back(label);
  };
  const std::size_t specials = (opt.cls_id ? 1 : 0) + (opt.sep_id ? 1 : 0);
  const std::size_t budget = opt.max_length > 0 ? static_cast<std::size_t>(opt.max_length) : SIZE_MAX;
  if (budget < specials) throw usage_error("vtrans::data::encode_tagged_words: max_length smaller than the special tokens");
  if (opt.cls_id) put(*opt.cls_id, ignore_index);
  for (std::size_t w = 0; w < words.size(); ++w) {
    const auto pieces = tokenize(opt.space_prefix_words && w > 0 ? " " + words[w] : words[w]);
    for (std::size_t p = 0; p < pieces.size() && s.ids.size() + (opt.sep_id ? 1 : 0) < budget; ++p)
      put(pieces[p], p == 0 ? static_cast<std::int32_t>(tags[w]) : ignore_index);
  }
  if (opt.sep_id) put(*opt.sep_id, ignore_index);
  s.token_type_ids.assign(s.ids.size(), 0);
  return s;
}

}  // namespace vtrans::data
