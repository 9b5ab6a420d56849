// The file writers read back by independent means: half-precision rounding against exhaustive
// enumeration, GGUF's byte layout parsed field by field, ONNX messages decoded with the protobuf
// reader, and the tokenizer settings llama.cpp needs read from the repository's tokenizer files.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>

#include "data_sets/temp_dir.hpp"
#include "vtrans/export/gguf_vocab.hpp"
#include "vtrans/io/gguf.hpp"
#include "vtrans/io/onnx.hpp"
#include "vtrans/tensor/cpu.hpp"

using namespace vtrans;
namespace fs = std::filesystem;

namespace {

float bits_to_float(std::uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

// Every finite half, and the floats halfway between neighbours, round as IEEE says.
template <class ToHalf, class ToFloat>
void check_rounding(ToHalf to_half, ToFloat to_float, std::uint16_t max_finite) {
  for (std::uint32_t h = 0; h <= max_finite; ++h) {
    for (std::uint16_t sign : {std::uint16_t(0), std::uint16_t(0x8000)}) {
      const std::uint16_t x = std::uint16_t(h | sign);
      REQUIRE(to_half(to_float(x)) == x);  // exact values are kept
      if (h == max_finite) continue;
      const double lo = to_float(x), hi = to_float(std::uint16_t((h + 1) | sign));
      const float mid = float((lo + hi) / 2);  // exact in float: halves have 11 significant bits
      const std::uint16_t even = (h & 1) ? std::uint16_t((h + 1) | sign) : x;
      REQUIRE(to_half(mid) == even);
      REQUIRE(to_half(std::nextafter(mid, float(lo))) == x);
      REQUIRE(to_half(std::nextafter(mid, float(hi))) == std::uint16_t((h + 1) | sign));
    }
  }
}

std::uint64_t le(const std::string& b, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= std::uint64_t(static_cast<unsigned char>(b[at + std::size_t(i)])) << (8 * i);
  return v;
}

// A GGUF reader just big enough for the test: keys with their type, tensors with their offsets.
struct gguf_read {
  std::uint32_t version = 0;
  std::map<std::string, std::pair<std::uint32_t, std::string>> kv;  // key -> (type, raw value bytes)
  struct tensor {
    std::vector<std::uint64_t> ne;
    std::uint32_t type;
    std::uint64_t offset;
  };
  std::map<std::string, tensor> tensors;
  std::size_t data_start = 0;
  std::string bytes;
};

gguf_read parse_gguf(const fs::path& p) {
  gguf_read g;
  std::ifstream in(p, std::ios::binary);
  g.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  const std::string& b = g.bytes;
  REQUIRE(b.substr(0, 4) == "GGUF");
  g.version = std::uint32_t(le(b, 4, 4));
  const std::uint64_t n_tensors = le(b, 8, 8), n_kv = le(b, 16, 8);
  std::size_t at = 24;
  auto str = [&] {
    const std::uint64_t n = le(b, at, 8);
    std::string s = b.substr(at + 8, n);
    at += 8 + n;
    return s;
  };
  auto skip_value = [&](std::uint32_t type, auto& self) -> void {
    static const std::map<std::uint32_t, std::size_t> size{{0, 1}, {1, 1}, {2, 2}, {3, 2}, {4, 4}, {5, 4}, {6, 4}, {7, 1}, {10, 8}, {11, 8}, {12, 8}};
    if (type == 8) str();
    else if (type == 9) {
      const auto elem = std::uint32_t(le(b, at, 4));
      const std::uint64_t n = le(b, at + 4, 8);
      at += 12;
      for (std::uint64_t i = 0; i < n; ++i) self(elem, self);
    } else at += size.at(type);
  };
  for (std::uint64_t i = 0; i < n_kv; ++i) {
    const std::string key = str();
    const auto type = std::uint32_t(le(b, at, 4));
    at += 4;
    const std::size_t start = at;
    skip_value(type, skip_value);
    g.kv[key] = {type, b.substr(start, at - start)};
  }
  for (std::uint64_t i = 0; i < n_tensors; ++i) {
    const std::string name = str();
    gguf_read::tensor t;
    const auto dims = std::uint32_t(le(b, at, 4));
    at += 4;
    for (std::uint32_t d = 0; d < dims; ++d, at += 8) t.ne.push_back(le(b, at, 8));
    t.type = std::uint32_t(le(b, at, 4));
    t.offset = le(b, at + 4, 8);
    at += 12;
    g.tensors[name] = t;
  }
  g.data_start = (at + 31) / 32 * 32;
  return g;
}

}  // namespace

TEST_CASE("float -> f16 and bf16 round to nearest, ties to even, with infinities and NaN") {
  check_rounding(io::float_to_f16, io::f16_to_float, 0x7bff);
  check_rounding(io::float_to_bf16, io::bf16_to_float, 0x7f7f);
  CHECK(io::float_to_f16(65519.0f) == 0x7bff);
  CHECK(io::float_to_f16(65520.0f) == 0x7c00);  // halfway to the next binade: to even, which is infinity
  CHECK(io::float_to_f16(1e10f) == 0x7c00);
  CHECK(io::float_to_f16(-std::numeric_limits<float>::infinity()) == 0xfc00);
  CHECK(io::float_to_f16(std::ldexp(1.0f, -25)) == 0x0000);                        // half the smallest subnormal: to even 0
  CHECK(io::float_to_f16(std::nextafter(std::ldexp(1.0f, -25), 1.0f)) == 0x0001);  // just above: the smallest subnormal
  CHECK(std::isnan(io::f16_to_float(io::float_to_f16(std::nanf("")))));
  CHECK(io::float_to_bf16(bits_to_float(0x7f7fffff)) == 0x7f80);  // FLT_MAX rounds up to infinity
  CHECK(std::isnan(io::bf16_to_float(io::float_to_bf16(std::nanf("")))));
}

TEST_CASE("GGUF: header, typed metadata, aligned tensor data, Q8_0 blocks") {
  io::gguf_writer w;
  w.set("general.architecture", std::string("llama"));
  w.set("a.u32", std::uint32_t(7));
  w.set("a.f32", 0.5f);
  w.set("a.flag", true);
  w.set("a.per_layer", std::vector<std::uint32_t>{4, 0, 2});
  w.set("a.words", std::vector<std::string>{"x", "yz"});
  std::vector<float> q(64);
  for (std::size_t i = 0; i < q.size(); ++i) q[i] = float(i) - 20.f;
  w.add_tensor("norm", {3}, io::ggml_type::f32, [] { return std::vector<float>{1, 2, 3}; });
  w.add_tensor("matrix", {32, 2}, io::ggml_type::q8_0, [q] { return q; });
  w.add_tensor("half", {2}, io::ggml_type::f16, [] { return std::vector<float>{1.f, -2.f}; });
  vtrans_test::temp_dir dir;
  const fs::path path = dir.path() / "m.gguf";
  w.write(path.string());
  const auto g = parse_gguf(path);
  CHECK(g.version == 3);
  CHECK(g.kv.at("a.u32").first == 4);
  CHECK(le(g.kv.at("a.u32").second, 0, 4) == 7);
  CHECK(g.kv.at("a.f32").first == 6);
  CHECK(g.kv.at("a.flag").second == std::string(1, '\1'));
  CHECK(g.kv.at("a.per_layer").first == 9);
  CHECK(le(g.kv.at("a.per_layer").second, 0, 4) == 4);   // element type u32
  CHECK(le(g.kv.at("a.per_layer").second, 4, 8) == 3);   // three entries
  CHECK(le(g.kv.at("a.per_layer").second, 16, 4) == 0);  // the second one
  CHECK(g.kv.at("general.architecture").second.substr(8) == "llama");
  const auto& m = g.tensors.at("matrix");
  CHECK(m.ne == std::vector<std::uint64_t>{32, 2});
  CHECK(m.type == 8);
  CHECK(g.tensors.at("norm").offset == 0);
  CHECK(m.offset == 32);                          // 12 bytes of f32 padded to the alignment
  CHECK(g.tensors.at("half").offset == 32 + 96);  // 2 blocks of 34 bytes, padded
  // block 0: values -20..11, scale 20/127 as f16, then round(x * 127 / 20)
  const std::size_t block = g.data_start + 32;
  const float d = io::f16_to_float(std::uint16_t(le(g.bytes, block, 2)));
  CHECK(d == io::f16_to_float(io::float_to_f16(20.f / 127)));
  for (int j = 0; j < 32; ++j) CHECK(int(static_cast<std::int8_t>(g.bytes[block + 2 + std::size_t(j)])) == int(std::lround(q[std::size_t(j)] * 127 / 20.f)));
  CHECK(fs::file_size(path) == g.data_start + 32 + 96 + 32);

  CHECK_THROWS_AS(w.set("a.u32", std::uint32_t(1)), vtrans::usage_error);
  CHECK_THROWS_WITH_AS(w.add_tensor("odd", {33}, io::ggml_type::q8_0, [] { return std::vector<float>(33); }),
                       doctest::Contains("cannot be stored as q8_0"), vtrans::usage_error);
  CHECK_THROWS_AS(w.add_tensor(std::string(64, 'n'), {1}, io::ggml_type::f32, [] { return std::vector<float>(1); }), vtrans::usage_error);
}

TEST_CASE("GGUF: a write that fails leaves neither the file nor a temporary one") {
  vtrans_test::temp_dir dir;
  io::gguf_writer w;
  w.set("general.architecture", std::string("llama"));
  w.add_tensor("ok", {2}, io::ggml_type::f32, [] { return std::vector<float>{1, 2}; });
  w.add_tensor("bad", {2}, io::ggml_type::f32, []() -> std::vector<float> { throw std::runtime_error("no values"); });
  CHECK_THROWS_WITH(w.write((dir.path() / "m.gguf").string()), "no values");
  CHECK(fs::is_empty(dir.path()));
}

TEST_CASE("ONNX: the model message decodes to what was written") {
  io::onnx::model m;
  m.graph_name = "g";
  m.inputs.push_back({"input_ids", io::onnx::element::int64, {std::string("batch_size"), std::int64_t(4)}});
  m.outputs.push_back({"logits", io::onnx::element::float32, {std::string("batch_size")}});
  m.initializers.push_back(io::onnx::tensor::floats("w", {2}, {1.5f, -2.f}, io::onnx::element::float16));
  m.nodes.push_back({"Gather", {"w", "input_ids"}, {"logits"}, "n0", {{"axis", std::int64_t(0)}}});
  const std::string bytes = io::onnx::serialize(m);
  using io::protobuf::reader;
  CHECK(reader::find(bytes, 1, "m")->value == 8);                           // ir_version
  CHECK(reader::find(reader::find(bytes, 8, "m")->bytes, 2, "m")->value == 17);  // opset_import.version
  const auto graph = reader::find(bytes, 7, "m")->bytes;
  const auto node = reader::find(graph, 1, "g")->bytes;
  CHECK(reader::find(node, 4, "n")->bytes == "Gather");
  const auto attr = reader::find(node, 5, "n")->bytes;
  CHECK(reader::find(attr, 1, "a")->bytes == "axis");
  CHECK(reader::find(attr, 20, "a")->value == 2);  // INT
  const auto init = reader::find(graph, 5, "g")->bytes;
  CHECK(reader::find(init, 2, "t")->value == 10);  // FLOAT16
  const auto raw = reader::find(init, 9, "t")->bytes;
  REQUIRE(raw.size() == 4);
  CHECK(io::f16_to_float(std::uint16_t(le(std::string(raw), 2, 2))) == -2.f);
  const auto input = reader::find(graph, 11, "g")->bytes;
  const auto shape = reader::find(reader::find(reader::find(input, 2, "v")->bytes, 1, "t")->bytes, 2, "t")->bytes;
  reader dims(shape, "shape");
  CHECK(reader::find(dims.next()->bytes, 2, "d")->bytes == "batch_size");
  CHECK(reader::find(dims.next()->bytes, 1, "d")->value == 4);
  CHECK_THROWS_WITH(reader::find(std::string("\x0a\x05\x01", 3), 1, "cut"), doctest::Contains("runs past the end"));
}

TEST_CASE("GGUF vocabularies carry what llama.cpp's tokenizers need") {
  const fs::path data = fs::path(VTRANS_TEST_DATA_DIR) / "text";
  const auto spm = exports::read_gguf_vocab(data / "sentencepiece", 1000);
  CHECK(spm.model == "llama");
  CHECK(spm.tokens.size() == 1000);
  CHECK(spm.tokens[1] == "<s>");
  CHECK(spm.types[0] == exports::token_unknown);
  CHECK(spm.types[1] == exports::token_control);
  CHECK(spm.types[3 + 'A'] == exports::token_byte);  // byte fallback pieces <0x00>..<0xFF> follow the specials
  CHECK(spm.add_bos);
  CHECK_FALSE(spm.add_eos);
  CHECK(*spm.add_space_prefix);               // add_dummy_prefix: the proto2 default
  CHECK_FALSE(*spm.remove_extra_whitespaces);  // trained with --remove_extra_whitespaces=false
  CHECK(spm.notes.empty());                    // identity normalization

  const auto bpe = exports::read_gguf_vocab(data / "gpt2", 50260);
  CHECK(bpe.model == "gpt2");
  CHECK(bpe.merges.front() == "\xC4\xA0 t");  // vocab.bpe's first merge: "Ġ t"
  CHECK(bpe.merges.size() == 50000);
  CHECK(bpe.types[50256] == exports::token_control);  // <|endoftext|>
  CHECK(bpe.tokens[50259] == "[PAD50259]");           // the embedding's extra rows
  CHECK(bpe.types[50259] == exports::token_unused);
  CHECK_FALSE(bpe.add_bos);

  const auto wpm = exports::read_gguf_vocab(data / "wordpiece", 4141);
  CHECK(wpm.model == "bert");
  CHECK(wpm.tokens[2] == "[CLS]");
  CHECK(wpm.add_bos);
  CHECK(wpm.add_sep);
  CHECK(*wpm.lowercase);
  CHECK(wpm.tokens[141] == "\xE2\x96\x81the");  // a word start gains the phantom space
  CHECK(wpm.tokens[76] == "s");                   // "##s" continues a word
}
