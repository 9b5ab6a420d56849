#pragma once
// The masks of one model, one policy unit per structure (method.md section 2):
//   hidden         [D]            the hidden/embedding dimension, shared by every layer
//   heads[l]       [kv_heads_l]   attention heads of layer l (per key/value group under GQA)
//   attention      [L]            whole attention sub-layers
//   intermediate[l][I_l]          FFN neurons of layer l
//   mlp            [L]            whole FFN sub-layers
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "vtrans/error.hpp"
#include "vtrans/io/model_config.hpp"
#include "vtrans/masks/policies.hpp"  // the library's policies, for anyone who builds a masked model
#include "vtrans/masks/policy.hpp"

namespace vtrans::masks {

// Policy options for each structure, from the policy's own defaults.
template <class Policy>
struct structure_options {
  typename Policy::options hidden{}, heads{}, layers{}, intermediate{};
  static structure_options defaults() {
    return {Policy::defaults(structure::hidden), Policy::defaults(structure::heads), Policy::defaults(structure::attention),
            Policy::defaults(structure::intermediate)};
  }
  // Sets named settings (Policy::settings) in every structure's options; unknown names throw.
  void apply(const std::map<std::string, double>& values) {
    for (const auto& [name, value] : values) {
      bool found = false;
      for (auto* o : {&hidden, &heads, &layers, &intermediate})
        for (const auto& s : Policy::settings(*o))
          if (name == s.name) *s.value = value, found = true;
      if (!found) {
        std::string known;
        typename Policy::options probe{};
        for (const auto& s : Policy::settings(probe)) known += std::string(known.empty() ? "" : ", ") + s.name;
        throw vtrans::usage_error(std::string("mask setting \"") + name + "\" is not one of " + Policy::name() + "'s (" +
                                    (known.empty() ? "none" : known) + ")");
      }
    }
  }
};

template <class Policy, class T, class B>
class mask_set {
 public:
  using unit_t = typename Policy::template unit<T, B>;
  using param_t = autodiff::param<T, B>;
  static_assert(is_policy_v<Policy, T, B>, "mask policy does not implement the unit interface (see masks/policy.hpp)");

  mask_set(const io::model_config& c, std::uint64_t seed, const structure_options<Policy>& opt = structure_options<Policy>::defaults())
      : hidden(c.hidden_size, math::mix64(seed + 1), opt.hidden),
        attention(c.num_layers, math::mix64(seed + 2), opt.layers),
        mlp(c.num_layers, math::mix64(seed + 3), opt.layers) {
    for (index l = 0; l < c.num_layers; ++l) {
      const auto& s = c.layers[std::size_t(l)];
      heads.emplace_back(s.kv_heads, math::mix64(seed + 100 + std::uint64_t(l)), opt.heads);
      intermediate.emplace_back(s.intermediate, math::mix64(seed + 10000 + std::uint64_t(l)), opt.intermediate);
    }
  }

  unit_t hidden;
  std::vector<unit_t> heads;
  unit_t attention;
  std::vector<unit_t> intermediate;
  unit_t mlp;

  // Every unit with its structure and layer (-1 for model-wide units).
  template <class F>
  void for_each(F&& f) {
    f(structure::hidden, index(-1), hidden);
    for (std::size_t l = 0; l < heads.size(); ++l) f(structure::heads, index(l), heads[l]);
    f(structure::attention, index(-1), attention);
    for (std::size_t l = 0; l < intermediate.size(); ++l) f(structure::intermediate, index(l), intermediate[l]);
    f(structure::mlp, index(-1), mlp);
  }
  template <class F>
  void for_each(F&& f) const { const_cast<mask_set*>(this)->for_each([&](structure s, index l, unit_t& u) { f(s, l, static_cast<const unit_t&>(u)); }); }

  std::vector<std::pair<std::string, param_t>> parameters() const {
    std::vector<std::pair<std::string, param_t>> out;
    for_each([&](structure s, index l, const unit_t& u) {
      const auto ps = u.parameters();
      for (std::size_t i = 0; i < ps.size(); ++i)
        out.emplace_back(std::string("masks.") + structure_name(s) + (l >= 0 ? "." + std::to_string(l) : "") + "." + std::to_string(i), ps[i]);
    });
    return out;
  }
  void after_step() { for_each([](structure, index, unit_t& u) { u.after_step(); }); }
};

}  // namespace vtrans::masks
