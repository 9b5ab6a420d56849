#pragma once
// A task's split tokenized for a model: specials around each sequence (encoders), truncation,
// and language-model text cut into windows.
#include <cstdint>
#include <vector>

#include "tasks.hpp"
#include "vtrans/data/encode.hpp"
#include "vtrans/io/family.hpp"
#include "vtrans/text/tokenizer.hpp"

namespace vtrans::cli {

struct encoding_setup {
  bool encoder = true;  // [CLS] ... [SEP] around every sequence (families without causal attention)
  index max_length = 128;
  std::int32_t cls = -1, sep = -1;
  std::int32_t pair_type = 1;  // segment id of a pair's second text: 0 where the family has one segment type
};

encoding_setup make_encoding_setup(io::family f, const text::tokenizer& tok, index max_length);

std::vector<data::sequence> encode_split(const task_spec& spec, split_items items, const text::tokenizer& tok, const encoding_setup& e);

}  // namespace vtrans::cli
