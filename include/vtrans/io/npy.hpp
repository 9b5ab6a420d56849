#pragma once
// NumPy .npy files: the magic "\x93NUMPY", a version, a little-endian header length, a Python dict
// literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded to 64 bytes, then the data.
// We write float32 C-order arrays and read <f4, <f8, <i4, <i8.
#include <cctype>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "vtrans/io/atomic_file.hpp"
#include "vtrans/io/dtype.hpp"
#include "vtrans/io/errors.hpp"
#include "vtrans/io/mapped_file.hpp"

namespace vtrans::io {

template <class T>
struct npy_array {
  std::vector<std::int64_t> shape;
  std::vector<T> data;  // C order
};

// NumPy itself refuses headers over 10,000 bytes unless told otherwise; ours are under 200.
inline constexpr std::size_t npy_max_header = 1 << 20;

namespace detail {

// Just enough of Python's literal syntax for a .npy header: a dict of quoted keys whose values are
// strings, True/False or tuples of integers.
class npy_header_parser {
 public:
  npy_header_parser(const std::string& file, std::string text) : file_(file), s_(std::move(text)) {}

  struct result {
    std::string descr;
    bool fortran_order = false;
    std::vector<std::int64_t> shape;
  };

  result parse() {
    result r;
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (true) {
      skip_ws();
      if (peek() == '}') break;
      const std::string key = string_lit();
      expect(':');
      skip_ws();
      if (key == "descr") {
        r.descr = string_lit();
        have_descr = true;
      } else if (key == "fortran_order") {
        r.fortran_order = bool_lit();
        have_order = true;
      } else if (key == "shape") {
        r.shape = int_tuple();
        have_shape = true;
      } else {
        bad("unexpected header key " + quote(key));
      }
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') break;
      bad("expected ',' or '}'");
    }
    ++pos_;
    skip_ws();
    if (pos_ != s_.size()) bad("trailing characters after the header dict");
    if (!have_descr) bad("header lacks 'descr'");
    if (!have_order) bad("header lacks 'fortran_order'");
    if (!have_shape) bad("header lacks 'shape'");
    return r;
  }

 private:
  [[noreturn]] void bad(const std::string& what) const {
    fail(file_, "bad .npy header at character " + std::to_string(pos_) + ": " + what);
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_ws() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  void expect(char c) {
    skip_ws();
    if (peek() != c) bad(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string string_lit() {
    skip_ws();
    const char q = peek();
    if (q != '\'' && q != '"') bad("expected a quoted string");
    const std::size_t start = ++pos_;
    while (pos_ < s_.size() && s_[pos_] != q) ++pos_;
    if (pos_ >= s_.size()) bad("unterminated string");
    return s_.substr(start, pos_++ - start);
  }
  bool bool_lit() {
    if (s_.compare(pos_, 4, "True") == 0) return pos_ += 4, true;
    if (s_.compare(pos_, 5, "False") == 0) return pos_ += 5, false;
    bad("expected True or False");
  }
  std::vector<std::int64_t> int_tuple() {
    std::vector<std::int64_t> dims;
    expect('(');
    while (true) {
      skip_ws();
      if (peek() == ')') break;
      if (!std::isdigit(static_cast<unsigned char>(peek()))) bad("shape entries must be non-negative integers");
      std::int64_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        const int digit = s_[pos_++] - '0';
        if (v > (std::numeric_limits<std::int64_t>::max() - digit) / 10) bad("shape entry too large");
        v = v * 10 + digit;
      }
      if (peek() == 'L') ++pos_;  // Python 2 long literals
      dims.push_back(v);
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != ')') bad("expected ',' or ')' in shape");
    }
    ++pos_;
    return dims;
  }

  std::string file_;
  std::string s_;
  std::size_t pos_ = 0;
};

}  // namespace detail

// Read a .npy file into T (float, double, std::int32_t or std::int64_t). Integer files convert to
// any T; floating files only to float or double.
template <class T>
npy_array<T> read_npy(const std::string& path) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, std::int32_t> ||
                    std::is_same_v<T, std::int64_t>,
                "read .npy as float, double, std::int32_t or std::int64_t");
  mapped_file map(path);
  const unsigned char* p = map.data();
  const std::size_t size = map.size();
  static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (size < 10 || std::memcmp(p, magic, 6) != 0) detail::fail(path, "not a .npy file (missing the \\x93NUMPY magic)");
  const int major = p[6];
  std::size_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = detail::load_le16(p + 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) detail::fail(path, "file is too short for a version " + std::to_string(major) + " header");
    header_len = detail::load_le32(p + 8);
    header_start = 12;
  } else {
    detail::fail(path, "unsupported .npy version " + std::to_string(major) + "." + std::to_string(p[7]));
  }
  if (header_len > npy_max_header) detail::fail_limit(path, "header length", header_len, npy_max_header);
  if (header_len > size - header_start)
    detail::fail(path, "header length " + std::to_string(header_len) + " runs past the end of the file");
  auto h = detail::npy_header_parser(path, std::string(reinterpret_cast<const char*>(p + header_start), header_len)).parse();
  if (h.fortran_order) detail::fail(path, "Fortran-order arrays are not supported");

  dtype t;
  if (h.descr == "<f4") t = dtype::f32;
  else if (h.descr == "<f8") t = dtype::f64;
  else if (h.descr == "<i4") t = dtype::i32;
  else if (h.descr == "<i8") t = dtype::i64;
  else detail::fail(path, "unsupported dtype " + detail::quote(h.descr) + " (expected <f4, <f8, <i4 or <i8)");
  if constexpr (std::is_integral_v<T>) {
    if (is_floating(t)) detail::fail(path, "holds " + h.descr + " values; read it as float or double");
  }

  std::uint64_t numel = 1, bytes = 0;
  bool overflow = false;
  for (auto d : h.shape) overflow = overflow || __builtin_mul_overflow(numel, static_cast<std::uint64_t>(d), &numel);
  overflow = overflow || __builtin_mul_overflow(numel, dtype_size(t), &bytes);
  const std::size_t data_start = header_start + header_len;
  const std::uint64_t available = size - data_start;
  if (overflow || bytes > available)
    detail::fail(path, "truncated data: shape " + detail::shape_text(h.shape) + " of " + h.descr + " needs " +
                           (overflow ? std::string("more than 2^64") : std::to_string(bytes)) + " bytes after offset " +
                           std::to_string(data_start) + ", the file has " + std::to_string(available));
  if (bytes < available)
    detail::fail(path, std::to_string(available - bytes) + " unexpected bytes after the data (offset " +
                           std::to_string(data_start + bytes) + ")");

  npy_array<T> out;
  out.shape = h.shape;
  out.data.resize(static_cast<std::size_t>(numel));
  if constexpr (std::is_same_v<T, std::int32_t>) {
    if (t == dtype::i64) {  // narrowing: refuse values that do not fit
      for (std::size_t i = 0; i < out.data.size(); ++i) {
        const auto v = detail::bit_cast_to<std::int64_t>(detail::load_le64(p + data_start + 8 * i));
        if (v < std::numeric_limits<std::int32_t>::min() || v > std::numeric_limits<std::int32_t>::max())
          detail::fail(path, "element " + std::to_string(i) + " = " + std::to_string(v) + " does not fit in int32");
        out.data[i] = static_cast<std::int32_t>(v);
      }
      return out;
    }
  }
  decode_le(t, p + data_start, out.data.size(), out.data.data());
  return out;
}

// Write a float32, C-order array of any rank atomically (format version 1.0, or 2.0 for huge headers).
inline void write_npy(const std::string& path, const std::vector<std::int64_t>& shape, const float* data, std::size_t count) {
  std::uint64_t numel = 1;
  bool overflow = false;
  for (auto d : shape) {
    if (d < 0) detail::fail(path, "negative dimension in shape " + detail::shape_text(shape));
    overflow = overflow || __builtin_mul_overflow(numel, static_cast<std::uint64_t>(d), &numel);
  }
  if (overflow || numel != count)
    detail::fail(path, "shape " + detail::shape_text(shape) + " does not match its " + std::to_string(count) + " values");
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < shape.size(); ++i) dict += (i ? ", " : "") + std::to_string(shape[i]);
  dict += shape.size() == 1 ? ",), }" : "), }";  // Python spells a 1-tuple (n,)
  // Pad with spaces and end with '\n' so the data starts on a 64-byte boundary.
  std::size_t prefix = 10;
  std::size_t total = prefix + dict.size() + 1;
  if ((total + 63) / 64 * 64 - prefix > 65535) prefix = 12;
  total = prefix + dict.size() + 1;
  const std::size_t header_len = (total + 63) / 64 * 64 - prefix;
  dict.append(header_len - dict.size() - 1, ' ');
  dict += '\n';

  unsigned char pre[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<unsigned char>(prefix == 10 ? 1 : 2), 0};
  if (prefix == 10) {
    pre[8] = static_cast<unsigned char>(header_len & 0xff);
    pre[9] = static_cast<unsigned char>(header_len >> 8);
  } else {
    detail::store_le32(pre + 8, static_cast<std::uint32_t>(header_len));
  }
  atomic_writer out(path);
  out.write(pre, prefix);
  out.write(dict);
  std::vector<unsigned char> chunk;
  constexpr std::size_t per_chunk = 1 << 16;
  for (std::size_t i = 0; i < count; i += per_chunk) {
    const std::size_t m = std::min(per_chunk, count - i);
    chunk.resize(4 * m);
    for (std::size_t k = 0; k < m; ++k) detail::store_le32(chunk.data() + 4 * k, detail::bit_cast_to<std::uint32_t>(data[i + k]));
    out.write(chunk.data(), chunk.size());
  }
  out.commit();
}

inline void write_npy(const std::string& path, const std::vector<std::int64_t>& shape, const std::vector<float>& data) {
  write_npy(path, shape, data.data(), data.size());
}

}  // namespace vtrans::io
