#pragma once
// Learning a WordPiece vocabulary from text, for models trained from scratch (`vtrans train`):
// the result is a vocab.txt that text::wordpiece (BertTokenizer) reads.
#include <algorithm>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "vtrans/text/wordpiece.hpp"

namespace vtrans::text {

// A WordPiece vocabulary learnt from text (documented in docs/training.md):
//  1. BERT's basic tokenizer (lower case, accents stripped, punctuation split) gives words;
//  2. the five specials [PAD] [UNK] [CLS] [SEP] [MASK] take ids 0..4;
//  3. every character seen becomes a piece, word-initially and as "##c", so no word is [UNK];
//  4. 80% of the remaining budget: the most frequent whole words (count >= min_count);
//  5. the rest: the most frequent word-initial prefixes and "##" continuations (2..6 characters)
//     of the words left out, weighted by word frequency.
// Ties break lexicographically, so the vocabulary is a function of the text alone.
inline std::vector<std::string> learn_wordpiece_vocab(const std::vector<std::string>& texts, std::size_t vocab_size,
                                                      std::size_t min_count) {
  const std::vector<std::string> specials{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  wordpiece basic(specials);
  std::unordered_map<std::string, std::size_t> words;
  for (const auto& t : texts)
    for (auto& w : basic.basic_tokenize(t)) ++words[w];
  std::vector<std::string> vocab = specials;
  std::unordered_map<std::string, bool> have;
  for (const auto& s : specials) have[s] = true;
  auto add = [&](const std::string& piece) {
    if (have.emplace(piece, true).second) vocab.push_back(piece);
  };
  auto chars_of = [](const std::string& w) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < w.size();) {
      std::size_t n = 1;
      const auto c = static_cast<unsigned char>(w[i]);
      if (c >= 0xF0) n = 4;
      else if (c >= 0xE0) n = 3;
      else if (c >= 0xC0) n = 2;
      out.push_back(w.substr(i, n));
      i += n;
    }
    return out;
  };
  std::vector<std::pair<std::string, std::size_t>> sorted(words.begin(), words.end());
  auto by_count = [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; };
  std::sort(sorted.begin(), sorted.end(), by_count);
  {
    std::map<std::string, std::size_t> initial, cont;
    for (const auto& [w, n] : sorted) {
      const auto cs = chars_of(w);
      for (std::size_t i = 0; i < cs.size(); ++i) (i == 0 ? initial : cont)[cs[i]] += n;
    }
    for (const auto& [c, n] : initial) add(c);
    for (const auto& [c, n] : cont) add("##" + c);
  }
  if (vocab.size() >= vocab_size) return vocab;
  const std::size_t word_budget = vocab.size() + (vocab_size - vocab.size()) * 4 / 5;
  std::size_t next = 0;
  for (; next < sorted.size() && vocab.size() < word_budget; ++next) {
    if (sorted[next].second < min_count) break;
    add(sorted[next].first);
  }
  std::unordered_map<std::string, std::size_t> pieces;
  for (std::size_t i = next; i < sorted.size(); ++i) {
    const auto cs = chars_of(sorted[i].first);
    for (std::size_t len = 2; len <= 6 && len <= cs.size(); ++len) {
      std::string prefix;
      for (std::size_t k = 0; k < len; ++k) prefix += cs[k];
      pieces[prefix] += sorted[i].second;
    }
    for (std::size_t start = 1; start < cs.size(); ++start)
      for (std::size_t len = 2; len <= 6 && start + len <= cs.size(); ++len) {
        std::string p = "##";
        for (std::size_t k = start; k < start + len; ++k) p += cs[k];
        pieces[p] += sorted[i].second;
      }
  }
  std::vector<std::pair<std::string, std::size_t>> ps(pieces.begin(), pieces.end());
  std::sort(ps.begin(), ps.end(), by_count);
  for (const auto& [p, n] : ps) {
    if (vocab.size() >= vocab_size) break;
    add(p);
  }
  return vocab;
}

}  // namespace vtrans::text
