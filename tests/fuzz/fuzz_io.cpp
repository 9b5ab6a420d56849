// Fuzz harnesses of the checkpoint loaders: a safetensors file, config.json, and a shard index
// with its two shards.
#include <string>
#include <vector>

#include "fuzz_harness.hpp"
#include "vtrans/io/checkpoint_reader.hpp"
#include "vtrans/io/model_config.hpp"
#include "vtrans/io/safetensors.hpp"

namespace {

using namespace vtrans;

// Every tensor decoded, as a model load would.
template <class Reader>
void read_all(const Reader& r) {
  for (const auto& name : r.names()) {
    const auto& info = r.info(name);
    if (io::is_floating(info.dtype)) (void)r.template read<float>(name);
    else (void)r.template read<std::int64_t>(name);
  }
}

const std::vector<std::string> json_words{
    "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u0000", "\\ud800", "null", "true", "-1", "0", "1.5", "1e999", "-0",
    "4294967301", "2147483648", "9223372036854775808", "18446744073709551615", "99999999999999999999999", "\xC3", "\xFF",
    "\xED\xA0\x80", "[[[[[[[[[[[[", "]]]]]]]]]]]]", "{\"a\":{\"a\":{\"a\":"};

std::vector<std::string> with(std::vector<std::string> words) {
  words.insert(words.end(), json_words.begin(), json_words.end());
  return words;
}

// Two small shards the index fuzzer maps its tensors into.
std::string shard(const std::string& header, std::size_t data_bytes) {
  std::string h = header;
  std::string size(8, '\0');
  for (int i = 0; i < 8; ++i) size[static_cast<std::size_t>(i)] = static_cast<char>((h.size() >> (8 * i)) & 0xff);
  return size + h + std::string(data_bytes, '\x01');
}
const std::string shard1 = shard(R"({"embed.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"layer.0.w":{"dtype":"BF16","shape":[2],"data_offsets":[16,20]}})", 20);
const std::string shard2 = shard(R"({"__metadata__":{"format":"pt"},"norm.weight":{"dtype":"F16","shape":[3],"data_offsets":[0,6]}})", 6);

VTRANS_FUZZ_HARNESS({"safetensors", "a .safetensors file (header and data)",
                     [](std::string_view in) { return vtrans_fuzz::files{{"model.safetensors", std::string(in)}}; },
                     [](const std::filesystem::path& dir, std::string_view) { read_all(io::safetensors_file((dir / "model.safetensors").string())); },
                     with({"\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"__metadata__\"", "\"F32\"", "\"F16\"", "\"BF16\"",
                           "\"I64\"", "\"BOOL\"", "\"U8\"", "\"F64\"", "\"F8_E4M3\"", std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8),
                           std::string("\x00\x00\x00\x00\x00\x00\x00\x00", 8)})});

VTRANS_FUZZ_HARNESS({"config", "config.json (io::load_config)",
                     [](std::string_view in) { return vtrans_fuzz::files{{"config.json", std::string(in)}}; },
                     [](const std::filesystem::path& dir, std::string_view) {
                       const auto c = io::load_config((dir / "config.json").string());
                       (void)io::to_json(c).dump();
                     },
                     with({"\"model_type\"", "\"bert\"", "\"roberta\"", "\"gpt2\"", "\"llama\"", "\"hidden_size\"",
                           "\"num_hidden_layers\"", "\"num_attention_heads\"", "\"num_key_value_heads\"", "\"intermediate_size\"",
                           "\"vocab_size\"", "\"max_position_embeddings\"", "\"pruned_heads\"", "\"per_layer_config\"",
                           "\"id2label\"", "\"label2id\"", "\"layer_norm_eps\"", "\"rope_scaling\"", "\"head_dim\"", "\"n_embd\"",
                           "\"n_layer\"", "\"n_head\"", "\"n_inner\"", "\"eos_token_id\"", "\"architectures\""})});

VTRANS_FUZZ_HARNESS({"shard_index", "model.safetensors.index.json beside two valid shards (io::checkpoint_reader)",
                     [](std::string_view in) {
                       return vtrans_fuzz::files{{"model.safetensors.index.json", std::string(in)},
                                                 {"model-00001-of-00002.safetensors", shard1},
                                                 {"model-00002-of-00002.safetensors", shard2}};
                     },
                     [](const std::filesystem::path& dir, std::string_view) { read_all(io::checkpoint_reader(dir.string())); },
                     with({"\"weight_map\"", "\"metadata\"", "\"model-00001-of-00002.safetensors\"",
                           "\"model-00002-of-00002.safetensors\"", "\"embed.weight\"", "\"layer.0.w\"", "\"norm.weight\"", "\"../x\"",
                           "\"/etc/passwd\"", "\"\"", "\".\""})});

}  // namespace
