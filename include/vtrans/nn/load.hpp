#pragma once
// Loading a Hugging Face model folder (config.json + safetensors, single or sharded) straight into
// a transformer. The model is allocated without initial values; every tensor is checked against the
// shape config.json implies, decoded once from the mapped file into its parameter's memory, and its
// pages of the file handed back, so that loading peaks at the model plus (for GPT-2's transposed
// Conv1D weights, or a backend whose memory is not the host's) one tensor. The layers' matrices
// may stay in 16 bits (load_options::matrices): a BF16 / F16 checkpoint's bits are copied as they
// are. A memory cap refuses a checkpoint too big for it before anything is allocated.
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <new>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "vtrans/error.hpp"
#include "vtrans/io/checkpoint_reader.hpp"
#include "vtrans/io/config_check.hpp"
#include "vtrans/io/model_config.hpp"
#include "vtrans/io/weight_names.hpp"
#include "vtrans/nn/transformer.hpp"
#include "vtrans/tensor/half.hpp"

namespace vtrans::nn {

// The environment variable that caps the memory the loaded tensors may take.
inline constexpr const char* memory_cap_variable = "VTRANS_MEMORY_CAP";

// "123", "512K", "8G", "8GiB", "1.5G" -> bytes (K, M, G, T: powers of 1024). `what` names the
// source of the text in the error.
inline std::uint64_t parse_memory_size(const std::string& text, const std::string& what) {
  const auto bad = [&] { return usage_error(what + ": \"" + text + "\" is not a size (bytes, or a number with K, M, G or T)"); };
  if (text.empty()) throw bad();
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    throw bad();
  }
  if (!std::isdigit(static_cast<unsigned char>(text[0]))) throw bad();  // no sign, space, inf or nan
  std::string unit = text.substr(used);
  for (char& ch : unit) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  double scale = 1;
  if (!unit.empty() && unit != "B") {
    const std::string letters = "KMGT";
    const auto at = letters.find(unit[0]);
    if (at == std::string::npos || !(unit.size() == 1 || unit.substr(1) == "B" || unit.substr(1) == "IB")) throw bad();
    for (std::size_t i = 0; i <= at; ++i) scale *= 1024;
  }
  const double bytes = v * scale;
  if (bytes >= 18446744073709551615.0) throw bad();
  return static_cast<std::uint64_t>(bytes);
}

struct load_options {
  std::uint64_t memory_cap = 0;             // bytes the loaded tensors may take; 0: no cap
  std::string cap_origin = "load_options";  // where the cap came from, for the error
  matrix_dtype matrices = matrix_dtype::compute;  // the layers' matrices in T, bf16, f16 or as stored

  // The cap from VTRANS_MEMORY_CAP (none when unset or empty).
  static load_options from_environment() {
    load_options o;
    const char* env = std::getenv(memory_cap_variable);
    if (env && *env) {
      o.memory_cap = parse_memory_size(env, memory_cap_variable);
      o.cap_origin = memory_cap_variable;
    }
    return o;
  }
};

namespace detail {
// GPT-2's Conv1D stores [in, out]; we keep [out, in].
template <class T>
void transpose_into(const T* v, index rows, index cols, T* out) {
  for (index r = 0; r < rows; ++r)
    for (index c = 0; c < cols; ++c) out[c * rows + r] = v[r * cols + c];
}
template <class T>
std::vector<T> transposed(const std::vector<T>& v, index rows, index cols) {
  std::vector<T> out(v.size());
  transpose_into(v.data(), rows, cols, out.data());
  return out;
}
// Names that hold a copy of a tied matrix (the word embeddings) rather than a parameter of their own.
inline bool is_tied_copy(const io::model_config& c, const std::string& canonical) {
  const head_roles& h = c.spec().heads;
  if (!h.mlm_decoder.empty() && (canonical == std::string(h.mlm_decoder) + ".weight" || canonical == std::string(h.mlm_decoder) + ".bias"))
    return true;  // the decoder's bias is the head's own output bias
  return h.lm_head.present() && c.tie_word_embeddings && canonical == weight_name(h.lm_head);
}
// Decodes n values of a checkpoint tensor into dst (float, double, or a 16-bit type: its own
// dtype's bits copied, another dtype rounded), in chunks spread over the threads.
template <class T>
void decode(io::dtype type, io::byte_span src, std::size_t n, T* dst) {
  constexpr std::size_t chunk = std::size_t(1) << 18;
  const std::size_t width = io::dtype_size(type);
  const auto chunks = static_cast<std::int64_t>((n + chunk - 1) / chunk);
#ifdef _OPENMP  // nvcc's host pass compiles without OpenMP
#pragma omp parallel for schedule(static) if (chunks > 1)
#endif
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::size_t begin = std::size_t(c) * chunk, count = std::min(chunk, n - begin);
    const unsigned char* from = src.data + begin * width;
    if constexpr (is_half_v<T>) {
      if (type == (std::is_same_v<T, bf16> ? io::dtype::bf16 : io::dtype::f16)) {
        for (std::size_t i = 0; i < count; ++i) dst[begin + i] = T::from_bits(io::detail::load_le16(from + 2 * i));
      } else {
        std::vector<float> wide(count);
        io::decode_le(type, from, count, wide.data());
        narrow(count, wide.data(), dst + begin);
      }
    } else {
      io::decode_le(type, from, count, dst + begin);
    }
  }
}

// Decodes a checkpoint tensor into `dst` (B's memory), transposing GPT-2's Conv1D [in, out]
// weights (s is the stored shape); staging is one tensor, used where decoding in place is impossible.
template <class B, class T>
void fill(const io::checkpoint_reader& reader, const std::string& name, const shape& s, bool conv1d, T* dst, std::vector<T>& staging) {
  constexpr bool host_memory = std::is_same_v<B, cpu>;
  const io::tensor_info& info = reader.info(name);
  const std::size_t n = std::size_t(s.numel());
  if (host_memory && !conv1d) {
    decode(info.dtype, reader.raw(name), n, dst);
    B::transfers().count_upload(sizeof(T) * std::uint64_t(n));  // as B::upload would count it
  } else {
    staging.resize(n);
    decode(info.dtype, reader.raw(name), n, staging.data());
    if (conv1d && host_memory) {
      transpose_into(staging.data(), s[0], s[1], dst);
    } else {
      B::upload(conv1d ? transposed(staging, s[0], s[1]).data() : staging.data(), index(n), dst);
    }
  }
  reader.release(name);
}
}  // namespace detail

// Bytes that the parameters read from a checkpoint take in memory at `bytes_per_value` each (the
// layers' matrices at 2 with 16-bit matrices): every tensor that names a parameter of the config's
// family (buffers and tied copies are not read). An upper bound: a tensor of a head the model does
// not have counts too.
inline std::uint64_t bytes_to_load(const io::checkpoint_reader& reader, const io::model_config& config, std::size_t bytes_per_value,
                                   matrix_dtype matrices = matrix_dtype::compute) {
  std::set<std::string> half;
  if (matrices != matrix_dtype::compute)
    for (auto& m : layer_matrix_names(config)) half.insert(std::move(m));
  std::uint64_t total = 0;
  for (const std::string& name : reader.names()) {
    const auto canonical = io::canonical_name(config.family, name);
    if (canonical && !detail::is_tied_copy(config, *canonical))
      total += std::uint64_t(reader.info(name).numel()) * (half.count(*canonical) ? 2 : bytes_per_value);
  }
  return total;
}

// matrix_dtype::as_stored made definite: the 16-bit type of the checkpoint's layer matrices, or
// compute when they are stored otherwise (or the model has none).
inline matrix_dtype resolve_matrices(const io::checkpoint_reader& reader, const io::model_config& config, matrix_dtype wanted) {
  if (wanted != matrix_dtype::as_stored) return wanted;
  const auto names = layer_matrix_names(config);
  if (names.empty()) return matrix_dtype::compute;
  for (const std::string& name : reader.names())
    if (io::canonical_name(config.family, name) == names.front()) {
      const io::dtype t = reader.info(name).dtype;
      return t == io::dtype::bf16 ? matrix_dtype::bf16 : t == io::dtype::f16 ? matrix_dtype::f16 : matrix_dtype::compute;
    }
  return matrix_dtype::compute;  // missing: the loader names it
}

// The bytes the checkpoint's tensors take as T; throws vtrans::resource_error naming the
// checkpoint when that exceeds the cap.
template <class T>
std::uint64_t check_memory_cap(const io::checkpoint_reader& reader, const io::model_config& config, const load_options& opt) {
  const std::uint64_t need = bytes_to_load(reader, config, sizeof(T), resolve_matrices(reader, config, opt.matrices));
  if (opt.memory_cap != 0 && need > opt.memory_cap)
    throw resource_error(reader.source() + ": its tensors take " + std::to_string(need) + " bytes in memory (" +
                         std::to_string(need >> 20) + " MiB as " + (sizeof(T) == 4 ? "float" : "double") +
                         (resolve_matrices(reader, config, opt.matrices) == matrix_dtype::compute ? "" : ", layer matrices in 16 bits") +
                         "), more than the memory cap of " + std::to_string(opt.memory_cap) + " bytes (" + opt.cap_origin + ")");
  return need;
}

// Fills every parameter of `model` from the checkpoint, reading each tensor once, front to back.
// Throws io::format_error naming the file and tensor for a missing tensor or a shape that disagrees
// with config.json; returns the names of checkpoint tensors the model does not use.
template <class Model>
std::vector<std::string> load_weights(Model& model, const io::checkpoint_reader& reader) {
  using T = typename Model::value_type;
  using B = typename Model::backend;
  const io::family f = model.config().family;
  std::set<std::string> loaded;
  std::vector<std::string> unused;
  std::vector<T> staging;  // one tensor at a time, only where decoding in place is impossible
  std::vector<bf16> staging_bf16;
  std::vector<f16> staging_f16;
  for (const std::string& name : reader.names_in_file_order()) {
    const auto canonical = io::canonical_name(f, name);
    if (!canonical) continue;  // a buffer, not a parameter
    const auto* half = model.find_frozen(*canonical);
    if (!model.has_parameter(*canonical) && !half) {
      if (!detail::is_tied_copy(model.config(), *canonical)) unused.push_back(name);
      continue;
    }
    const io::tensor_info& info = reader.info(name);
    const shape s = shape::from_range(info.shape.begin(), info.shape.end());
    const bool conv1d = io::is_conv1d_weight(f, *canonical) && s.rank() == 2;
    const shape stored = conv1d ? shape{s[1], s[0]} : s;
    const shape expected = half ? half->shape : model.parameter(*canonical).shape();
    if (stored != expected)
      throw io::format_error(reader.shard_path(name) + ": tensor " + name + " has shape " + stored.str() + " but config.json implies " +
                             expected.str());
    if (!half) {
      auto p = model.parameter(*canonical);  // a handle: its value is filled in place
      detail::fill<B>(reader, name, s, conv1d, p.value().data(), staging);
    } else if (model.matrices() == matrix_dtype::bf16) {
      tensor<bf16, B> m(stored);
      detail::fill<B>(reader, name, s, conv1d, m.data(), staging_bf16);
      model.assign_frozen(*canonical, std::move(m));
    } else {
      tensor<f16, B> m(stored);
      detail::fill<B>(reader, name, s, conv1d, m.data(), staging_f16);
      model.assign_frozen(*canonical, std::move(m));
    }
    loaded.insert(*canonical);
  }
  for (const auto& [name, p] : model.parameters())
    if (!loaded.count(name)) throw io::format_error(reader.source() + ": missing tensor " + name + " (required by config.json)");
  for (const auto& m : model.frozen_matrices())
    if (!loaded.count(m.name)) throw io::format_error(reader.source() + ": missing tensor " + m.name + " (required by config.json)");
  return unused;
}

// The same from a path: a model folder, an index .json or a .safetensors file.
template <class Model>
std::vector<std::string> load_weights(Model& model, const std::string& path) {
  return load_weights(model, io::checkpoint_reader(path));
}

// The model in a Hugging Face folder; the head comes from config.json's "architectures". Family
// may be nn::any_family: the model is then of whatever family the folder holds. Every tensor the
// config implies is checked against the checkpoint's header first, so a config that disagrees
// with its weights fails naming both, before anything of its size is allocated. The parameters
// are allocated uninitialised and filled from the checkpoint (no random numbers are drawn); the
// layers' matrices are kept as opt.matrices says.
template <class Family, class B = cpu, class T = float>
transformer<Family, masks::none, B, T> load_pretrained(const std::string& dir, const load_options& opt = load_options::from_environment()) {
  const std::string config_path = (std::filesystem::path(dir) / "config.json").string();
  io::model_config config = io::load_config(config_path);
  if (!accepts<Family>(config.family))
    throw io::format_error(config_path + ": model_type is " + std::string(config.family.name()) + ", expected " + family_label<Family>());
  const head_kind head = head_from_architectures(config.family, config.architectures, config_path);
  const io::checkpoint_reader reader(dir);
  io::check_config_against_checkpoint(config, head, reader, config_path);  // before the config's sizes are allocated
  const std::uint64_t need = check_memory_cap<T>(reader, config, opt);
  try {
    const for_loading_t tag(resolve_matrices(reader, config, opt.matrices));
    transformer<Family, masks::none, B, T> model(std::move(config), head, tag);
    load_weights(model, reader);
    return model;
  } catch (const std::bad_alloc&) {
    throw resource_error(reader.source() + ": its tensors (" + std::to_string(need >> 20) + " MiB in memory) do not fit in memory");
  }
}

}  // namespace vtrans::nn
