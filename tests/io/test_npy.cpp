#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "io_test_util.hpp"
#include "vtrans/io/npy.hpp"

using namespace vtrans::io;
using io_test::format_error_of;
using io_test::temp_dir;
using io_test::write_bytes;

namespace {

// A .npy file as NumPy 1.x writes it (version 1.0, header padded to 64 bytes).
std::string npy_bytes(const std::string& dict, const std::string& data) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string s = "\x93NUMPY";
  s += '\x01';
  s += '\x00';
  s += static_cast<char>(header.size() & 0xff);
  s += static_cast<char>(header.size() >> 8);
  return s + header + data;
}

template <class T>
std::string raw(std::initializer_list<T> v) {
  std::string s;
  for (T x : v) s.append(reinterpret_cast<const char*>(&x), sizeof(T));
  return s;
}

}  // namespace

TEST_CASE("npy: float32 round trip at ranks 0 to 4") {
  temp_dir d;
  const std::vector<std::vector<std::int64_t>> shapes = {{}, {5}, {2, 3}, {2, 1, 3}, {1, 2, 2, 2}, {0, 3}};
  for (const auto& shape : shapes) {
    std::int64_t n = 1;
    for (auto s : shape) n *= s;
    std::vector<float> v(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = 0.5f * static_cast<float>(i) - 1.0f;
    const std::string p = d.file("a.npy");
    write_npy(p, shape, v);
    const std::string bytes = io_test::read_bytes(p);
    REQUIRE(bytes.size() >= 10);
    const std::size_t header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    CHECK((10 + header_len) % 64 == 0);
    CHECK(bytes[10 + header_len - 1] == '\n');
    auto a = read_npy<float>(p);
    CHECK(a.shape == shape);
    CHECK(a.data == v);
    auto b = read_npy<double>(p);
    CHECK(b.data.size() == v.size());
  }
  // NumPy's own spelling of the shape tuple.
  write_npy(d.file("one.npy"), {7}, std::vector<float>(7, 1.0f));
  CHECK(io_test::contains(io_test::read_bytes(d.file("one.npy")), "'shape': (7,), }"));
  write_npy(d.file("two.npy"), {2, 3}, std::vector<float>(6, 1.0f));
  CHECK(io_test::contains(io_test::read_bytes(d.file("two.npy")), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
}

TEST_CASE("npy: reads <f8, <i4 and <i8 as written by NumPy") {
  temp_dir d;
  write_bytes(d.file("f8.npy"), npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", raw<double>({0.1, -2, 3e10})));
  CHECK(read_npy<double>(d.file("f8.npy")).data == std::vector<double>{0.1, -2, 3e10});
  CHECK(read_npy<float>(d.file("f8.npy")).data == std::vector<float>{0.1f, -2, 3e10f});
  write_bytes(d.file("i4.npy"), npy_bytes("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }", raw<std::int32_t>({1, -2, 3, 4})));
  auto i4 = read_npy<std::int64_t>(d.file("i4.npy"));
  CHECK(i4.shape == std::vector<std::int64_t>{2, 2});
  CHECK(i4.data == std::vector<std::int64_t>{1, -2, 3, 4});
  CHECK(read_npy<float>(d.file("i4.npy")).data == std::vector<float>{1, -2, 3, 4});
  write_bytes(d.file("i8.npy"), npy_bytes("{'descr':'<i8','shape':(2L,),'fortran_order':False}", raw<std::int64_t>({5, 1LL << 40})));
  CHECK(read_npy<std::int64_t>(d.file("i8.npy")).data == std::vector<std::int64_t>{5, 1LL << 40});
  CHECK_ERROR_NAMES(format_error_of([&] { read_npy<std::int32_t>(d.file("i8.npy")); }), d.file("i8.npy"), "element 1",
                    "int32");
}

TEST_CASE("npy: malformed files name the file and the problem") {
  temp_dir d;
  const std::string p = d.file("bad.npy");
  auto err = [&](const std::string& bytes) {
    write_bytes(p, bytes);
    return format_error_of([&] { read_npy<float>(p); });
  };
  const std::string six = raw<float>({1, 2, 3, 4, 5, 6});
  CHECK_ERROR_NAMES(err(npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", six)), p, "Fortran");
  CHECK_ERROR_NAMES(err(npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", six)), p, ">f4",
                    "unsupported dtype");
  CHECK_ERROR_NAMES(err(npy_bytes("{'descr': '<f2', 'fortran_order': False, 'shape': (3,), }", six)), p, "<f2");
  CHECK_ERROR_NAMES(err(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }", six)), p, "truncated",
                    "32 bytes", "24");
  CHECK_ERROR_NAMES(err(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", six)), p,
                    "8 unexpected bytes");
  CHECK_ERROR_NAMES(err(npy_bytes("{'descr': '<f4', 'fortran_order': False, }", six)), p, "shape");
  CHECK_ERROR_NAMES(err(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }", six)), p,
                    "non-negative");
  CHECK_ERROR_NAMES(err(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }", six)),
                    p, "truncated");
  CHECK_ERROR_NAMES(err(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1}", six)), p,
                    "\"extra\"");
  CHECK_ERROR_NAMES(err("\x93NUMPY\x01"), p, "not a .npy");
  CHECK_ERROR_NAMES(err("PK\x03\x04 this is a zip"), p, "not a .npy");
  std::string long_header = npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", "");
  long_header[8] = '\xff';
  long_header[9] = '\x7f';
  CHECK_ERROR_NAMES(err(long_header), p, "header length");
  std::string v9 = npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", six);
  v9[6] = 9;
  CHECK_ERROR_NAMES(err(v9), p, "version 9");
  write_bytes(p, npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", six));
  CHECK_ERROR_NAMES(format_error_of([&] { read_npy<std::int64_t>(p); }), p, "<f4", "float");
}

TEST_CASE("npy: writer checks the shape against the data") {
  temp_dir d;
  const std::string p = d.file("w.npy");
  CHECK_ERROR_NAMES(format_error_of([&] { write_npy(p, {2, 2}, std::vector<float>(3)); }), p, "[2, 2]", "3 values");
  CHECK_ERROR_NAMES(format_error_of([&] { write_npy(p, {-1}, std::vector<float>(3)); }), p, "negative");
  CHECK_FALSE(std::filesystem::exists(p));
}
