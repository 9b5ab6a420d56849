#pragma once
// Line-oriented text files: whole-file reads checked to be UTF-8 (an error names the file and
// line), UTF-8 BOM stripping, CR/LF handling and the plain tab split GLUE needs (csv.reader with
// quotechar=None: a quote is an ordinary byte).
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "vtrans/data/error.hpp"
#include "vtrans/io/mapped_file.hpp"
#include "vtrans/text/unicode.hpp"

namespace vtrans::data {

// Larger data files should be streamed, not read whole.
inline constexpr std::uint64_t data_max_file_bytes = std::uint64_t{16} << 30;

inline void strip_utf8_bom(std::string& text) {
  if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF &&
      static_cast<unsigned char>(text[1]) == 0xBB && static_cast<unsigned char>(text[2]) == 0xBF)
    text.erase(0, 3);
}

// Throws data_error "file:line: invalid UTF-8 at byte offset N of the line: why" unless text is UTF-8.
inline void check_utf8(std::string_view text, const std::filesystem::path& file) {
  try {
    text::utf8_validate(text);
  } catch (const text::utf8_error& e) {
    const std::string_view before = text.substr(0, e.offset());
    const std::size_t line = 1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
    const std::size_t line_start = before.rfind('\n') == std::string_view::npos ? 0 : before.rfind('\n') + 1;
    std::string why = e.what();
    why = why.substr(why.find(": ") == std::string::npos ? 0 : why.find(": ") + 2);
    throw make_data_error(file, line, "invalid UTF-8 at byte offset " + std::to_string(e.offset() - line_start) + " of the line: " + why);
  }
}

// The file's text, BOM stripped, checked to be UTF-8.
inline std::string read_file_text(const std::filesystem::path& file) {
  std::string text = io::read_whole_file(file.string(), data_max_file_bytes);
  strip_utf8_bom(text);
  check_utf8(text, file);
  return text;
}

// Lines without their terminators ("\n" or "\r\n"); a final line without "\n" still counts,
// an empty trailing piece after the last "\n" does not. Line i is at 1-based line i+1.
inline std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::size_t stop = end;
    if (stop > start && text[stop - 1] == '\r') --stop;
    lines.emplace_back(text.substr(start, stop - start));
    start = end + 1;
  }
  return lines;
}

// BOM-stripped, UTF-8-checked lines of a file.
inline std::vector<std::string> read_lines(const std::filesystem::path& file) { return split_lines(read_file_text(file)); }

inline std::vector<std::string> split_tabs(std::string_view line) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  for (;;) {
    std::size_t tab = line.find('\t', start);
    if (tab == std::string_view::npos) {
      fields.emplace_back(line.substr(start));
      return fields;
    }
    fields.emplace_back(line.substr(start, tab - start));
    start = tab + 1;
  }
}

}  // namespace vtrans::data
