#pragma once
// Loading a Hugging Face model folder (config.json + safetensors, single or sharded) into a
// transformer, with every tensor checked against the shapes config.json implies.
#include <filesystem>
#include <set>
#include <string>

#include "vtrans/io/checkpoint_reader.hpp"
#include "vtrans/io/model_config.hpp"
#include "vtrans/io/weight_names.hpp"
#include "vtrans/nn/transformer.hpp"

namespace vtrans::nn {

namespace detail {
// GPT-2's Conv1D stores [in, out]; we keep [out, in].
template <class T>
std::vector<T> transposed(const std::vector<T>& v, index rows, index cols) {
  std::vector<T> out(v.size());
  for (index r = 0; r < rows; ++r)
    for (index c = 0; c < cols; ++c) out[std::size_t(c * rows + r)] = v[std::size_t(r * cols + c)];
  return out;
}
// Names that hold a copy of a tied matrix (the word embeddings) rather than a parameter of their own.
inline bool is_tied_copy(const io::model_config& c, const std::string& canonical) {
  const head_roles& h = c.spec().heads;
  if (!h.mlm_decoder.empty() && (canonical == std::string(h.mlm_decoder) + ".weight" || canonical == std::string(h.mlm_decoder) + ".bias"))
    return true;  // the decoder's bias is the head's own output bias
  return h.lm_head.present() && c.tie_word_embeddings && canonical == weight_name(h.lm_head);
}
}  // namespace detail

// Overwrites every parameter of `model` from the checkpoint at `path` (folder, index or file).
// Throws io::format_error naming the file and tensor for a missing tensor or a shape that
// disagrees with config.json; returns the names of checkpoint tensors the model does not use.
template <class Model>
std::vector<std::string> load_weights(Model& model, const std::string& path) {
  using T = typename Model::value_type;
  using B = typename Model::backend;
  const io::family f = model.config().family;
  const io::checkpoint_reader reader(path);
  std::set<std::string> loaded;
  std::vector<std::string> unused;
  for (const std::string& name : reader.names()) {
    const auto canonical = io::canonical_name(f, name);
    if (!canonical) continue;  // a buffer, not a parameter
    if (!model.has_parameter(*canonical)) {
      if (!detail::is_tied_copy(model.config(), *canonical)) unused.push_back(name);
      continue;
    }
    const auto& info = reader.info(name);
    shape s = shape::from_range(info.shape.begin(), info.shape.end());
    std::vector<T> values = reader.template read<T>(name);
    if (io::is_conv1d_weight(f, *canonical) && s.rank() == 2) {
      values = detail::transposed(values, s[0], s[1]);
      s = shape{s[1], s[0]};
    }
    const shape expected = model.parameter(*canonical).shape();
    if (s != expected)
      throw io::format_error(reader.shard_path(name) + ": tensor " + name + " has shape " + s.str() + " but config.json implies " + expected.str());
    model.assign(*canonical, tensor<T, B>::from_host(s, values));
    loaded.insert(*canonical);
  }
  for (const auto& [name, p] : model.parameters())
    if (!loaded.count(name)) throw io::format_error(reader.source() + ": missing tensor " + name + " (required by config.json)");
  return unused;
}

// The model in a Hugging Face folder; the head comes from config.json's "architectures". Family
// may be nn::any_family: the model is then of whatever family the folder holds.
template <class Family, class B = cpu, class T = float>
transformer<Family, masks::none, B, T> load_pretrained(const std::string& dir) {
  const std::string config_path = (std::filesystem::path(dir) / "config.json").string();
  io::model_config config = io::load_config(config_path);
  if (!accepts<Family>(config.family))
    throw io::format_error(config_path + ": model_type is " + std::string(config.family.name()) + ", expected " + family_label<Family>());
  const head_kind head = head_from_architectures(config.family, config.architectures, config_path);
  transformer<Family, masks::none, B, T> model(std::move(config), head);
  load_weights(model, dir);
  return model;
}

}  // namespace vtrans::nn
