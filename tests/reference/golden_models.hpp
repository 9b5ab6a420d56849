#pragma once
// The checkpoint folders make_checkpoints.py writes under tests/data/models, for tests that run
// over every family's reference models.
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace vtrans_test {

inline std::string models_dir() { return std::string(VTRANS_TEST_DATA_DIR) + "/models/"; }

// Every checkpoint folder, sorted by name.
inline std::vector<std::string> golden_models() {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(models_dir()))
    if (e.is_directory()) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace vtrans_test
