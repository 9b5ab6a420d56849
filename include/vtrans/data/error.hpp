#pragma once
// The exception the data readers throw for bad content: a vtrans::format_error whose message
// always names the file and, where it applies, the 1-based line, so a malformed row can be found
// without a debugger.
#include <cstddef>
#include <filesystem>
#include <string>

#include "vtrans/error.hpp"

namespace vtrans::data {

struct data_error : format_error {
  using format_error::format_error;
};

// "file:line" (line 0 = the file as a whole, just "file").
inline std::string file_line(const std::filesystem::path& file, std::size_t line) {
  return line > 0 ? file.string() + ":" + std::to_string(line) : file.string();
}

// "file:line: what".
inline data_error make_data_error(const std::filesystem::path& file, std::size_t line, const std::string& what) {
  return data_error(file_line(file, line) + ": " + what);
}

}  // namespace vtrans::data
