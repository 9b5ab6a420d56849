// The strict JSON parse every reader uses, and the caps and linear-time parsing of the checkpoint
// readers: duplicate keys, deep nesting, oversized files and headers are vtrans errors naming the
// file and the key or limit; a refused file is left as it was.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "io_test_util.hpp"
#include "vtrans/io/checkpoint_reader.hpp"
#include "vtrans/io/json.hpp"
#include "vtrans/io/model_config.hpp"
#include "vtrans/io/npy.hpp"

using namespace vtrans::io;
using io_test::error_of;
using io_test::format_error_of;
using io_test::temp_dir;
using io_test::write_bytes;

namespace {

std::string parse_error(const std::string& text) {
  return format_error_of([&] { parse_json(text, "dir/x.json"); });
}

// Seconds taken by f.
template <class F>
double seconds(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A safetensors header of n one-element F32 tensors "t0000000"...; their 4n-byte buffer.
std::string many_tensors(std::size_t n) {
  std::string h = "{";
  for (std::size_t i = 0; i < n; ++i) {
    std::string name = std::to_string(i);
    name = "t" + std::string(7 - name.size(), '0') + name;
    h += (i ? ",\"" : "\"") + name + R"(":{"dtype":"F32","shape":[1],"data_offsets":[)" + std::to_string(4 * i) + "," +
         std::to_string(4 * i + 4) + "]}";
  }
  return io_test::safetensors_bytes(h + "}", std::string(4 * n, '\0'));
}

}  // namespace

TEST_CASE("parse_json: values as nlohmann parses them") {
  const auto j = parse_json(R"({"a": [1, -2, 3.5, true, null, "s"], "b": {"c": {}}, "d": []})", "x.json");
  CHECK(j == nlohmann::json::parse(R"({"a": [1, -2, 3.5, true, null, "s"], "b": {"c": {}}, "d": []})"));
  CHECK(parse_json("7", "x.json") == 7);
  CHECK(parse_json(R"([[1], [2, [3]]])", "x.json") == nlohmann::json::parse("[[1], [2, [3]]]"));
}

TEST_CASE("parse_json: duplicate keys are refused at every level, naming the key and where") {
  CHECK_ERROR_NAMES(parse_error(R"({"a": 1, "a": 2})"), "dir/x.json", "duplicate key \"a\"", "top-level");
  CHECK_ERROR_NAMES(parse_error(R"({"model": {"vocab": {"x": 0, "y": 1, "x": 2}}})"), "dir/x.json", "duplicate key \"x\"",
                    "\"model\".\"vocab\"");
  CHECK_ERROR_NAMES(parse_error(R"({"l": [{"k": 1}, {"k": 1, "k": 2}]})"), "dir/x.json", "duplicate key \"k\"", "\"l\"[1]");
  // The same key in sibling objects is fine.
  CHECK(parse_json(R"({"a": {"k": 1}, "b": {"k": 2}})", "x.json")["b"]["k"] == 2);
}

TEST_CASE("parse_json: malformed text, overflow and deep nesting give one-line errors") {
  CHECK_ERROR_NAMES(parse_error(R"({"a": tru})"), "dir/x.json", "not valid JSON", "line 1, column");
  CHECK_ERROR_NAMES(parse_error("{\"a\": 1,\n \"b\": }"), "dir/x.json", "not valid JSON", "line 2");
  CHECK_ERROR_NAMES(parse_error(R"({"a": 1} trailing)"), "dir/x.json", "not valid JSON");
  CHECK_ERROR_NAMES(parse_error(R"({"a": 1e999})"), "dir/x.json", "not valid JSON", "1e999");
  CHECK_ERROR_NAMES(parse_error("\"\xC3\""), "dir/x.json", "not valid JSON");
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::string m = parse_error(R"({"a": )" + deep + "}");
  CHECK_ERROR_NAMES(m, "dir/x.json", "nests deeper than 64", "\"a\"[0]");
  CHECK(m.size() < 300);
  // A huge bad token does not flood the message.
  CHECK(parse_error("[\"" + std::string(1 << 20, 'x')).size() < 400);
}

TEST_CASE("read_json_file: a missing file is a file_error, an oversized one a resource_error") {
  temp_dir d;
  CHECK_ERROR_NAMES(error_of<vtrans::file_error>([&] { read_json_file(d.file("none.json")); }), d.file("none.json"));
  write_bytes(d.file("big.json"), "[" + std::string(100, ' ') + "]");
  CHECK_ERROR_NAMES(error_of<vtrans::resource_error>([&] { read_json_file(d.file("big.json"), 50); }), d.file("big.json"), "102",
                    "limit of 50");
  CHECK(read_json_file(d.file("big.json")).empty());
}

TEST_CASE("safetensors: parsing is linear in the number of entries; a refused file is unchanged") {
  temp_dir d;
  const std::string p = d.file("many.safetensors");
  const std::size_t n = 50000;  // quadratic parsing took minutes here; linear takes a fraction of a second
  write_bytes(p, many_tensors(n));
  std::size_t count = 0;
  const double t = seconds([&] { count = safetensors_file(p).size(); });
  CHECK(count == n);
  CHECK_MESSAGE(t < 30, "parsing " << n << " entries took " << t << " s");

  // The same file with one name repeated is refused and left byte for byte as it was.
  std::string bytes = io_test::read_bytes(p);
  const auto second = bytes.find("\"t0000001\"");
  bytes.replace(second, 10, "\"t0000000\"");
  write_bytes(p, bytes);
  CHECK_ERROR_NAMES(format_error_of([&] { safetensors_file f(p); }), p, "duplicate key \"t0000000\"");
  CHECK(io_test::read_bytes(p) == bytes);
  CHECK(std::distance(std::filesystem::directory_iterator(d.path), {}) == 1);  // no stray files
}

TEST_CASE("safetensors: a shape with more dimensions than the cap is a resource_error") {
  temp_dir d;
  const std::string p = d.file("rank.safetensors");
  std::string shape = "[";
  for (std::size_t i = 0; i <= safetensors_max_rank; ++i) shape += i ? ",1" : "1";
  write_bytes(p, io_test::safetensors_bytes(R"({"a":{"dtype":"F32","shape":)" + shape + R"(],"data_offsets":[0,4]}})", "abcd"));
  CHECK_ERROR_NAMES(error_of<vtrans::resource_error>([&] { safetensors_file f(p); }), p, "\"a\"", "65 dimensions", "limit of 64");
}

TEST_CASE("checkpoint_reader: a shard index with duplicate or many entries") {
  temp_dir d;
  write_bytes(d.file("model-1.safetensors"), many_tensors(50000));
  std::string index = R"({"metadata": {}, "weight_map": {)";
  for (std::size_t i = 0; i < 50000; ++i) {
    std::string name = std::to_string(i);
    index += (i ? ",\"t" : "\"t") + std::string(7 - name.size(), '0') + name + R"(": "model-1.safetensors")";
  }
  write_bytes(d.file("model.safetensors.index.json"), index + "}}");
  std::size_t count = 0;
  const double t = seconds([&] { count = checkpoint_reader(d.path.string()).names().size(); });
  CHECK(count == 50000);
  CHECK_MESSAGE(t < 30, "opening a 50,000-entry index took " << t << " s");

  const std::string idx = d.file("model.safetensors.index.json");
  write_bytes(idx, R"({"weight_map": {"t0000000": "model-1.safetensors", "t0000000": "other.safetensors"}})");
  CHECK_ERROR_NAMES(format_error_of([&] { checkpoint_reader r(idx); }), idx, "duplicate key \"t0000000\"", "\"weight_map\"");
  write_bytes(idx, R"({"weight_map": {}, "weight_map": {"t0000000": "model-1.safetensors"}})");
  CHECK_ERROR_NAMES(format_error_of([&] { checkpoint_reader r(idx); }), idx, "duplicate key \"weight_map\"");
}

TEST_CASE("config.json: duplicate keys are refused, naming the file and the key") {
  temp_dir d;
  const std::string cfg = d.file("config.json");
  const std::string text = R"({"model_type": "bert", "num_hidden_layers": 3, "num_hidden_layers": 0})";
  write_bytes(cfg, text);
  CHECK_ERROR_NAMES(format_error_of([&] { load_config(d.path.string()); }), cfg, "duplicate key \"num_hidden_layers\"");
  CHECK(io_test::read_bytes(cfg) == text);
}

TEST_CASE("npy: a header length above the cap is a resource_error") {
  temp_dir d;
  const std::string p = d.file("big.npy");
  std::string bytes = std::string("\x93NUMPY\x02\x00", 8) + io_test::le64(npy_max_header + 1).substr(0, 4) + "{}";
  write_bytes(p, bytes);
  CHECK_ERROR_NAMES(error_of<vtrans::resource_error>([&] { read_npy<float>(p); }), p, "header length", "limit");
}
