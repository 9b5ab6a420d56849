#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "io_test_util.hpp"
#include "vtrans/io/float16.hpp"
#include "vtrans/io/safetensors.hpp"

using namespace vtrans::io;
using io_test::format_error_of;
using io_test::safetensors_bytes;
using io_test::temp_dir;
using io_test::write_bytes;

namespace {

std::string u16le(std::initializer_list<std::uint16_t> v) {
  std::string s;
  for (auto x : v) {
    s += static_cast<char>(x & 0xff);
    s += static_cast<char>(x >> 8);
  }
  return s;
}

template <class T>
std::string raw_le(std::initializer_list<T> v) {
  std::string s;
  for (T x : v) {
    unsigned char b[sizeof(T)];
    std::memcpy(b, &x, sizeof(T));  // the test host is little-endian (checked below)
    s.append(reinterpret_cast<const char*>(b), sizeof(T));
  }
  return s;
}

bool host_is_little_endian() {
  const std::uint16_t one = 1;
  unsigned char b;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

// A valid two-tensor file, used as the base of the corruption tests.
const char* good_header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";

}  // namespace

TEST_CASE("safetensors: write then read F32, names sorted, metadata, header padding") {
  REQUIRE(host_is_little_endian());
  temp_dir d;
  const std::string p = d.file("model.safetensors");
  std::vector<named_tensor> ts = {
      {"z.weight", {2, 3}, {1, 2, 3, 4, 5, -6.5f}},
      {"a.bias", {3}, {0.25f, -0.0f, std::numeric_limits<float>::infinity()}},
      {"scalar", {}, {42}},
      {"empty", {0, 4}, {}},
  };
  write_safetensors(p, ts);

  const std::string bytes = io_test::read_bytes(p);
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  CHECK(n % 8 == 0);
  const std::string header = bytes.substr(8, n);
  CHECK(header.find("\"__metadata__\":{\"format\":\"pt\"}") != std::string::npos);
  CHECK(header.find("a.bias") < header.find("z.weight"));  // data laid out in name order

  safetensors_file f(p);
  CHECK(f.names() == std::vector<std::string>{"a.bias", "empty", "scalar", "z.weight"});
  CHECK(f.has("z.weight"));
  CHECK_FALSE(f.has("nope"));
  CHECK(f.metadata().at("format") == "pt");
  CHECK(f.info("z.weight").dtype == dtype::f32);
  CHECK(f.info("z.weight").shape == std::vector<std::int64_t>{2, 3});
  CHECK(f.info("a.bias").begin == 0);  // sorted layout starts with a.bias
  CHECK(f.read<float>("z.weight") == std::vector<float>{1, 2, 3, 4, 5, -6.5f});
  auto bias = f.read<double>("a.bias");
  CHECK(bias[0] == 0.25);
  CHECK(std::signbit(bias[1]));
  CHECK(std::isinf(bias[2]));
  CHECK(f.read<float>("scalar") == std::vector<float>{42});
  CHECK(f.info("scalar").shape.empty());
  CHECK(f.read<float>("empty").empty());
  CHECK(f.raw("z.weight").size == 24);
}

TEST_CASE("safetensors: BF16 and F16 tensors are written as their 16-bit patterns") {
  temp_dir d;
  const std::string p = d.file("half.safetensors");
  named_tensor b{"b", {2}, {}, dtype::bf16, {float_to_bf16(1.5f), float_to_bf16(-0.0f)}};
  named_tensor h{"h", {1, 2}, {}, dtype::f16, {float_to_f16(0.25f), float_to_f16(65504.0f)}};
  write_safetensors(p, std::vector<named_tensor>{b, h, {"f", {1}, {3}}});
  safetensors_file f(p);
  CHECK(f.info("b").dtype == dtype::bf16);
  CHECK(f.info("h").dtype == dtype::f16);
  CHECK(f.info("f").dtype == dtype::f32);
  CHECK(f.raw("b").size == 4);
  CHECK(f.raw("h").size == 4);
  const auto bv = f.read<float>("b"), hv = f.read<float>("h");
  CHECK(bv[0] == 1.5f);
  CHECK(std::signbit(bv[1]));
  CHECK(hv == std::vector<float>{0.25f, 65504.0f});
  CHECK(f.read<float>("f") == std::vector<float>{3});
  // other dtypes, and 16-bit tensors without their patterns, are refused by name
  auto m = format_error_of([&] { write_safetensors(p, std::vector<tensor_view>{{"i", {1}, nullptr, 1, dtype::i32, nullptr}}); });
  CHECK(m.find("\"i\"") != std::string::npos);
  CHECK(m.find("I32") != std::string::npos);
  m = format_error_of([&] { write_safetensors(p, std::vector<tensor_view>{{"h", {2}, nullptr, 2, dtype::f16, nullptr}}); });
  CHECK(m.find("null data") != std::string::npos);
  CHECK(safetensors_file(p).info("b").dtype == dtype::bf16);  // a refused write leaves the old file
}

TEST_CASE("safetensors: borrowed views, custom and empty metadata") {
  temp_dir d;
  std::vector<float> w = {1, 2, 3, 4};
  write_safetensors(d.file("v.safetensors"), std::vector<tensor_view>{{"w", {2, 2}, w.data(), w.size()}},
                    {{"producer", "vtrans"}, {"format", "pt"}});
  safetensors_file f(d.file("v.safetensors"));
  CHECK(f.read<float>("w") == w);
  CHECK(f.metadata().at("producer") == "vtrans");

  write_safetensors(d.file("nometa.safetensors"), std::vector<named_tensor>{{"w", {1}, {7}}}, {});
  CHECK(io_test::read_bytes(d.file("nometa.safetensors")).find("__metadata__") == std::string::npos);
  CHECK(safetensors_file(d.file("nometa.safetensors")).metadata().empty());
}

TEST_CASE("safetensors: writer rejects bad tensors and leaves no file") {
  temp_dir d;
  const std::string p = d.file("bad.safetensors");
  auto m = format_error_of([&] { write_safetensors(p, std::vector<named_tensor>{{"w", {2, 2}, {1, 2, 3}}}); });
  CHECK_ERROR_NAMES(m, p, "\"w\"", "[2, 2]");
  m = format_error_of([&] { write_safetensors(p, std::vector<named_tensor>{{"w", {1}, {1}}, {"w", {1}, {2}}}); });
  CHECK_ERROR_NAMES(m, p, "duplicate", "\"w\"");
  m = format_error_of([&] { write_safetensors(p, std::vector<named_tensor>{{"__metadata__", {1}, {1}}}); });
  CHECK_ERROR_NAMES(m, p, "__metadata__");
  CHECK_FALSE(std::filesystem::exists(p));
  CHECK(std::filesystem::is_empty(d.path));
}

TEST_CASE("safetensors: F16 decodes exactly, including subnormals, infinities and NaN") {
  temp_dir d;
  const std::string p = d.file("f16.safetensors");
  // 1, -2, 2^-24 (smallest subnormal), 1023*2^-24 (largest subnormal), 2^-14, 65504, +inf, -inf, NaN, -0, 0x3555
  const std::string buf = u16le({0x3C00, 0xC000, 0x0001, 0x03FF, 0x0400, 0x7BFF, 0x7C00, 0xFC00, 0x7E00, 0x8000, 0x3555, 0});
  write_bytes(p, safetensors_bytes(R"({"h":{"dtype":"F16","shape":[3,4],"data_offsets":[0,24]}})", buf));
  safetensors_file f(p);
  CHECK(f.info("h").dtype == dtype::f16);
  const auto v = f.read<float>("h");
  REQUIRE(v.size() == 12);
  CHECK(v[0] == 1.0f);
  CHECK(v[1] == -2.0f);
  CHECK(v[2] == std::ldexp(1.0f, -24));
  CHECK(v[3] == std::ldexp(1023.0f, -24));
  CHECK(v[4] == std::ldexp(1.0f, -14));
  CHECK(v[5] == 65504.0f);
  CHECK(v[6] == std::numeric_limits<float>::infinity());
  CHECK(v[7] == -std::numeric_limits<float>::infinity());
  CHECK(std::isnan(v[8]));
  CHECK((v[9] == 0.0f && std::signbit(v[9])));
  CHECK(v[10] == 0.33325195f);
  const auto dv = f.read<double>("h");
  CHECK(dv[2] == std::ldexp(1.0, -24));
}

TEST_CASE("safetensors: BF16 and F64 decode to float and double") {
  temp_dir d;
  const std::string p = d.file("mixed.safetensors");
  const std::string bf = u16le({0x3F80, 0xC040, 0x7F80, 0x3EAB, 0x0001, 0xFF80});  // 12 bytes
  const std::string f64 = raw_le<double>({1.0 / 3.0, -2.5, 1e300, 3.4028234663852886e38});  // 32 bytes
  const std::string header =
      R"({"b":{"dtype":"BF16","shape":[6],"data_offsets":[0,12]},)"
      R"("d":{"dtype":"F64","shape":[2,2],"data_offsets":[12,44]}})";
  write_bytes(p, safetensors_bytes(header, bf + f64));
  safetensors_file f(p);
  const auto b = f.read<float>("b");
  CHECK(b[0] == 1.0f);
  CHECK(b[1] == -3.0f);
  CHECK(b[2] == std::numeric_limits<float>::infinity());
  CHECK(b[3] == 0.333984375f);
  CHECK(b[4] == std::ldexp(1.0f, -133));  // a bf16 subnormal
  CHECK(b[5] == -std::numeric_limits<float>::infinity());
  const auto dd = f.read<double>("d");
  CHECK(dd == std::vector<double>{1.0 / 3.0, -2.5, 1e300, 3.4028234663852886e38});
  const auto df = f.read<float>("d");
  CHECK(df[0] == static_cast<float>(1.0 / 3.0));
  CHECK(df[1] == -2.5f);
  CHECK(df[2] == std::numeric_limits<float>::infinity());  // out of float range, no UB
  CHECK(df[3] == std::numeric_limits<float>::max());
}

TEST_CASE("safetensors: integer dtypes parse and read as int64; reading floats as int is refused") {
  temp_dir d;
  const std::string p = d.file("ints.safetensors");
  const std::string i64 = raw_le<std::int64_t>({0, 1, -5});
  const std::string i32 = raw_le<std::int32_t>({7, -8});
  const std::string u8 = std::string("\x01\xff", 2);
  const std::string bl = std::string("\x00\x01", 2);
  const std::string f32 = raw_le<float>({1.5f});
  const std::string header =
      R"({"pos":{"dtype":"I64","shape":[1,3],"data_offsets":[0,24]},)"
      R"("i":{"dtype":"I32","shape":[2],"data_offsets":[24,32]},)"
      R"("u":{"dtype":"U8","shape":[2],"data_offsets":[32,34]},)"
      R"("m":{"dtype":"BOOL","shape":[2],"data_offsets":[34,36]},)"
      R"("f":{"dtype":"F32","shape":[1],"data_offsets":[36,40]}})";
  write_bytes(p, safetensors_bytes(header, i64 + i32 + u8 + bl + f32));
  safetensors_file f(p);
  CHECK(f.read<std::int64_t>("pos") == std::vector<std::int64_t>{0, 1, -5});
  CHECK(f.read<std::int64_t>("i") == std::vector<std::int64_t>{7, -8});
  CHECK(f.read<std::int64_t>("u") == std::vector<std::int64_t>{1, 255});
  CHECK(f.read<std::int64_t>("m") == std::vector<std::int64_t>{0, 1});
  CHECK(f.read<float>("i") == std::vector<float>{7, -8});
  const auto m = format_error_of([&] { f.read<std::int64_t>("f"); });
  CHECK_ERROR_NAMES(m, p, "\"f\"", "F32");
}

TEST_CASE("safetensors: empty file set and zero-size tensors") {
  temp_dir d;
  write_bytes(d.file("empty.safetensors"), safetensors_bytes("{}      ", ""));
  CHECK(safetensors_file(d.file("empty.safetensors")).size() == 0);
  write_bytes(d.file("zero.safetensors"),
              safetensors_bytes(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                                io_test::le64(0).substr(0, 4)));
  safetensors_file z(d.file("zero.safetensors"));
  CHECK(z.read<float>("a").empty());
  CHECK(z.read<float>("b") == std::vector<float>{0});
}

TEST_CASE("safetensors: every malformed file gives a one-line error naming the file and the culprit") {
  temp_dir d;
  const std::string p = d.file("bad.safetensors");
  auto open_error = [&](const std::string& bytes) {
    write_bytes(p, bytes);
    return format_error_of([&] { safetensors_file f(p); });
  };
  const std::string buf12(12, '\0');

  SUBCASE("sanity: the base file is valid") {
    write_bytes(p, safetensors_bytes(good_header, buf12));
    CHECK(safetensors_file(p).size() == 2);
  }
  SUBCASE("truncated below 8 bytes") { CHECK_ERROR_NAMES(open_error(std::string("\x05\x00\x00", 3)), p, "3 bytes", "8-byte"); }
  SUBCASE("empty file") { CHECK_ERROR_NAMES(open_error(""), p, "0 bytes"); }
  SUBCASE("header size larger than the file") {
    CHECK_ERROR_NAMES(open_error(io_test::le64(500) + "{}"), p, "header size 500", "10 bytes");
  }
  SUBCASE("header size over the 100 MB cap") {
    write_bytes(p, io_test::le64(100'000'001) + "{}");
    CHECK_ERROR_NAMES(io_test::error_of<vtrans::resource_error>([&] { safetensors_file f(p); }), p, "100000001", "limit");
  }
  SUBCASE("header size near 2^64 does not wrap around") {
    write_bytes(p, io_test::le64(~std::uint64_t{0}) + "{}");
    CHECK_ERROR_NAMES(io_test::error_of<vtrans::resource_error>([&] { safetensors_file f(p); }), p, "header size");
  }
  SUBCASE("header not JSON") { CHECK_ERROR_NAMES(open_error(safetensors_bytes("{not json}", "")), p, "not valid JSON"); }
  SUBCASE("header not an object") { CHECK_ERROR_NAMES(open_error(safetensors_bytes("[1, 2]  ", "")), p, "not a JSON object"); }
  SUBCASE("header truncated mid-object") {
    CHECK_ERROR_NAMES(open_error(safetensors_bytes(R"({"a":{"dtype":"F3)", "")), p, "not valid JSON");
  }
  SUBCASE("entry not an object") {
    CHECK_ERROR_NAMES(open_error(safetensors_bytes(R"({"w": 3})", "")), p, "\"w\"", "object");
  }
  SUBCASE("offsets out of range") {
    const std::string h = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,16]}})";
    CHECK_ERROR_NAMES(open_error(safetensors_bytes(h, buf12)), p, "\"b\"", "[8, 16)", "out of range");
  }
  SUBCASE("offsets reversed") {
    const std::string h = R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})";
    CHECK_ERROR_NAMES(open_error(safetensors_bytes(h, buf12)), p, "\"a\"", "[8, 0)");
  }
  SUBCASE("overlapping tensors") {
    const std::string h = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
    CHECK_ERROR_NAMES(open_error(safetensors_bytes(h, buf12)), p, "\"b\"", "\"a\"", "overlaps");
  }
  SUBCASE("two tensors on the same bytes") {
    const std::string h = R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"b":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})";
    CHECK_ERROR_NAMES(open_error(safetensors_bytes(h, buf12)), p, "\"a\"", "\"b\"", "overlaps");
  }
  SUBCASE("hole between tensors") {
    const std::string h = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";
    CHECK_ERROR_NAMES(open_error(safetensors_bytes(h, buf12)), p, "hole", "[4, 8)", "\"b\"");
  }
  SUBCASE("hole at the start") {
    const std::string h = R"({"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
    CHECK_ERROR_NAMES(open_error(safetensors_bytes(h, buf12)), p, "hole", "[0, 4)", "\"b\"");
  }
  SUBCASE("trailing bytes nobody owns") {
    CHECK_ERROR_NAMES(open_error(safetensors_bytes(good_header, buf12 + "xx")), p, "hole", "[12, 14)");
  }
  SUBCASE("unknown dtype") {
    const std::string h = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"Q4_K","shape":[1],"data_offsets":[8,12]}})";
    CHECK_ERROR_NAMES(open_error(safetensors_bytes(h, buf12)), p, "\"b\"", "unsupported dtype", "Q4_K");
  }
  SUBCASE("FP8 is recognised by safetensors but not decodable here") {
    const std::string h = R"({"q":{"dtype":"F8_E4M3","shape":[12],"data_offsets":[0,12]}})";
    CHECK_ERROR_NAMES(open_error(safetensors_bytes(h, buf12)), p, "\"q\"", "F8_E4M3");
  }
  SUBCASE("shape and size disagree") {
    const std::string h = R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";
    CHECK_ERROR_NAMES(open_error(safetensors_bytes(h, buf12)), p, "\"a\"", "[3]", "12 bytes", "hold 8");
  }
  SUBCASE("shape whose product overflows") {
    const std::string h =
        R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,12]}})";
    CHECK_ERROR_NAMES(open_error(safetensors_bytes(h, buf12)), p, "\"a\"", "2^64");
  }
  SUBCASE("negative dimension") {
    const std::string h = R"({"a":{"dtype":"F32","shape":[-3],"data_offsets":[0,12]}})";
    CHECK_ERROR_NAMES(open_error(safetensors_bytes(h, buf12)), p, "\"a\"", "negative");
  }
  SUBCASE("fractional dimension") {
    const std::string h = R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,12]}})";
    CHECK_ERROR_NAMES(open_error(safetensors_bytes(h, buf12)), p, "\"a\"", "1.5");
  }
  SUBCASE("missing data_offsets") {
    const std::string h = R"({"a":{"dtype":"F32","shape":[3]}})";
    CHECK_ERROR_NAMES(open_error(safetensors_bytes(h, buf12)), p, "\"a\"", "data_offsets");
  }
  SUBCASE("missing dtype") {
    const std::string h = R"({"a":{"shape":[3],"data_offsets":[0,12]}})";
    CHECK_ERROR_NAMES(open_error(safetensors_bytes(h, buf12)), p, "\"a\"", "dtype");
  }
  SUBCASE("duplicate tensor names") {
    const std::string h = R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})";
    CHECK_ERROR_NAMES(open_error(safetensors_bytes(h, buf12)), p, "header", "duplicate key", "\"a\"", "top-level");
  }
  SUBCASE("duplicate key inside an entry") {
    const std::string h = R"({"a":{"dtype":"F32","dtype":"F16","shape":[3],"data_offsets":[0,12]}})";
    CHECK_ERROR_NAMES(open_error(safetensors_bytes(h, buf12)), p, "duplicate key", "\"dtype\"", "\"a\"");
  }
  SUBCASE("metadata value not a string") {
    const std::string h = R"({"__metadata__":{"format":"pt","step":5},"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})";
    CHECK_ERROR_NAMES(open_error(safetensors_bytes(h, buf12)), p, "__metadata__", "\"step\"", "string");
  }
  SUBCASE("metadata not an object") {
    const std::string h = R"({"__metadata__":"pt","a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})";
    CHECK_ERROR_NAMES(open_error(safetensors_bytes(h, buf12)), p, "__metadata__");
  }
  SUBCASE("hostile nesting neither recurses nor floods the message") {
    const std::string deep = std::string(200000, '[') + std::string(200000, ']');
    const std::string h = R"({"a":{"dtype":"F32","shape":[3],"data_offsets":)" + deep + "}}";
    const std::string m = open_error(safetensors_bytes(h, buf12));
    CHECK_ERROR_NAMES(m, p, "\"a\"", "data_offsets");
    CHECK(m.size() < 300);
  }
  SUBCASE("tensor name with a newline stays on one line") {
    const std::string h = "{\"a\\nb\":{\"dtype\":\"X\",\"shape\":[3],\"data_offsets\":[0,12]}}";
    CHECK_ERROR_NAMES(open_error(safetensors_bytes(h, buf12)), p, "a\\nb");
  }
}

TEST_CASE("safetensors: asking for a missing tensor names the file and the tensor") {
  temp_dir d;
  const std::string p = d.file("m.safetensors");
  write_safetensors(p, std::vector<named_tensor>{{"present", {1}, {1}}});
  safetensors_file f(p);
  CHECK_ERROR_NAMES(format_error_of([&] { f.read<float>("absent.weight"); }), p, "\"absent.weight\"");
  CHECK_ERROR_NAMES(format_error_of([&] { f.info("absent.weight"); }), p, "\"absent.weight\"");
  std::vector<float> small(3);
  CHECK_ERROR_NAMES(format_error_of([&] { f.read_into("present", small.data(), small.size()); }), p, "\"present\"", "3");
}

TEST_CASE("safetensors: a missing file is a file_error naming it") {
  temp_dir d;
  const std::string p = d.file("nothing.safetensors");
  try {
    safetensors_file f(p);
    FAIL("expected file_error");
  } catch (const file_error& e) {
    CHECK(io_test::contains(e.what(), p));
  }
}
