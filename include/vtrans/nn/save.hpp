#pragma once
// Writing a model as a Hugging Face folder that transformers (and load_pretrained) read back:
//   config.json        io::to_json of the model's config, "architectures" set from the head
//                      (BertForSequenceClassification, GPT2LMHeadModel, ...), id2label kept
//   model.safetensors  F32 tensors under Hugging Face names (layer matrices kept in 16 bits are
//                      written as BF16 / F16, as held): task models get the base-model
//                      prefix ("bert.", "transformer.", "model.", ...) on every tensor
//                      outside the head, base models none; GPT-2's Conv1D weights transposed
//                      back to [in, out]; tied matrices (a tied lm_head, the
//                      masked-LM decoder) are not written twice: transformers re-ties them.
// Both files are written atomically (each appears complete or not at all).
#include <filesystem>
#include <string>
#include <vector>

#include "vtrans/io/checkpoint_reader.hpp"
#include "vtrans/io/model_config.hpp"
#include "vtrans/io/safetensors.hpp"
#include "vtrans/io/weight_names.hpp"
#include "vtrans/nn/copy_weights.hpp"
#include "vtrans/nn/load.hpp"
#include "vtrans/nn/transformer.hpp"

namespace vtrans::nn {

// The config a saved model carries.
template <class Model>
io::model_config saved_config(const Model& model) {
  io::model_config c = model.config();
  c.architectures = {architecture_name(c.family, model.head())};
  return c;
}

// name -> values in Hugging Face layout (what model.safetensors holds).
template <class Model>
std::vector<io::named_tensor> hf_tensors(const Model& model) {
  const io::family f = model.config().family;
  const bool prefixed = model.head() != head_kind::base;
  std::vector<io::named_tensor> out;
  for (const auto& [name, p] : model.parameters()) {
    io::named_tensor t;
    t.name = io::hf_name(f, name, prefixed);
    const shape& s = p.shape();
    std::vector<float> values;
    {
      const auto host = p.value().to_host();
      values.reserve(host.size());
      for (const auto v : host) values.push_back(static_cast<float>(v));
    }
    if (io::is_conv1d_weight(f, name) && s.rank() == 2) {
      values = detail::transposed(values, s[0], s[1]);  // [out, in] -> [in, out]
      t.shape = {s[1], s[0]};
    } else {
      for (int d = 0; d < s.rank(); ++d) t.shape.push_back(s[d]);
    }
    t.data = std::move(values);
    out.push_back(std::move(t));
  }
  for (const auto& slot : model.frozen_matrices()) {
    const auto& m = detail::frozen_of(model, slot);
    io::named_tensor t;
    t.name = io::hf_name(f, slot.name, prefixed);
    t.type = m.bf.defined() ? io::dtype::bf16 : io::dtype::f16;
    const auto bits = [](const auto& host) {
      std::vector<std::uint16_t> b;
      b.reserve(host.size());
      for (const auto v : host) b.push_back(v.bits);
      return b;
    };
    t.bits16 = m.bf.defined() ? bits(m.bf.value().to_host()) : bits(m.hf.value().to_host());
    const shape& s = slot.shape;
    if (io::is_conv1d_weight(f, slot.name)) {
      t.bits16 = detail::transposed(t.bits16, s[0], s[1]);
      t.shape = {s[1], s[0]};
    } else {
      t.shape = {s[0], s[1]};
    }
    out.push_back(std::move(t));
  }
  return out;
}

// Writes dir/config.json and dir/model.safetensors (creating dir).
template <class Model>
void save_pretrained(const Model& model, const std::string& dir) {
  std::filesystem::create_directories(dir);
  const auto path = std::filesystem::path(dir);
  io::write_safetensors((path / io::safetensors_single_name).string(), hf_tensors(model));
  io::save_config((path / "config.json").string(), saved_config(model));
}

}  // namespace vtrans::nn
