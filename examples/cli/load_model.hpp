#pragma once
// The one way the program loads a model folder: config.json is checked against its limits
// (io::load_config) and against the checkpoint's tensor shapes (io/config_check.hpp) before a
// model of the config's size is allocated, so a wrong size fails in milliseconds, not after
// gigabytes of initialisation. Inputs are checked against the model's tables before a forward
// pass the same way.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "vtrans/data/encode.hpp"
#include "vtrans/error.hpp"
#include "vtrans/io/config_check.hpp"
#include "vtrans/nn/load.hpp"

namespace vtrans::cli {

// The program's model on backend B (device.hpp): any family, no masks, float products.
template <class B>
using model_on = nn::transformer<nn::any_family, masks::none, B, float>;

// --dtype of the commands that run a model: how its layer matrices are kept in memory.
inline nn::matrix_dtype parse_matrix_dtype(const std::string& dtype) {
  if (dtype == "auto") return nn::matrix_dtype::as_stored;
  if (dtype == "float32") return nn::matrix_dtype::compute;
  if (dtype == "bfloat16") return nn::matrix_dtype::bf16;
  if (dtype == "float16") return nn::matrix_dtype::f16;
  throw usage_error("--dtype must be auto, float32, bfloat16 or float16, not \"" + dtype + "\"");
}
inline constexpr const char* matrix_dtype_help =
    "the layers' weight matrices in memory: auto (BF16 / F16 as the checkpoint stores them, else float32), float32, bfloat16, "
    "float16; products are computed in float32 either way";

template <class B>
model_on<B> load_model(const std::string& dir, const nn::load_options& load = {}) {
  return nn::load_pretrained<nn::any_family, B>(dir, load);
}

// Token ids and segment ids inside the model's tables, and a length within its positions
// (max_position_embeddings also for rotary families: attention past it is untrained and its
// score matrices grow with the square of the length). `where` names the input in messages.
inline void check_model_input(const io::model_config& c, const std::vector<std::int32_t>& ids, const std::vector<std::int32_t>& types,
                              index length, const std::string& where) {
  const index limit = io::max_sequence_length(c);
  if (length > limit)
    throw usage_error(where + ": " + std::to_string(length) + " tokens, but the model takes at most " + std::to_string(limit) +
                      " (max_position_embeddings " + std::to_string(c.max_positions) + ")");
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= c.vocab_size)
      throw usage_error(where + ": token id " + std::to_string(ids[i]) + " (position " + std::to_string(i) + ") outside the vocabulary [0, " +
                        std::to_string(c.vocab_size) + ")");
  const index segments = std::max<index>(1, c.type_vocab_size);
  for (std::size_t i = 0; i < types.size(); ++i)
    if (types[i] < 0 || types[i] >= segments)
      throw usage_error(where + ": token type id " + std::to_string(types[i]) + " (position " + std::to_string(i) + ") outside [0, " +
                        std::to_string(segments) + ")");
}

// The same for a tokenized split, each sequence as the model will see it (cut to max_length).
inline void check_model_input(const io::model_config& c, const std::vector<data::sequence>& split, index max_length, const std::string& where) {
  const index limit = io::max_sequence_length(c);
  if (max_length > limit)
    throw usage_error(where + ": sequences of up to " + std::to_string(max_length) + " tokens, but the model takes at most " +
                      std::to_string(limit) + " (max_position_embeddings " + std::to_string(c.max_positions) + ")");
  for (const auto& s : split) check_model_input(c, s.ids, s.token_type_ids, 0, where + ", example " + s.id);
}

}  // namespace vtrans::cli
