#pragma once
// The safetensors format: reading by mmap with every header entry validated, and atomic F32 writing.
//   [8 bytes: header size N, u64 LE][N bytes: JSON object][data buffer]
// Header entries are {"dtype", "shape", "data_offsets": [begin, end)} relative to the buffer, plus an
// optional "__metadata__" string->string map. The tensors must tile the buffer exactly.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include "vtrans/io/atomic_file.hpp"
#include "vtrans/io/dtype.hpp"
#include "vtrans/io/errors.hpp"
#include "vtrans/io/json.hpp"
#include "vtrans/io/mapped_file.hpp"

namespace vtrans::io {

struct tensor_info {
  io::dtype dtype = io::dtype::f32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;  // byte offsets into the data buffer, end one past
  std::uint64_t end = 0;

  std::int64_t numel() const {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

// A view of a tensor's raw little-endian bytes inside the mapping.
struct byte_span {
  const unsigned char* data = nullptr;
  std::size_t size = 0;
};

// The reference parser's limit: a header this large is an attack or a corrupt file.
inline constexpr std::uint64_t safetensors_max_header = 100'000'000;
// Dimensions per tensor: real tensors have at most a handful.
inline constexpr std::size_t safetensors_max_rank = 64;

namespace detail {

inline bool mul_overflows(std::uint64_t a, std::uint64_t b, std::uint64_t& out) {
  return __builtin_mul_overflow(a, b, &out);
}

template <class T>
constexpr bool readable_type = std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, std::int64_t>;

}  // namespace detail

class safetensors_file {
 public:
  safetensors_file() = default;
  explicit safetensors_file(const std::string& path) : path_(path), map_(path) { parse(); }
  static safetensors_file open(const std::string& path) { return safetensors_file(path); }

  const std::string& path() const { return path_; }
  std::size_t size() const { return tensors_.size(); }

  // Tensor names in sorted order.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    out.reserve(tensors_.size());
    for (const auto& kv : tensors_) out.push_back(kv.first);
    return out;
  }
  bool has(const std::string& name) const { return tensors_.count(name) != 0; }

  const tensor_info& info(const std::string& name) const {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) detail::fail(path_, "no tensor named " + detail::quote(name));
    return it->second;
  }

  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  byte_span raw(const std::string& name) const {
    const tensor_info& ti = info(name);
    return {map_.data() + data_start_ + ti.begin, static_cast<std::size_t>(ti.end - ti.begin)};
  }

  // Hands the pages holding a tensor's bytes back once they are read (they stay in the page cache):
  // a loader that reads each tensor once then holds the model, not the model plus the file.
  void release(const std::string& name) const {
    const byte_span b = raw(name);
    const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto first = reinterpret_cast<std::uintptr_t>(b.data), last = first + b.size;
    const std::uintptr_t begin = (first + page - 1) / page * page, end = last / page * page;  // whole pages only
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
  }

  // Decode a tensor into dst (count must equal its element count). Floating dtypes convert to float
  // or double; integer and BOOL dtypes to std::int64_t (or to a floating type when asked).
  template <class T>
  void read_into(const std::string& name, T* dst, std::size_t count) const {
    static_assert(detail::readable_type<T>, "read as float, double or std::int64_t");
    const tensor_info& ti = info(name);
    if constexpr (std::is_integral_v<T>) {
      if (is_floating(ti.dtype))
        detail::fail(path_, "tensor " + detail::quote(name) + " has dtype " + std::string(dtype_name(ti.dtype)) +
                                "; read it as float or double, not as an integer");
    }
    const auto n = static_cast<std::size_t>(ti.numel());
    if (count != n)
      detail::fail(path_, "tensor " + detail::quote(name) + " has " + std::to_string(n) + " elements, destination holds " +
                              std::to_string(count));
    decode_le(ti.dtype, map_.data() + data_start_ + ti.begin, n, dst);
  }

  template <class T>
  std::vector<T> read(const std::string& name) const {
    std::vector<T> out(static_cast<std::size_t>(info(name).numel()));
    read_into(name, out.data(), out.size());
    return out;
  }

 private:
  void parse() {
    const std::uint64_t file_size = map_.size();
    if (file_size < 8)
      detail::fail(path_, "file is " + std::to_string(file_size) + " bytes, too short for the 8-byte header size");
    const std::uint64_t n = detail::load_le64(map_.data());
    if (n > safetensors_max_header) detail::fail_limit(path_, "header size", n, safetensors_max_header);
    if (n > file_size - 8)
      detail::fail(path_, "header size " + std::to_string(n) + " runs past the end of the file (" +
                              std::to_string(file_size) + " bytes)");
    const char* h = reinterpret_cast<const char*>(map_.data() + 8);
    if (n == 0 || h[0] != '{') detail::fail(path_, "header (offset 8) is not a JSON object: it must start with '{'");

    // Duplicate names are refused by the parse: readers that keep the first or the last one
    // would otherwise see different models in the same file.
    const nlohmann::json header = parse_json(std::string_view(h, n), path_ + ": header");
    if (!header.is_object()) detail::fail(path_, "header is not a JSON object");

    data_start_ = 8 + n;
    const std::uint64_t buffer_size = file_size - data_start_;

    for (auto it = header.begin(); it != header.end(); ++it) {
      const std::string& name = it.key();
      if (name == "__metadata__") {
        parse_metadata(it.value());
        continue;
      }
      tensors_.emplace(name, parse_entry(name, it.value(), buffer_size));
    }
    check_tiling(buffer_size);
  }

  void parse_metadata(const nlohmann::json& m) {
    if (m.is_null()) return;
    if (!m.is_object()) detail::fail(path_, "\"__metadata__\" must be an object of strings, got " + std::string(m.type_name()));
    for (auto it = m.begin(); it != m.end(); ++it) {
      if (!it.value().is_string())
        detail::fail(path_, "\"__metadata__\" key " + detail::quote(it.key()) + " must map to a string, got " +
                                std::string(it.value().type_name()));
      metadata_.emplace(it.key(), it.value().get<std::string>());
    }
  }

  tensor_info parse_entry(const std::string& name, const nlohmann::json& e, std::uint64_t buffer_size) const {
    const std::string where = "tensor " + detail::quote(name);
    if (!e.is_object()) detail::fail(path_, where + ": entry must be an object, got " + std::string(e.type_name()));
    tensor_info ti;

    auto dt = e.find("dtype");
    if (dt == e.end() || !dt->is_string()) detail::fail(path_, where + ": missing or non-string \"dtype\"");
    auto parsed = parse_dtype(dt->get_ref<const std::string&>());
    if (!parsed) detail::fail(path_, where + ": unsupported dtype " + detail::quote(dt->get_ref<const std::string&>()));
    ti.dtype = *parsed;

    auto sh = e.find("shape");
    if (sh == e.end() || !sh->is_array()) detail::fail(path_, where + ": missing or non-array \"shape\"");
    if (sh->size() > safetensors_max_rank)
      throw resource_error(path_ + ": " + where + ": shape has " + std::to_string(sh->size()) + " dimensions, more than the limit of " +
                           std::to_string(safetensors_max_rank));
    std::uint64_t numel = 1;
    bool overflow = false;
    for (const auto& d : *sh) {
      if (d.is_number_integer() && !d.is_number_unsigned())
        detail::fail(path_, where + ": negative dimension " + detail::show(d) + " in shape");
      if (!d.is_number_unsigned() || d.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        detail::fail(path_, where + ": shape entries must be non-negative integers, got " + detail::show(d));
      const auto v = d.get<std::uint64_t>();
      ti.shape.push_back(static_cast<std::int64_t>(v));
      overflow = overflow || detail::mul_overflows(numel, v, numel);
    }
    std::uint64_t bytes = 0;
    overflow = overflow || detail::mul_overflows(numel, dtype_size(ti.dtype), bytes);

    auto off = e.find("data_offsets");
    if (off == e.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned())
      detail::fail(path_, where + ": \"data_offsets\" must be two non-negative integers, got " +
                              (off == e.end() ? std::string("nothing") : detail::show(*off)));
    ti.begin = (*off)[0].get<std::uint64_t>();
    ti.end = (*off)[1].get<std::uint64_t>();
    const std::string range = "[" + std::to_string(ti.begin) + ", " + std::to_string(ti.end) + ")";
    if (ti.begin > ti.end) detail::fail(path_, where + ": data_offsets " + range + " end before they begin");
    if (ti.end > buffer_size)
      detail::fail(path_, where + ": data_offsets " + range + " out of range of the " + std::to_string(buffer_size) +
                              "-byte data buffer");
    if (overflow || bytes != ti.end - ti.begin)
      detail::fail(path_, where + ": shape " + detail::shape_text(ti.shape) + " of " + std::string(dtype_name(ti.dtype)) +
                              " needs " + (overflow ? std::string("more than 2^64") : std::to_string(bytes)) +
                              " bytes but data_offsets " + range + " hold " + std::to_string(ti.end - ti.begin));
    return ti;
  }

  // The buffer must be covered exactly once: no gaps (hidden data) and no shared bytes.
  void check_tiling(std::uint64_t buffer_size) const {
    std::vector<std::pair<const std::string*, const tensor_info*>> order;
    order.reserve(tensors_.size());
    for (const auto& kv : tensors_) order.emplace_back(&kv.first, &kv.second);
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
      return std::tie(a.second->begin, a.second->end, *a.first) < std::tie(b.second->begin, b.second->end, *b.first);
    });
    std::uint64_t covered = 0;
    const std::string* last = nullptr;
    for (const auto& [name, ti] : order) {
      if (ti->begin > covered)
        detail::fail(path_, "hole in the data buffer: bytes [" + std::to_string(covered) + ", " + std::to_string(ti->begin) +
                                ") before tensor " + detail::quote(*name) + " belong to no tensor");
      if (ti->begin < covered)
        detail::fail(path_, "tensor " + detail::quote(*name) + " at [" + std::to_string(ti->begin) + ", " +
                                std::to_string(ti->end) + ") overlaps tensor " + detail::quote(last ? *last : "") +
                                " ending at " + std::to_string(covered));
      if (ti->end > covered || !last) last = name;
      covered = std::max(covered, ti->end);
    }
    if (covered != buffer_size)
      detail::fail(path_, "hole in the data buffer: bytes [" + std::to_string(covered) + ", " + std::to_string(buffer_size) +
                              ") after the last tensor belong to no tensor");
  }

  std::string path_;
  mapped_file map_;
  std::uint64_t data_start_ = 0;
  std::map<std::string, tensor_info> tensors_;
  std::map<std::string, std::string> metadata_;
};

// ---- writing -------------------------------------------------------------------------------

// A tensor to write, owning its values: F32 in `data`, or, with type BF16 or F16, the 16-bit
// patterns in `bits16` (a model's matrices kept in 16 bits are written as they are held).
struct named_tensor {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> data;
  dtype type = dtype::f32;
  std::vector<std::uint16_t> bits16{};
};

// A tensor to write, borrowing its values (no copy of large weights); as named_tensor.
struct tensor_view {
  std::string name;
  std::vector<std::int64_t> shape;
  const float* data = nullptr;
  std::size_t size = 0;
  dtype type = dtype::f32;
  const std::uint16_t* bits16 = nullptr;
};

inline const std::map<std::string, std::string>& default_safetensors_metadata() {
  static const std::map<std::string, std::string> m{{"format", "pt"}};
  return m;
}

// Write F32, BF16 and F16 tensors, laid out in name order, atomically. An empty metadata map writes no "__metadata__".
inline void write_safetensors(const std::string& path, std::vector<tensor_view> tensors,
                              const std::map<std::string, std::string>& metadata = default_safetensors_metadata()) {
  std::sort(tensors.begin(), tensors.end(), [](const tensor_view& a, const tensor_view& b) { return a.name < b.name; });
  nlohmann::json header = nlohmann::json::object();
  std::uint64_t offset = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const tensor_view& t = tensors[i];
    const std::string where = "tensor " + detail::quote(t.name);
    if (t.name.empty() || t.name == "__metadata__") detail::fail(path, "cannot write a tensor named " + detail::quote(t.name));
    if (i > 0 && tensors[i - 1].name == t.name) detail::fail(path, "duplicate " + where);
    std::uint64_t numel = 1;
    bool overflow = false;
    for (auto d : t.shape) {
      if (d < 0) detail::fail(path, where + ": negative dimension in shape " + detail::shape_text(t.shape));
      overflow = overflow || detail::mul_overflows(numel, static_cast<std::uint64_t>(d), numel);
    }
    if (overflow || numel != t.size)
      detail::fail(path, where + ": shape " + detail::shape_text(t.shape) + " does not match its " + std::to_string(t.size) +
                             " values");
    if (t.type != dtype::f32 && t.type != dtype::bf16 && t.type != dtype::f16)
      detail::fail(path, where + ": cannot write dtype " + std::string(dtype_name(t.type)) + " (F32, BF16 or F16)");
    if (t.size > 0 && (t.type == dtype::f32 ? !t.data : !t.bits16)) detail::fail(path, where + ": null data");
    const std::uint64_t bytes = (t.type == dtype::f32 ? 4 : 2) * numel;
    header[t.name] = {{"dtype", dtype_name(t.type)}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;

  std::string text;
  try {
    text = header.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
  } catch (const nlohmann::json::exception&) {
    detail::fail(path, "a tensor name or metadata string is not valid UTF-8");
  }
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the buffer 8-byte aligned in the file
  unsigned char size_le[8];
  detail::store_le64(size_le, text.size());

  atomic_writer out(path);
  out.write(size_le, 8);
  out.write(text);
  std::vector<unsigned char> chunk;
  for (const tensor_view& t : tensors) {
    constexpr std::size_t per_chunk = 1 << 16;
    for (std::size_t i = 0; i < t.size; i += per_chunk) {
      const std::size_t m = std::min(per_chunk, t.size - i);
      if (t.type == dtype::f32) {
        chunk.resize(4 * m);
        for (std::size_t k = 0; k < m; ++k) detail::store_le32(chunk.data() + 4 * k, detail::bit_cast_to<std::uint32_t>(t.data[i + k]));
      } else {
        chunk.resize(2 * m);
        for (std::size_t k = 0; k < m; ++k) {
          chunk[2 * k] = static_cast<unsigned char>(t.bits16[i + k] & 0xff);
          chunk[2 * k + 1] = static_cast<unsigned char>(t.bits16[i + k] >> 8);
        }
      }
      out.write(chunk.data(), chunk.size());
    }
  }
  out.commit();
}

inline void write_safetensors(const std::string& path, const std::vector<named_tensor>& tensors,
                              const std::map<std::string, std::string>& metadata = default_safetensors_metadata()) {
  std::vector<tensor_view> views;
  views.reserve(tensors.size());
  for (const auto& t : tensors)
    views.push_back(t.type == dtype::f32 ? tensor_view{t.name, t.shape, t.data.data(), t.data.size()}
                                         : tensor_view{t.name, t.shape, nullptr, t.bits16.size(), t.type, t.bits16.data()});
  write_safetensors(path, std::move(views), metadata);
}

}  // namespace vtrans::io
