#pragma once
// The three fixed dataset splits and their names.
#include <string>
#include <string_view>

#include "vtrans/error.hpp"

namespace vtrans::data {

enum class data_split { train, dev, test };

inline const char* split_name(data_split s) {
  switch (s) {
    case data_split::train: return "train";
    case data_split::dev: return "dev";
    case data_split::test: return "test";
  }
  return "?";
}

inline data_split parse_split(std::string_view name) {
  if (name == "train") return data_split::train;
  if (name == "dev" || name == "valid" || name == "validation") return data_split::dev;
  if (name == "test") return data_split::test;
  throw usage_error("vtrans::data: unknown split '" + std::string(name) + "' (train, dev, test)");
}

}  // namespace vtrans::data
