#pragma once
// Loading a Hugging Face model folder (config.json + safetensors, single or sharded) straight into
// a transformer. The model is allocated without initial values; every tensor is checked against the
// shape config.json implies, decoded once from the mapped file into its parameter's memory, and its
// pages of the file handed back, so that loading peaks at the model plus (for GPT-2's transposed
// Conv1D weights, or a backend whose memory is not the host's) one tensor. A memory cap refuses a
// checkpoint too big for it before anything is allocated.
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
#include "vtrans/io/model_config.hpp"
#include "vtrans/io/weight_names.hpp"
#include "vtrans/nn/transformer.hpp"

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
// Decodes n values of a checkpoint tensor into dst, in chunks spread over the threads.
template <class T>
void decode(io::dtype type, io::byte_span src, std::size_t n, T* dst) {
  constexpr std::size_t chunk = std::size_t(1) << 18;
  const std::size_t width = io::dtype_size(type);
  const auto chunks = static_cast<std::int64_t>((n + chunk - 1) / chunk);
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::size_t begin = std::size_t(c) * chunk;
    io::decode_le(type, src.data + begin * width, std::min(chunk, n - begin), dst + begin);
  }
}
}  // namespace detail

// Bytes that the parameters read from a checkpoint take in memory at `bytes_per_value` each: every
// tensor that names a parameter of the config's family (buffers and tied copies are not read). An
// upper bound: a tensor of a head the model does not have counts too.
inline std::uint64_t bytes_to_load(const io::checkpoint_reader& reader, const io::model_config& config, std::size_t bytes_per_value) {
  std::uint64_t total = 0;
  for (const std::string& name : reader.names()) {
    const auto canonical = io::canonical_name(config.family, name);
    if (canonical && !detail::is_tied_copy(config, *canonical)) total += std::uint64_t(reader.info(name).numel()) * bytes_per_value;
  }
  return total;
}

// The bytes the checkpoint's tensors take as T; throws vtrans::resource_error naming the
// checkpoint when that exceeds the cap.
template <class T>
std::uint64_t check_memory_cap(const io::checkpoint_reader& reader, const io::model_config& config, const load_options& opt) {
  const std::uint64_t need = bytes_to_load(reader, config, sizeof(T));
  if (opt.memory_cap != 0 && need > opt.memory_cap)
    throw resource_error(reader.source() + ": its tensors take " + std::to_string(need) + " bytes in memory (" +
                         std::to_string(need >> 20) + " MiB as " + (sizeof(T) == 4 ? "float" : "double") +
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
  constexpr bool host_memory = std::is_same_v<B, cpu>;  // decode straight into the parameter
  const io::family f = model.config().family;
  std::set<std::string> loaded;
  std::vector<std::string> unused;
  std::vector<T> staging, transposed;  // one tensor at a time, only where decoding in place is impossible
  for (const std::string& name : reader.names_in_file_order()) {
    const auto canonical = io::canonical_name(f, name);
    if (!canonical) continue;  // a buffer, not a parameter
    if (!model.has_parameter(*canonical)) {
      if (!detail::is_tied_copy(model.config(), *canonical)) unused.push_back(name);
      continue;
    }
    const io::tensor_info& info = reader.info(name);
    const shape s = shape::from_range(info.shape.begin(), info.shape.end());
    const bool conv1d = io::is_conv1d_weight(f, *canonical) && s.rank() == 2;
    const shape stored = conv1d ? shape{s[1], s[0]} : s;
    auto p = model.parameter(*canonical);  // a handle: its value is filled in place
    if (stored != p.shape())
      throw io::format_error(reader.shard_path(name) + ": tensor " + name + " has shape " + stored.str() + " but config.json implies " +
                             p.shape().str());
    const std::size_t n = std::size_t(s.numel());
    T* const dst = p.value().data();
    if (host_memory && !conv1d) {
      detail::decode(info.dtype, reader.raw(name), n, dst);
      B::transfers().count_upload(sizeof(T) * std::uint64_t(n));  // as B::upload would count it
    } else {
      staging.resize(n);
      detail::decode(info.dtype, reader.raw(name), n, staging.data());
      const T* values = staging.data();
      if (conv1d) {
        if (host_memory) {
          detail::transpose_into(staging.data(), s[0], s[1], dst);
          values = nullptr;
        } else {
          transposed.resize(n);
          detail::transpose_into(staging.data(), s[0], s[1], transposed.data());
          values = transposed.data();
        }
      }
      if (values) B::upload(values, index(n), dst);
    }
    reader.release(name);
    loaded.insert(*canonical);
  }
  for (const auto& [name, p] : model.parameters())
    if (!loaded.count(name)) throw io::format_error(reader.source() + ": missing tensor " + name + " (required by config.json)");
  return unused;
}

// The same from a path: a model folder, an index .json or a .safetensors file.
template <class Model>
std::vector<std::string> load_weights(Model& model, const std::string& path) {
  return load_weights(model, io::checkpoint_reader(path));
}

// The model in a Hugging Face folder; the head comes from config.json's "architectures". Family
// may be nn::any_family: the model is then of whatever family the folder holds. The parameters
// are allocated uninitialised and filled from the checkpoint (no random numbers are drawn).
template <class Family, class B = cpu, class T = float>
transformer<Family, masks::none, B, T> load_pretrained(const std::string& dir, const load_options& opt = load_options::from_environment()) {
  const std::string config_path = (std::filesystem::path(dir) / "config.json").string();
  io::model_config config = io::load_config(config_path);
  if (!accepts<Family>(config.family))
    throw io::format_error(config_path + ": model_type is " + std::string(config.family.name()) + ", expected " + family_label<Family>());
  const head_kind head = head_from_architectures(config.family, config.architectures, config_path);
  const io::checkpoint_reader reader(dir);
  const std::uint64_t need = check_memory_cap<T>(reader, config, opt);
  try {
    transformer<Family, masks::none, B, T> model(std::move(config), head, for_loading);
    load_weights(model, reader);
    return model;
  } catch (const std::bad_alloc&) {
    throw resource_error(reader.source() + ": its tensors (" + std::to_string(need >> 20) + " MiB in memory) do not fit in memory");
  }
}

}  // namespace vtrans::nn
