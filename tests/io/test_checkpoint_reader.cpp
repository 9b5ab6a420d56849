#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "io_test_util.hpp"
#include "vtrans/io/checkpoint_reader.hpp"

using namespace vtrans::io;
using io_test::format_error_of;
using io_test::temp_dir;
using io_test::write_bytes;

namespace {

// Two shards and their index, as transformers' save_pretrained lays them out.
void write_sharded(const temp_dir& d) {
  write_safetensors(d.file("model-00001-of-00002.safetensors"),
                    std::vector<named_tensor>{{"embed.weight", {2, 2}, {1, 2, 3, 4}}, {"layer.0.w", {2}, {5, 6}}});
  write_safetensors(d.file("model-00002-of-00002.safetensors"),
                    std::vector<named_tensor>{{"layer.1.w", {2}, {7, 8}}, {"norm.weight", {1}, {9}}});
  write_bytes(d.file("model.safetensors.index.json"), R"({
    "metadata": {"total_size": 36},
    "weight_map": {
      "embed.weight": "model-00001-of-00002.safetensors",
      "layer.0.w": "model-00001-of-00002.safetensors",
      "layer.1.w": "model-00002-of-00002.safetensors",
      "norm.weight": "model-00002-of-00002.safetensors"
    }})");
}

}  // namespace

TEST_CASE("checkpoint_reader: a folder with a single model.safetensors") {
  temp_dir d;
  write_safetensors(d.file("model.safetensors"), std::vector<named_tensor>{{"w", {3}, {1, 2, 3}}});
  checkpoint_reader r(d.path.string());
  CHECK(r.shard_count() == 1);
  CHECK(r.names() == std::vector<std::string>{"w"});
  CHECK(r.read<float>("w") == std::vector<float>{1, 2, 3});
  CHECK(r.metadata().at("format") == "pt");
  CHECK(checkpoint_reader(d.file("model.safetensors")).has("w"));
}

TEST_CASE("checkpoint_reader: sharded checkpoint reads across shards") {
  temp_dir d;
  write_sharded(d);
  for (const std::string& where : {d.path.string(), d.file("model.safetensors.index.json")}) {
    checkpoint_reader r(where);
    CHECK(r.shard_count() == 2);
    CHECK(r.names() == std::vector<std::string>{"embed.weight", "layer.0.w", "layer.1.w", "norm.weight"});
    CHECK(r.read<float>("embed.weight") == std::vector<float>{1, 2, 3, 4});
    CHECK(r.read<double>("layer.1.w") == std::vector<double>{7, 8});
    CHECK(r.info("norm.weight").shape == std::vector<std::int64_t>{1});
    CHECK(io_test::contains(r.shard_path("norm.weight"), "model-00002-of-00002.safetensors"));
    CHECK_FALSE(r.has("lm_head.weight"));
    CHECK_ERROR_NAMES(format_error_of([&] { r.read<float>("lm_head.weight"); }), "model.safetensors.index.json",
                      "\"lm_head.weight\"");
  }
}

TEST_CASE("checkpoint_reader: index naming a missing shard") {
  temp_dir d;
  write_sharded(d);
  std::filesystem::remove(d.file("model-00002-of-00002.safetensors"));
  const std::string idx = d.file("model.safetensors.index.json");
  CHECK_ERROR_NAMES(format_error_of([&] { checkpoint_reader r(d.path.string()); }), idx,
                    "model-00002-of-00002.safetensors", "does not exist", "layer.1.w");
}

TEST_CASE("checkpoint_reader: index mapping a tensor to a shard that lacks it") {
  temp_dir d;
  write_sharded(d);
  const std::string idx = d.file("model.safetensors.index.json");
  write_bytes(idx, R"({"weight_map": {"embed.weight": "model-00002-of-00002.safetensors"}})");
  CHECK_ERROR_NAMES(format_error_of([&] { checkpoint_reader r(idx); }), idx, "\"embed.weight\"",
                    "model-00002-of-00002.safetensors", "does not contain");
}

TEST_CASE("checkpoint_reader: malformed indexes") {
  temp_dir d;
  write_sharded(d);
  const std::string idx = d.file("model.safetensors.index.json");
  write_bytes(idx, R"({"weight_map": ["a"]})");
  CHECK_ERROR_NAMES(format_error_of([&] { checkpoint_reader r(idx); }), idx, "weight_map");
  write_bytes(idx, R"({"metadata": {}})");
  CHECK_ERROR_NAMES(format_error_of([&] { checkpoint_reader r(idx); }), idx, "weight_map");
  write_bytes(idx, R"({"weight_map": {"w": 3}})");
  CHECK_ERROR_NAMES(format_error_of([&] { checkpoint_reader r(idx); }), idx, "\"w\"");
  write_bytes(idx, R"({"weight_map": {"w": "../elsewhere.safetensors"}})");
  CHECK_ERROR_NAMES(format_error_of([&] { checkpoint_reader r(idx); }), idx, "\"w\"", "../elsewhere.safetensors");
  write_bytes(idx, R"({"weight_map": {"w": "model-0000)");
  CHECK_ERROR_NAMES(format_error_of([&] { checkpoint_reader r(idx); }), idx, "not valid JSON");
}

TEST_CASE("checkpoint_reader: a corrupt shard reports the shard's path") {
  temp_dir d;
  write_sharded(d);
  const std::string shard = d.file("model-00002-of-00002.safetensors");
  write_bytes(shard, "abc");
  CHECK_ERROR_NAMES(format_error_of([&] { checkpoint_reader r(d.path.string()); }), shard, "3 bytes");
}

TEST_CASE("checkpoint_reader: a folder without weights is a file_error naming the folder") {
  temp_dir d;
  try {
    checkpoint_reader r(d.path.string());
    FAIL("expected file_error");
  } catch (const file_error& e) {
    CHECK(io_test::contains(e.what(), d.path.string()));
    CHECK(io_test::contains(e.what(), "model.safetensors"));
  }
}
