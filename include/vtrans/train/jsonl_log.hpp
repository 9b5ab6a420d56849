#pragma once
// A metrics log: one JSON object per line, appended and flushed line by line so a crashed or
// still-running job leaves a readable file (tail -f, pandas.read_json(lines=True)).
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vtrans/error.hpp"

namespace vtrans::train {

class jsonl_log {
 public:
  // Creates missing parent folders; appends unless `truncate`.
  explicit jsonl_log(const std::filesystem::path& file, bool truncate = false) : path_(file) {
    if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
    out_.open(file, truncate ? std::ios::out | std::ios::trunc : std::ios::out | std::ios::app);
    if (!out_) throw std::runtime_error("vtrans::train::jsonl_log: cannot open " + file.string());
  }

  // Writes `record` (must be an object) as one compact line and flushes.
  void write(const nlohmann::json& record) {
    if (!record.is_object()) throw vtrans::usage_error("vtrans::train::jsonl_log: a record must be a JSON object");
    out_ << record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    out_.flush();
    if (!out_) throw std::runtime_error("vtrans::train::jsonl_log: write failed on " + path_.string());
    ++lines_;
  }

  const std::filesystem::path& path() const { return path_; }
  std::size_t lines_written() const { return lines_; }

 private:
  std::filesystem::path path_;
  std::ofstream out_;
  std::size_t lines_ = 0;
};

// Every record of a JSONL file (blank lines skipped).
inline std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("vtrans::train::read_jsonl: cannot open " + file.string());
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace vtrans::train
