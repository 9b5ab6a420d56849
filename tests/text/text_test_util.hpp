#pragma once
// Shared helpers of the text tests: test data paths, JSON-lines goldens, scratch files.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "vtrans/error.hpp"

namespace text_test {

inline std::filesystem::path data(const std::string& rel) { return std::filesystem::path(VTRANS_TEST_DATA_DIR) / "text" / rel; }

inline std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& p) {
  std::ifstream in(p);
  if (!in) throw std::runtime_error("cannot open " + p.string());
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

// A fresh folder under the build tree for files a test writes.
inline std::filesystem::path scratch(const std::string& name) {
  auto dir = std::filesystem::path(VTRANS_BINARY_DIR) / "test_text_scratch" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline void write(const std::filesystem::path& p, const std::string& content) {
  std::ofstream out(p, std::ios::binary);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

inline std::string read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The message of the vtrans::error f throws (empty if none); any other exception fails the test.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const vtrans::error& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL("expected a vtrans::error, got: " << std::string(e.what()));
  }
  return {};
}

}  // namespace text_test
