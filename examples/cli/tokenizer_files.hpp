#pragma once
// The files that make up a Hugging Face tokenizer, so that a model folder written by the CLI is
// as usable as the one it came from.
#include <filesystem>
#include <string>
#include <vector>

namespace vtrans::cli {

inline const std::vector<std::string>& tokenizer_file_names() {
  static const std::vector<std::string> names{"tokenizer.json",  "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
                                              "vocab.json",      "merges.txt",            "encoder.json",            "vocab.bpe",
                                              "tokenizer.model", "added_tokens.json"};
  return names;
}

inline bool has_tokenizer_files(const std::filesystem::path& dir) {
  for (const auto& n : tokenizer_file_names())
    if (std::filesystem::is_regular_file(dir / n)) return true;
  return false;
}

// Copies the tokenizer files (and any `extra` files) that exist in `from` into `to`.
inline void copy_tokenizer_files(const std::filesystem::path& from, const std::filesystem::path& to, const std::vector<std::string>& extra = {}) {
  auto copy = [&](const std::string& n) {
    if (std::filesystem::is_regular_file(from / n)) std::filesystem::copy_file(from / n, to / n, std::filesystem::copy_options::overwrite_existing);
  };
  for (const auto& n : tokenizer_file_names()) copy(n);
  for (const auto& n : extra) copy(n);
}

}  // namespace vtrans::cli
