#pragma once
// Line-oriented text files: whole-file reads, UTF-8 BOM stripping, CR/LF handling and the
// plain tab split GLUE needs (csv.reader with quotechar=None: a quote is an ordinary byte).
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "vtrans/data/error.hpp"

namespace vtrans::data {

inline std::string read_file_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw make_data_error(file, 0, "cannot open file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void strip_utf8_bom(std::string& text) {
  if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF &&
      static_cast<unsigned char>(text[1]) == 0xBB && static_cast<unsigned char>(text[2]) == 0xBF)
    text.erase(0, 3);
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

// BOM-stripped lines of a file.
inline std::vector<std::string> read_lines(const std::filesystem::path& file) {
  std::string text = read_file_text(file);
  strip_utf8_bom(text);
  return split_lines(text);
}

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
