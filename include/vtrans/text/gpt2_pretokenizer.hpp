#pragma once
// GPT-2's pre-split pattern, by hand (no regex engine):
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// with \s = Unicode White_Space (as in Python's `regex` and HF tokenizers).
#include <cstddef>
#include <string_view>
#include <vector>

#include "vtrans/text/unicode.hpp"

namespace vtrans::text {

// Splits UTF-8 text into the pattern's matches (views into text). Throws utf8_error on bad bytes.
inline std::vector<std::string_view> gpt2_pre_tokenize(std::string_view text) {
  std::vector<char32_t> cps;
  std::vector<std::size_t> at;  // byte offset of each code point, plus the end
  cps.reserve(text.size());
  at.reserve(text.size() + 1);
  for (std::size_t pos = 0; pos < text.size();) {
    at.push_back(pos);
    cps.push_back(utf8_next(text, pos));
  }
  at.push_back(text.size());
  const std::size_t n = cps.size();
  enum cls_t { letter, number, space, other };
  std::vector<unsigned char> cls(n);
  for (std::size_t i = 0; i < n; ++i) {
    const char32_t c = cps[i];
    cls[i] = is_letter(c) ? letter : is_number(c) ? number : is_white_space(c) ? space : other;
  }
  const auto run_end = [&](std::size_t i, int k) {
    while (i < n && cls[i] == k) ++i;
    return i;
  };

  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < n) {
    std::size_t end = i;
    if (cps[i] == '\'' && i + 1 < n) {  // contractions (case-sensitive, as in GPT-2)
      const char32_t a = cps[i + 1], b = i + 2 < n ? cps[i + 2] : 0;
      if (a == 's' || a == 't' || a == 'm' || a == 'd') end = i + 2;
      else if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) end = i + 3;
    }
    if (end == i) {
      // " ?X+" for X in letters, numbers, others: an optional literal space, then a run.
      const std::size_t j = (cps[i] == ' ' && i + 1 < n && cls[i + 1] != space) ? i + 1 : i;
      if (cls[j] != space) {
        end = run_end(j, cls[j]);
      } else {
        // Whitespace: \s+(?!\S) leaves the last space for the next word; else \s+.
        const std::size_t k = run_end(i, space);
        end = (k == n || k - i == 1) ? k : k - 1;
      }
    }
    out.emplace_back(text.data() + at[i], at[end] - at[i]);
    i = end;
  }
  return out;
}

}  // namespace vtrans::text
