#pragma once
// The one exception the data readers throw: the message always names the file and, where
// it applies, the 1-based line, so a malformed row can be found without a debugger.
#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace vtrans::data {

struct data_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "file:line: what" (line 0 = the file as a whole).
inline data_error make_data_error(const std::filesystem::path& file, std::size_t line, const std::string& what) {
  std::string msg = file.string();
  if (line > 0) msg += ":" + std::to_string(line);
  return data_error(msg + ": " + what);
}

}  // namespace vtrans::data
