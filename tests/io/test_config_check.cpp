// config.json against the checkpoint's tensor shapes, before any model is allocated.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "io_test_util.hpp"
#include "vtrans/io/config_check.hpp"

using namespace vtrans;
using io_test::temp_dir;
namespace fs = std::filesystem;

namespace {

const fs::path models = fs::path(VTRANS_TEST_DATA_DIR) / "models";

// A copy of a test model whose config.json has `key` set to `value`.
fs::path edited_copy(const temp_dir& d, const std::string& model, const std::string& key, const nlohmann::json& value) {
  const fs::path dir = d.path / model;
  fs::copy(models / model, dir, fs::copy_options::recursive);
  nlohmann::json j = nlohmann::json::parse(io_test::read_bytes((dir / "config.json").string()));
  j[key] = value;
  io_test::write_bytes((dir / "config.json").string(), j.dump());
  return dir;
}

}  // namespace

TEST_CASE("config_check: every test model's config implies exactly its checkpoint's shapes") {
  for (const auto& e : fs::directory_iterator(models)) {
    INFO(e.path().string());
    CHECK_NOTHROW(io::check_model_folder(e.path().string()));
  }
}

TEST_CASE("config_check: sizes that disagree with the weights are refused before allocation, naming tensor and key") {
  temp_dir d;
  const auto t0 = std::chrono::steady_clock::now();
  const fs::path vocab = edited_copy(d, "bert-cls", "vocab_size", 10000000);
  std::string m = io_test::format_error_of([&] { io::check_model_folder(vocab.string()); });
  CHECK_ERROR_NAMES(m, (vocab / "model.safetensors").string(), "word_embeddings.weight", "has shape [120, ", "vocab_size 10000000",
                    "implies [10000000, ");
  const fs::path ffn = edited_copy(d, "llama-gqa", "intermediate_size", 1 << 20);
  m = io_test::format_error_of([&] { io::check_model_folder(ffn.string()); });
  CHECK_ERROR_NAMES(m, "model.safetensors", "layers.0.mlp.gate_proj.weight", "intermediate_size 1048576", "implies [1048576, ");
  const fs::path gpt2 = edited_copy(d, "gpt2-lm", "n_inner", 100);
  m = io_test::format_error_of([&] { io::check_model_folder(gpt2.string()); });
  CHECK_ERROR_NAMES(m, "h.0.mlp.c_fc.weight", "n_inner 100");  // Conv1D weights are compared transposed
  const fs::path layers = edited_copy(d, "roberta-cls", "num_hidden_layers", 9);
  m = io_test::format_error_of([&] { io::check_model_folder(layers.string()); });
  CHECK_ERROR_NAMES(m, "missing tensor", "layer.2.", "config.json");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(seconds < 2.0);  // milliseconds in practice: nothing of the config's size is allocated
}
