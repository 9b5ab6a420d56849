#pragma once
// The protocol-buffers wire format, as much as vtrans needs without depending on protobuf:
// writing the few messages an ONNX model consists of (onnx.hpp), and reading single fields of a
// serialized message (a SentencePiece model's normalizer settings).
//
// A message is a sequence of (field number << 3 | wire type) keys, each followed by a varint
// (type 0), 8 bytes (1), a varint length and that many bytes (2: strings, bytes, nested messages,
// packed repeated numbers) or 4 bytes (5). Repeated fields are written one entry per key. Integers are little-endian base-128 varints; negative
// int64 values take ten bytes (two's complement), floats are little-endian IEEE.
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace vtrans::io::protobuf {

enum wire_type : std::uint32_t { varint = 0, fixed64 = 1, length_delimited = 2, fixed32 = 5 };

// Serializes one message; nested messages are written into their own writer and added as bytes.
class writer {
 public:
  void add_varint(std::uint32_t field, std::uint64_t v) {
    key(field, varint);
    put_varint(v);
  }
  void add_int(std::uint32_t field, std::int64_t v) { add_varint(field, static_cast<std::uint64_t>(v)); }
  void add_float(std::uint32_t field, float v) {
    key(field, fixed32);
    std::uint32_t bits;
    std::memcpy(&bits, &v, 4);
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>(bits >> (8 * i)));
  }
  void add_bytes(std::uint32_t field, std::string_view bytes) {
    key(field, length_delimited);
    put_varint(bytes.size());
    out_.append(bytes.data(), bytes.size());
  }
  void add_message(std::uint32_t field, const writer& m) { add_bytes(field, m.bytes()); }
  const std::string& bytes() const { return out_; }
  std::string release() { return std::move(out_); }

 private:
  void key(std::uint32_t field, wire_type t) { put_varint((std::uint64_t{field} << 3) | t); }
  void put_varint(std::uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  std::string out_;
};

// One field of a message as read: its number, wire type, and value (a varint, or the bytes of a
// length-delimited field; fixed-size values are kept as their raw bytes).
struct field {
  std::uint32_t number = 0;
  wire_type type = varint;
  std::uint64_t value = 0;
  std::string_view bytes;
};

// Walks the top-level fields of a serialized message. Malformed input throws std::runtime_error
// naming `source` and the byte offset.
class reader {
 public:
  reader(std::string_view message, std::string source) : m_(message), source_(std::move(source)) {}

  std::optional<field> next() {
    if (pos_ >= m_.size()) return std::nullopt;
    const std::size_t at = pos_;
    const std::uint64_t k = get_varint();
    field f;
    f.number = static_cast<std::uint32_t>(k >> 3);
    f.type = static_cast<wire_type>(k & 7);
    switch (f.type) {
      case varint: f.value = get_varint(); break;
      case fixed64: f.bytes = take(8); break;
      case fixed32: f.bytes = take(4); break;
      case length_delimited: f.bytes = take(get_varint()); break;
      default: fail(at, "unsupported wire type " + std::to_string(k & 7));
    }
    if (f.number == 0) fail(at, "field number 0");
    return f;
  }

  // The last occurrence of a field (protobuf's rule for repeated scalars read as singular).
  static std::optional<field> find(std::string_view message, std::uint32_t number, const std::string& source) {
    reader r(message, source);
    std::optional<field> hit;
    while (auto f = r.next())
      if (f->number == number) hit = f;
    return hit;
  }

 private:
  [[noreturn]] void fail(std::size_t at, const std::string& what) const {
    throw std::runtime_error(source_ + ": malformed protobuf at byte " + std::to_string(at) + ": " + what);
  }
  std::uint64_t get_varint() {
    const std::size_t at = pos_;
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= m_.size()) fail(at, "truncated varint");
      const auto b = static_cast<unsigned char>(m_[pos_++]);
      v |= std::uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    fail(at, "varint longer than ten bytes");
  }
  std::string_view take(std::uint64_t n) {
    if (n > m_.size() - pos_) fail(pos_, "field of " + std::to_string(n) + " bytes runs past the end");
    const std::string_view s = m_.substr(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }

  std::string_view m_;
  std::string source_;
  std::size_t pos_ = 0;
};

}  // namespace vtrans::io::protobuf
