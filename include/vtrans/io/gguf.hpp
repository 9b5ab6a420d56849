#pragma once
// Writing GGUF files (ggml's docs/gguf.md, version 3), the format llama.cpp loads:
//
//   "GGUF" u32 version=3, u64 tensor_count, u64 kv_count
//   kv_count x  {string key, u32 value_type, value}          strings: u64 length + bytes
//   tensor_count x {string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset}
//   zero padding to general.alignment (32), then each tensor's data padded to the alignment
//
// ne lists the dimensions innermost first (ne[0] is the length of a row), so a torch [out, in]
// matrix is written with ne = {in, out}. Tensor values are produced one tensor at a time while the
// file is written, so a model never needs a second copy in memory. The file is written atomically.
#include <cmath>
#include <cstdint>
#include <functional>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "vtrans/error.hpp"
#include "vtrans/io/atomic_file.hpp"
#include "vtrans/io/dtype.hpp"
#include "vtrans/io/errors.hpp"
#include "vtrans/io/float16.hpp"

namespace vtrans::io {

// The ggml element types we write (ggml.h numbering).
enum class ggml_type : std::uint32_t { f32 = 0, f16 = 1, q8_0 = 8, bf16 = 30 };

inline const char* ggml_type_name(ggml_type t) {
  switch (t) {
    case ggml_type::f32: return "f32";
    case ggml_type::f16: return "f16";
    case ggml_type::q8_0: return "q8_0";
    case ggml_type::bf16: return "bf16";
  }
  return "?";
}

// Q8_0: blocks of 32 values stored as one f16 scale d = max|x| / 127 and 32 int8 round(x / d).
inline constexpr std::uint64_t q8_0_block = 32;

inline std::uint64_t ggml_block_size(ggml_type t) { return t == ggml_type::q8_0 ? q8_0_block : 1; }

// Bytes of a row of n values (n a multiple of the block size).
inline std::uint64_t ggml_row_bytes(ggml_type t, std::uint64_t n) {
  switch (t) {
    case ggml_type::f32: return 4 * n;
    case ggml_type::f16:
    case ggml_type::bf16: return 2 * n;
    case ggml_type::q8_0: return n / q8_0_block * (2 + q8_0_block);
  }
  return 0;
}

// Appends n values encoded as type t (n a multiple of the block size).
inline void encode_ggml(ggml_type t, const float* x, std::size_t n, std::vector<unsigned char>& out) {
  const std::size_t start = out.size();
  out.resize(start + ggml_row_bytes(t, n));
  unsigned char* p = out.data() + start;
  auto store16 = [](unsigned char* q, std::uint16_t v) {
    q[0] = static_cast<unsigned char>(v);
    q[1] = static_cast<unsigned char>(v >> 8);
  };
  switch (t) {
    case ggml_type::f32:
      for (std::size_t i = 0; i < n; ++i) detail::store_le32(p + 4 * i, detail::bit_cast_to<std::uint32_t>(x[i]));
      break;
    case ggml_type::f16:
      for (std::size_t i = 0; i < n; ++i) store16(p + 2 * i, float_to_f16(x[i]));
      break;
    case ggml_type::bf16:
      for (std::size_t i = 0; i < n; ++i) store16(p + 2 * i, float_to_bf16(x[i]));
      break;
    case ggml_type::q8_0:
      for (std::size_t b = 0; b < n / q8_0_block; ++b, p += 2 + q8_0_block) {
        const float* v = x + b * q8_0_block;
        float amax = 0;
        for (std::size_t j = 0; j < q8_0_block; ++j) amax = std::max(amax, std::fabs(v[j]));
        const float d = amax / 127, inv = d != 0 ? 1 / d : 0;
        store16(p, float_to_f16(d));
        for (std::size_t j = 0; j < q8_0_block; ++j) p[2 + j] = static_cast<unsigned char>(static_cast<std::int8_t>(std::round(v[j] * inv)));
      }
      break;
  }
}

// A metadata value: the GGUF value types llama.cpp reads for model and tokenizer keys.
using gguf_value = std::variant<std::uint32_t, std::int32_t, float, bool, std::string, std::vector<std::uint32_t>,
                                std::vector<std::int32_t>, std::vector<float>, std::vector<std::string>>;

class gguf_writer {
 public:
  static constexpr std::uint32_t alignment = 32;

  // Sets a key; each key once (GGUF readers take the first of duplicates, so a second is a bug).
  void set(const std::string& key, gguf_value value) {
    if (key.empty()) throw vtrans::usage_error("gguf: empty metadata key");
    if (!keys_.insert(key).second) throw vtrans::usage_error("gguf: metadata key " + key + " set twice");
    kv_.emplace_back(key, std::move(value));
  }
  bool has(const std::string& key) const { return keys_.count(key) != 0; }

  // Adds a tensor of dimensions ne (innermost first) whose row-major values `values` produces
  // when the file is written.
  void add_tensor(const std::string& name, std::vector<std::uint64_t> ne, ggml_type type, std::function<std::vector<float>()> values) {
    if (name.empty() || name.size() >= 64) throw vtrans::usage_error("gguf: tensor name \"" + name + "\" must have 1 to 63 bytes");
    if (!tensor_names_.insert(name).second) throw vtrans::usage_error("gguf: tensor " + name + " added twice");
    if (ne.empty() || ne.size() > 4) throw vtrans::usage_error("gguf: tensor " + name + " must have 1 to 4 dimensions");
    if (ne[0] % ggml_block_size(type) != 0)
      throw vtrans::usage_error("gguf: tensor " + name + " rows of " + std::to_string(ne[0]) + " values cannot be stored as " +
                                  ggml_type_name(type) + " (blocks of " + std::to_string(ggml_block_size(type)) + ")");
    tensors_.push_back({name, std::move(ne), type, std::move(values)});
  }

  struct tensor_entry {
    std::string name;
    std::vector<std::uint64_t> ne;
    ggml_type type;
    std::function<std::vector<float>()> values;
    std::uint64_t elements() const {
      std::uint64_t n = 1;
      for (auto d : ne) n *= d;
      return n;
    }
    std::uint64_t bytes() const { return ggml_row_bytes(type, ne[0]) * (elements() / std::max<std::uint64_t>(1, ne[0])); }
  };
  const std::vector<tensor_entry>& tensors() const { return tensors_; }
  const std::vector<std::pair<std::string, gguf_value>>& metadata() const { return kv_; }

  // Writes the file atomically: complete, or not at all.
  void write(const std::string& path) const {
    atomic_writer out(path);
    std::vector<unsigned char> buf;
    put_u32(buf, 0x46554747u);  // "GGUF" read as a little-endian u32
    put_u32(buf, 3);
    put_u64(buf, tensors_.size());
    put_u64(buf, kv_.size());
    for (const auto& [key, value] : kv_) {
      put_string(buf, key);
      put_value(buf, value);
    }
    std::uint64_t offset = 0;
    for (const auto& t : tensors_) {
      put_string(buf, t.name);
      put_u32(buf, static_cast<std::uint32_t>(t.ne.size()));
      for (auto d : t.ne) put_u64(buf, d);
      put_u32(buf, static_cast<std::uint32_t>(t.type));
      put_u64(buf, offset);
      offset += padded(t.bytes());
    }
    buf.resize(padded(buf.size()), 0);
    out.write(buf.data(), buf.size());
    for (const auto& t : tensors_) {
      const std::vector<float> v = t.values();
      if (v.size() != t.elements())
        throw std::logic_error("gguf: tensor " + t.name + " produced " + std::to_string(v.size()) + " values, its shape holds " +
                               std::to_string(t.elements()));
      buf.clear();
      encode_ggml(t.type, v.data(), v.size(), buf);
      buf.resize(padded(buf.size()), 0);
      out.write(buf.data(), buf.size());
    }
    out.commit();
  }

 private:
  // GGUF value types (gguf.h numbering)
  enum : std::uint32_t { t_u32 = 4, t_i32 = 5, t_f32 = 6, t_bool = 7, t_string = 8, t_array = 9 };

  static std::uint64_t padded(std::uint64_t n) { return (n + alignment - 1) / alignment * alignment; }
  static void put_u32(std::vector<unsigned char>& b, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<unsigned char>(v >> (8 * i)));
  }
  static void put_u64(std::vector<unsigned char>& b, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) b.push_back(static_cast<unsigned char>(v >> (8 * i)));
  }
  static void put_string(std::vector<unsigned char>& b, const std::string& s) {
    put_u64(b, s.size());
    b.insert(b.end(), s.begin(), s.end());
  }
  static void put_scalar(std::vector<unsigned char>& b, std::uint32_t v) { put_u32(b, v); }
  static void put_scalar(std::vector<unsigned char>& b, std::int32_t v) { put_u32(b, static_cast<std::uint32_t>(v)); }
  static void put_scalar(std::vector<unsigned char>& b, float v) { put_u32(b, detail::bit_cast_to<std::uint32_t>(v)); }
  static void put_scalar(std::vector<unsigned char>& b, bool v) { b.push_back(v ? 1 : 0); }
  static void put_scalar(std::vector<unsigned char>& b, const std::string& v) { put_string(b, v); }
  template <class T>
  static std::uint32_t type_of() {
    if constexpr (std::is_same_v<T, std::uint32_t>) return t_u32;
    else if constexpr (std::is_same_v<T, std::int32_t>) return t_i32;
    else if constexpr (std::is_same_v<T, float>) return t_f32;
    else if constexpr (std::is_same_v<T, bool>) return t_bool;
    else return t_string;
  }
  static void put_value(std::vector<unsigned char>& b, const gguf_value& value) {
    std::visit(
        [&](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, std::vector<std::uint32_t>> || std::is_same_v<V, std::vector<std::int32_t>> ||
                        std::is_same_v<V, std::vector<float>> || std::is_same_v<V, std::vector<std::string>>) {
            put_u32(b, t_array);
            put_u32(b, type_of<typename V::value_type>());
            put_u64(b, v.size());
            for (const auto& e : v) put_scalar(b, e);
          } else {
            put_u32(b, type_of<V>());
            put_scalar(b, v);
          }
        },
        value);
  }

  std::vector<std::pair<std::string, gguf_value>> kv_;
  std::set<std::string> keys_, tensor_names_;
  std::vector<tensor_entry> tensors_;
};

}  // namespace vtrans::io
