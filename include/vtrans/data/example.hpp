#pragma once
// A text classification / regression example as every reader here returns it, and the
// callable that turns text into token ids (tokenizers live elsewhere; data code only calls).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace vtrans::data {

// Text -> token ids, without special tokens (they are added by the encoder).
using tokenize_fn = std::function<std::vector<std::int32_t>(const std::string&)>;

struct example {
  std::string id;                     // stable identifier (file index column or line number)
  std::string text_a;
  std::optional<std::string> text_b;  // second sentence of a pair task
  std::optional<int> label;           // class index; empty for regression and unlabelled test rows
  std::optional<float> score;         // regression target (STS-B); empty otherwise
  std::string origin;                 // "file:line" it was read from, for messages ("" if none)

  bool has_target() const { return label.has_value() || score.has_value(); }
};

}  // namespace vtrans::data
