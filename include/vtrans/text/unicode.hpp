#pragma once
// UTF-8 coding and the few Unicode properties the tokenizers need, from generated range tables.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "vtrans/error.hpp"
#include "vtrans/text/unicode_tables.hpp"

namespace vtrans::text {

// Thrown for bytes that are not well-formed UTF-8; offset is the first bad byte. Readers of files
// catch it and name the file and line.
class utf8_error : public format_error {
 public:
  utf8_error(const std::string& what, std::size_t offset) : format_error(what), offset_(offset) {}
  std::size_t offset() const noexcept { return offset_; }

 private:
  std::size_t offset_;
};

// Decodes one code point at s[pos], advancing pos. Strict: rejects overlong forms, surrogates,
// values above U+10FFFF and truncated sequences (RFC 3629).
inline char32_t utf8_next(std::string_view s, std::size_t& pos) {
  const auto fail = [&](const char* why) -> char32_t {
    throw utf8_error("invalid UTF-8 at byte offset " + std::to_string(pos) + ": " + why, pos);
  };
  const auto b0 = static_cast<unsigned char>(s[pos]);
  if (b0 < 0x80) {
    ++pos;
    return b0;
  }
  std::size_t len = 0;
  char32_t cp = 0, min = 0;
  if ((b0 & 0xE0) == 0xC0) len = 2, cp = b0 & 0x1F, min = 0x80;
  else if ((b0 & 0xF0) == 0xE0) len = 3, cp = b0 & 0x0F, min = 0x800;
  else if ((b0 & 0xF8) == 0xF0) len = 4, cp = b0 & 0x07, min = 0x10000;
  else return fail((b0 & 0xC0) == 0x80 ? "unexpected continuation byte" : "invalid lead byte");
  if (s.size() - pos < len) return fail("truncated sequence");
  for (std::size_t i = 1; i < len; ++i) {
    const auto b = static_cast<unsigned char>(s[pos + i]);
    if ((b & 0xC0) != 0x80) return fail("missing continuation byte");
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min) return fail("overlong encoding");
  if (cp >= 0xD800 && cp <= 0xDFFF) return fail("encoded surrogate");
  if (cp > 0x10FFFF) return fail("code point above U+10FFFF");
  pos += len;
  return cp;
}

inline std::u32string utf8_decode(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (std::size_t pos = 0; pos < s.size();) out.push_back(utf8_next(s, pos));
  return out;
}

inline void utf8_append(std::string& out, char32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    throw usage_error("utf8_append: not a Unicode scalar value: " + std::to_string(static_cast<std::uint32_t>(cp)));
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

inline std::string utf8_encode(std::u32string_view cps) {
  std::string out;
  out.reserve(cps.size());
  for (char32_t cp : cps) utf8_append(out, cp);
  return out;
}

// Throws utf8_error unless s is well-formed UTF-8.
inline void utf8_validate(std::string_view s) {
  for (std::size_t pos = 0; pos < s.size();) utf8_next(s, pos);
}

namespace unicode_detail {
template <std::size_t N>
bool in(const unicode_tables::range (&table)[N], char32_t cp) {
  auto it = std::upper_bound(std::begin(table), std::end(table), static_cast<std::uint32_t>(cp),
                             [](std::uint32_t v, const unicode_tables::range& r) { return v < r.first; });
  return it != std::begin(table) && cp <= std::prev(it)->last;
}
}  // namespace unicode_detail

inline bool is_letter(char32_t cp) { return cp < 0x80 ? ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') : unicode_detail::in(unicode_tables::letter, cp); }
inline bool is_number(char32_t cp) { return cp < 0x80 ? (cp >= '0' && cp <= '9') : unicode_detail::in(unicode_tables::number, cp); }
inline bool is_unicode_punctuation(char32_t cp) { return unicode_detail::in(unicode_tables::punctuation, cp); }
inline bool is_other(char32_t cp) { return unicode_detail::in(unicode_tables::other, cp); }  // C*
inline bool is_space_separator(char32_t cp) { return unicode_detail::in(unicode_tables::space_separator, cp); }
inline bool is_nonspacing_mark(char32_t cp) { return unicode_detail::in(unicode_tables::nonspacing_mark, cp); }

// Unicode White_Space (PropList.txt): what \s means in Python's `regex` and in HF tokenizers.
inline bool is_white_space(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

// BERT: space, \t \n \r and Zs count as whitespace.
inline bool is_bert_whitespace(char32_t cp) {
  return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || is_space_separator(cp);
}

// BERT / HF BertNormalizer: every C* character except \t \n \r (HF uses C*, Google's first release Cc/Cf).
inline bool is_bert_control(char32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  return is_other(cp);
}

// BERT: all non-alphanumeric printable ASCII, plus Unicode P*.
inline bool is_bert_punctuation(char32_t cp) {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126))
    return true;
  return cp >= 0x80 && is_unicode_punctuation(cp);
}

// The "CJK Unified Ideographs" blocks BERT pads with spaces (not Hiragana, Katakana, Hangul).
inline bool is_cjk_ideograph(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
         (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

// Simple lower-case mapping of one code point (no context; see to_lower for Final_Sigma).
inline char32_t simple_lower(char32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  const auto& runs = unicode_tables::lower;
  auto it = std::upper_bound(std::begin(runs), std::end(runs), static_cast<std::uint32_t>(cp),
                             [](std::uint32_t v, const unicode_tables::lower_run& r) { return v < r.first; });
  if (it == std::begin(runs)) return cp;
  const auto& r = *std::prev(it);
  const std::uint32_t off = static_cast<std::uint32_t>(cp) - r.first;
  if (off % r.stride != 0 || off / r.stride >= r.count) return cp;
  return static_cast<char32_t>(static_cast<std::int64_t>(cp) + r.delta);
}

// Full lower-casing as Python's str.lower(): simple mappings, U+0130 -> "i\u0307", and capital
// sigma -> final sigma at the end of a word (approximated: after a letter, not before one,
// skipping nonspacing marks).
inline std::u32string to_lower(std::u32string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char32_t cp = s[i];
    if (cp == 0x130) {
      out += U'i';
      out += char32_t{0x307};
    } else if (cp == 0x3A3) {
      bool before = false, after = false;
      for (std::size_t j = i; j-- > 0;) {
        if (is_nonspacing_mark(s[j])) continue;
        before = is_letter(s[j]);
        break;
      }
      for (std::size_t j = i + 1; j < s.size(); ++j) {
        if (is_nonspacing_mark(s[j])) continue;
        after = is_letter(s[j]);
        break;
      }
      out += (before && !after) ? char32_t{0x3C2} : char32_t{0x3C3};
    } else {
      out += simple_lower(cp);
    }
  }
  return out;
}

// NFD followed by dropping nonspacing marks (BERT's _run_strip_accents), per code point.
inline void append_stripped(std::u32string& out, char32_t cp) {
  if (cp >= 0xAC00 && cp <= 0xD7A3) {  // Hangul syllable: algorithmic decomposition into jamo
    const char32_t s = cp - 0xAC00;
    out += static_cast<char32_t>(0x1100 + s / (21 * 28));
    out += static_cast<char32_t>(0x1161 + (s % (21 * 28)) / 28);
    if (s % 28 != 0) out += static_cast<char32_t>(0x11A7 + s % 28);
    return;
  }
  if (cp < 0xC0) {
    out += cp;
    return;
  }
  if (is_nonspacing_mark(cp)) return;
  const auto& table = unicode_tables::strip_accents;
  auto it = std::lower_bound(std::begin(table), std::end(table), static_cast<std::uint32_t>(cp),
                             [](const unicode_tables::strip_entry& e, std::uint32_t v) { return e.cp < v; });
  if (it == std::end(table) || it->cp != cp) {
    out += cp;
    return;
  }
  for (std::uint32_t c : it->out)
    if (c != 0) out += static_cast<char32_t>(c);
}

inline std::u32string strip_accents(std::u32string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (char32_t cp : s) append_stripped(out, cp);
  return out;
}

}  // namespace vtrans::text
