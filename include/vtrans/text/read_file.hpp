#pragma once
// Whole-file reads for tokenizer files, with errors that name the file and a size cap.
#include <cstdint>
#include <filesystem>
#include <string>

#include "vtrans/io/json.hpp"
#include "vtrans/io/mapped_file.hpp"

namespace vtrans::text {

inline std::string read_file(const std::filesystem::path& path) {
  return io::read_whole_file(path.string(), io::json_max_file_bytes);
}

// A tokenizer JSON file, parsed strictly (duplicate keys refused).
inline nlohmann::json read_json(const std::filesystem::path& path) { return io::read_json_file(path.string()); }

}  // namespace vtrans::text
