// Loading straight into the model: no random initialisation of what a checkpoint overwrites, a
// memory cap that refuses a checkpoint before anything is allocated, and sizes parsed strictly.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>

#include "reference/golden_models.hpp"
#include "vtrans/io/make_config.hpp"
#include "vtrans/nn/load.hpp"
#include "vtrans/nn/save.hpp"

using namespace vtrans;

namespace {
const std::string models_dir = vtrans_test::models_dir();

// A BERT classifier large enough that its matrices come from the cpu block cache (>= 64 KiB each).
std::string write_mid_sized_bert() {
  const std::string dir = (std::filesystem::temp_directory_path() / "vtrans_test_load_bert").string();
  io::fresh_model m;
  m.vocab_size = 1000;
  m.hidden_size = 128;
  m.intermediate_size = 512;
  m.labels = {"a", "b"};
  nn::transformer<nn::bert> model(io::make_config(io::family(nn::bert::spec), m), nn::head_kind::sequence_classification, 7);
  nn::save_pretrained(model, dir);
  return dir;
}

std::uint64_t block_cache_in_use() { return cpu_detail::block_cache::instance().stats().in_use; }
}  // namespace

TEST_CASE("a model loaded from a checkpoint draws no random numbers for its parameters") {
  for (const auto& name : vtrans_test::golden_models()) {
    INFO("model " << name);
    const std::string dir = models_dir + name;
    const auto config = io::load_config(dir + "/config.json");
    const auto head = nn::head_from_architectures(config.family, config.architectures, dir);
    // the counter sees the draws of a freshly initialised model of the same config ...
    const std::uint64_t before_fresh = nn::parameter_draws;
    const nn::transformer<nn::any_family> fresh(config, head);
    CHECK(nn::parameter_draws - before_fresh > 0);
    // ... and none while loading
    const std::uint64_t before = nn::parameter_draws;
    const auto loaded = nn::load_pretrained<nn::any_family>(dir);
    CHECK(nn::parameter_draws == before);
    CHECK(loaded.parameter_count() == fresh.parameter_count());
  }
}

TEST_CASE("loading fills every parameter with the checkpoint's values, read once into the model") {
  const std::string dir = write_mid_sized_bert();
  const io::checkpoint_reader reader(dir);
  const std::uint64_t in_use = block_cache_in_use();
  const auto model = nn::load_pretrained<nn::bert>(dir);
  // the model's own tensors and nothing else stay allocated
  std::uint64_t model_bytes = 0;
  for (const auto& [name, p] : model.parameters())
    if (p.numel() * vtrans::index(sizeof(float)) >= vtrans::index(cpu_detail::block_cache::min_cached)) model_bytes += (std::uint64_t(p.numel()) * 4 + 4095) / 4096 * 4096;
  CHECK(block_cache_in_use() - in_use == model_bytes);
  for (const auto& [name, p] : model.parameters()) {
    INFO(name);
    const auto want = reader.read<float>(reader.has(name) ? name : "bert." + name);
    CHECK(p.value().to_host() == want);
  }
}

TEST_CASE("a checkpoint bigger than the memory cap is refused before anything is allocated") {
  const std::string dir = write_mid_sized_bert();
  const io::checkpoint_reader reader(dir);
  const auto config = io::load_config(dir + "/config.json");
  const std::uint64_t need = nn::bytes_to_load(reader, config, sizeof(float));
  CHECK(need > 4 * 1000 * 128);  // at least the word embeddings

  nn::load_options cap;
  cap.memory_cap = need - 1;
  const std::uint64_t in_use = block_cache_in_use();
  const auto segments = cpu_detail::block_cache::instance().stats().segments_allocated;
  CHECK_THROWS_WITH_AS(nn::load_pretrained<nn::bert>(dir, cap), doctest::Contains((dir + "/model.safetensors: its tensors take " + std::to_string(need) + " bytes").c_str()),
                       resource_error);
  CHECK_THROWS_WITH_AS(nn::load_pretrained<nn::bert>(dir, cap), doctest::Contains(("more than the memory cap of " + std::to_string(need - 1)).c_str()), resource_error);
  CHECK(block_cache_in_use() == in_use);
  CHECK(cpu_detail::block_cache::instance().stats().segments_allocated == segments);

  cap.memory_cap = need;  // exactly enough
  CHECK(nn::load_pretrained<nn::bert>(dir, cap).parameter_count() * 4 == vtrans::index(need));

  // the same cap from the environment
  ::setenv(nn::memory_cap_variable, "1K", 1);
  CHECK_THROWS_WITH_AS(nn::load_pretrained<nn::bert>(dir), doctest::Contains("memory cap of 1024 bytes (VTRANS_MEMORY_CAP)"), resource_error);
  ::setenv(nn::memory_cap_variable, "lots", 1);
  CHECK_THROWS_WITH_AS(nn::load_pretrained<nn::bert>(dir), doctest::Contains("VTRANS_MEMORY_CAP: \"lots\" is not a size"), usage_error);
  ::unsetenv(nn::memory_cap_variable);
  CHECK(nn::load_pretrained<nn::bert>(dir).parameter_count() * 4 == vtrans::index(need));
}

TEST_CASE("memory sizes: bytes or K, M, G, T in powers of 1024") {
  CHECK(nn::parse_memory_size("512", "x") == 512);
  CHECK(nn::parse_memory_size("1.5K", "x") == 1536);
  CHECK(nn::parse_memory_size("2MiB", "x") == (std::uint64_t(2) << 20));
  CHECK(nn::parse_memory_size("8g", "x") == (std::uint64_t(8) << 30));
  CHECK(nn::parse_memory_size("3TB", "x") == (std::uint64_t(3) << 40));
  for (const char* bad : {"", "-1", " 5", "5X", "5KK", "inf", "nan", "G", "1e30T"}) {
    INFO(bad);
    CHECK_THROWS_WITH_AS(nn::parse_memory_size(bad, "--memory-cap"), doctest::Contains(("--memory-cap: \"" + std::string(bad) + "\" is not a size").c_str()), usage_error);
  }
}

TEST_CASE("tensors are read in file order, and their pages can be given back and read again") {
  const io::checkpoint_reader reader(models_dir + "llama-sharded");
  const auto order = reader.names_in_file_order();
  REQUIRE(order.size() == reader.names().size());
  for (std::size_t i = 1; i < order.size(); ++i) {
    const auto& a = reader.info(order[i - 1]);
    const auto& b = reader.info(order[i]);
    const bool same_shard = reader.shard_path(order[i - 1]) == reader.shard_path(order[i]);
    if (same_shard) CHECK(a.end <= b.begin);
  }
  for (const auto& name : order) {
    const auto first = reader.read<float>(name);
    reader.release(name);
    CHECK(reader.read<float>(name) == first);
  }
}
