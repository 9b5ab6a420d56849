#pragma once
// What a mask policy provides, checked at compile time. A policy P is one header with
//   static constexpr bool active;  static const char* name();
//   struct options                                       per-structure settings of its units
//   static options defaults(structure)                   its published settings for each structure
//   static std::vector<setting> settings(options&)       the settings a user may change, by name
//   static loop_settings loop_defaults()                 its published pruning-loop settings
//   template <class T, class B> class unit   // the masks of one structure with n units, offering:
//     unit(index n, std::uint64_t seed, P::options)
//     index size()
//     std::vector<autodiff::param<T, B>> parameters()      trainable mask parameters
//     var sample(index rows, std::uint64_t seed, std::uint64_t offset)   training mask, [rows, n] or [n]
//     var deterministic()                                   evaluation mask [n] (scale * 1[kept])
//     var regularizer()                                     scalar added to the loss (KL, or 0)
//     var keep_probability()                                differentiable P(unit kept) [n]
//     std::vector<double> score()                           ranking score within the structure (log alpha)
//     std::vector<bool> keep()                              the keep decision (on the host)
//     tensor<T, B> keep_mask()                              the same decision as [n] of 0/1 in the
//                                                           backend's memory (read every training step:
//                                                           computed there where the policy can)
//     std::vector<double> scale()                           values folded into weights at compaction
//     void force_keep(std::vector<bool>)                    override the decision (budget selection)
//     void after_step()                                     projection after an optimiser step
// Nothing outside the policy's header names it, except the list of the library's policies
// (masks/policies.hpp) that the command line dispatches over.
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "vtrans/autodiff/var.hpp"

namespace vtrans::masks {

// The prunable structures of a model (mask_set.hpp holds one unit of each).
enum class structure { hidden, heads, attention, intermediate, mlp };
inline const char* structure_name(structure s) {
  switch (s) {
    case structure::hidden: return "hidden";
    case structure::heads: return "heads";
    case structure::attention: return "attention";
    case structure::intermediate: return "intermediate";
    case structure::mlp: return "mlp";
  }
  return "?";
}

// One numeric setting of a policy's options, addressed by name (command line, prune_options).
struct setting {
  const char* name;  // e.g. "keep-temperature"
  const char* help;
  double* value;
};

// How the Lagrange multipliers of the size constraint learn (prune/lagrangian.hpp).
enum class multiplier_rule {
  adam_ascent,  // AdamW with a negative rate on lambda1 and lambda2 (CoFi)
  settling,     // damped gradient ascent that settles on the target (docs/method.md)
};

// The pruning loop's settings a policy publishes; any of them can be overridden per run.
struct loop_settings {
  double mask_lr = 0.1;
  double lambda_lr = 0.1;
  double lagrangian_warmup = 0.5;    // fraction of the pruning schedule over which the target ramps up
  double regularizer_weight = 0.0;   // weight of regularizer(), per structure, divided by its units
  multiplier_rule multipliers = multiplier_rule::settling;
  double stiffness = 100;            // settling: the fixed lambda2
};

// A keep decision as [n] of 0/1 in the backend's memory (one upload).
template <class T, class B>
tensor<T, B> mask_of(const std::vector<bool>& keep) {
  std::vector<T> v(keep.size());
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = keep[i] ? T(1) : T(0);
  return tensor<T, B>::from_host(shape{index(v.size())}, v);
}
// The inverse: a 0/1 keep mask read back to the host (one download).
template <class T, class B>
std::vector<bool> keep_of(const tensor<T, B>& mask) {
  const auto m = mask.to_host();
  std::vector<bool> keep(m.size());
  for (std::size_t i = 0; i < m.size(); ++i) keep[i] = m[i] > T(0.5);
  return keep;
}

template <class P, class T, class B, class = void>
struct is_policy_for : std::false_type {};

template <class P, class T, class B>
struct is_policy_for<P, T, B, std::void_t<
    decltype(P::name()),
    decltype(P::defaults(structure::hidden)),
    decltype(P::settings(std::declval<typename P::options&>())),
    decltype(P::loop_defaults()),
    decltype(typename P::template unit<T, B>(index{}, std::uint64_t{}, typename P::options{})),
    decltype(std::declval<const typename P::template unit<T, B>&>().sample(index{}, std::uint64_t{}, std::uint64_t{})),
    decltype(std::declval<const typename P::template unit<T, B>&>().deterministic()),
    decltype(std::declval<const typename P::template unit<T, B>&>().regularizer()),
    decltype(std::declval<const typename P::template unit<T, B>&>().keep_probability()),
    decltype(std::declval<const typename P::template unit<T, B>&>().score()),
    decltype(std::declval<const typename P::template unit<T, B>&>().keep()),
    std::enable_if_t<std::is_same_v<decltype(std::declval<const typename P::template unit<T, B>&>().keep_mask()), tensor<T, B>>>,
    decltype(std::declval<const typename P::template unit<T, B>&>().scale()),
    decltype(std::declval<typename P::template unit<T, B>&>().force_keep(std::vector<bool>{})),
    decltype(std::declval<typename P::template unit<T, B>&>().after_step()),
    decltype(std::declval<const typename P::template unit<T, B>&>().parameters())>> : std::true_type {};

template <class P, class T, class B>
inline constexpr bool is_policy_v = is_policy_for<P, T, B>::value;

}  // namespace vtrans::masks
