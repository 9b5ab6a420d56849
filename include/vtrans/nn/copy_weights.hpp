#pragma once
// Copying every weight of one model into another of the same config whatever each keeps its
// layer matrices in (nn::matrix_dtype): fp32 parameters are copied, 16-bit matrices of the same
// type are shared (they are immutable), and a matrix crosses between fp32 and 16 bits by widening
// (exact) or rounding to nearest even. This is how a pruning student is made from its teacher
// (sharing a BF16 teacher's matrices when they stay frozen, widening them when they are trained)
// and how a pruned model returns to its teacher's 16-bit type before it is saved.
// copy_matching_weights fills a model with a new head from a pre-trained one (fine-tuning).
#include <optional>
#include <string>
#include <vector>

#include "vtrans/error.hpp"
#include "vtrans/nn/transformer.hpp"
#include "vtrans/tensor/half.hpp"

namespace vtrans::nn {

namespace detail {
// The values of one 16-bit matrix slot, widened to T on the host.
template <class T, class Matrix>
std::vector<T> widened_values(const Matrix& m) {
  const auto widen_all = [](const auto& host) {
    std::vector<T> out(host.size());
    for (std::size_t i = 0; i < host.size(); ++i) out[i] = static_cast<T>(host[i].to_float());
    return out;
  };
  return m.bf.defined() ? widen_all(m.bf.value().to_host()) : widen_all(m.hf.value().to_host());
}
template <class H, class T>
std::vector<H> narrowed_values(const std::vector<T>& v) {
  std::vector<H> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out[i] = H::from_float(static_cast<float>(v[i]));
  return out;
}
// The 16-bit matrix a slot of frozen_matrices() names.
template <class Model, class Slot>
const auto& frozen_of(const Model& m, const Slot& s) {
  return m.layers()[s.layer].*(s.member);
}
// Weight `name` of `from` as a new T tensor of B (a parameter cloned, a 16-bit matrix widened);
// nothing when `from` has no weight of that name and shape.
template <class T, class B, class From>
std::optional<tensor<T, B>> weight_as(const From& from, const std::string& name, const vtrans::shape& s) {
  if (from.has_parameter(name)) {
    if (from.parameter(name).shape() != s) return std::nullopt;
    return from.parameter(name).value().clone();
  }
  const auto* f = from.find_frozen(name);
  if (!f || f->shape != s) return std::nullopt;
  return tensor<T, B>::from_host(f->shape, widened_values<T>(frozen_of(from, *f)));
}
// Sets 16-bit matrix `name` of `to` from float values, rounded to its type.
template <class Model>
void assign_rounded(Model& to, const std::string& name, const vtrans::shape& s, const std::vector<float>& v) {
  using B = typename Model::backend;
  if (to.matrices() == matrix_dtype::bf16) to.assign_frozen(name, tensor<bf16, B>::from_host(s, narrowed_values<bf16>(v)));
  else to.assign_frozen(name, tensor<f16, B>::from_host(s, narrowed_values<f16>(v)));
}
}  // namespace detail

// Every weight of `from` into `to` (same sizes and names; masks are not weights and are left as
// they are). Throws a usage_error naming the first weight `from` does not have.
template <class From, class To>
void copy_weights(const From& from, To& to) {
  using T = typename To::value_type;
  using B = typename To::backend;
  const auto missing = [](const std::string& name) { return vtrans::usage_error("copy_weights: the source model has no weight " + name + " of that shape"); };
  for (const auto& [name, p] : to.parameters()) {
    auto w = detail::weight_as<T, B>(from, name, p.shape());
    if (!w) throw missing(name);
    to.assign(name, std::move(*w));
  }
  if (to.frozen_matrices().empty()) return;
  if (from.matrices() == to.matrices()) return to.share_frozen(from);
  const auto float_values = [&](const std::string& name) {
    if (from.has_parameter(name)) {
      const auto host = from.parameter(name).value().to_host();
      return std::vector<float>(host.begin(), host.end());
    }
    const auto* f = from.find_frozen(name);
    if (!f) throw missing(name);
    return detail::widened_values<float>(detail::frozen_of(from, *f));  // bf16 <-> f16 through float
  };
  for (const auto& s : to.frozen_matrices()) detail::assign_rounded(to, s.name, s.shape, float_values(s.name));
}

// Fine-tuning from a pre-trained model with another head: every weight of `to` that `from` has
// with the same shape is copied (widened from 16 bits where `from` keeps it so); returns the names
// of the others, which keep their initialisation (a new task head, a pooler the pre-training head
// had no use for). Weights only `from` has (its old head) are not read.
template <class From, class To>
std::vector<std::string> copy_matching_weights(const From& from, To& to) {
  using T = typename To::value_type;
  using B = typename To::backend;
  if (!to.frozen_matrices().empty()) throw vtrans::usage_error("copy_matching_weights: the model to fill keeps 16-bit matrices");
  std::vector<std::string> initialised;
  for (const auto& [name, p] : to.parameters()) {
    if (auto w = detail::weight_as<T, B>(from, name, p.shape())) to.assign(name, std::move(*w));
    else initialised.push_back(name);
  }
  return initialised;
}

// The same unmasked model with its layer matrices kept as `matrices` says (compute: fp32
// parameters, bf16 / f16: frozen 16-bit matrices); the model itself when it already is.
template <class Model>
Model with_matrices(Model model, matrix_dtype matrices) {
  if (matrices == matrix_dtype::as_stored) throw vtrans::usage_error("with_matrices: matrix_dtype::as_stored names no type");
  if (model.matrices() == matrices) return model;
  Model out(model.config(), model.head(), for_loading_t(matrices));
  copy_weights(model, out);
  return out;
}

}  // namespace vtrans::nn
