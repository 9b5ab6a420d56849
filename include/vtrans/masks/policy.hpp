#pragma once
// What a mask policy provides, checked at compile time. A policy P is a type with
//   static constexpr bool active;  static const char* name();
//   template <class T, class B> class unit   // the masks of one structure with n units, offering:
//     unit(index n, std::uint64_t seed, P::options)
//     index size()
//     std::vector<autodiff::param<T, B>> parameters()      trainable mask parameters
//     var sample(index rows, std::uint64_t seed, std::uint64_t offset)   training mask [rows, n]
//     var deterministic()                                   evaluation mask [n] (scale * 1[kept])
//     var regularizer()                                     scalar added to the loss (KL, or 0)
//     var keep_probability()                                differentiable P(unit kept) [n]
//     std::vector<double> score()                           ranking score (log alpha)
//     std::vector<bool> keep()                              the keep decision
//     std::vector<double> scale()                           values folded into weights at compaction
//     void force_keep(std::vector<bool>)                    override the decision (budget selection)
//     void after_step()                                     projection after an optimiser step
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "vtrans/autodiff/var.hpp"

namespace vtrans::masks {

template <class P, class T, class B, class = void>
struct is_policy_for : std::false_type {};

template <class P, class T, class B>
struct is_policy_for<P, T, B, std::void_t<
    decltype(P::name()),
    decltype(typename P::template unit<T, B>(index{}, std::uint64_t{}, typename P::options{})),
    decltype(std::declval<const typename P::template unit<T, B>&>().sample(index{}, std::uint64_t{}, std::uint64_t{})),
    decltype(std::declval<const typename P::template unit<T, B>&>().deterministic()),
    decltype(std::declval<const typename P::template unit<T, B>&>().regularizer()),
    decltype(std::declval<const typename P::template unit<T, B>&>().keep_probability()),
    decltype(std::declval<const typename P::template unit<T, B>&>().score()),
    decltype(std::declval<const typename P::template unit<T, B>&>().keep()),
    decltype(std::declval<const typename P::template unit<T, B>&>().scale()),
    decltype(std::declval<typename P::template unit<T, B>&>().force_keep(std::vector<bool>{})),
    decltype(std::declval<typename P::template unit<T, B>&>().after_step()),
    decltype(std::declval<const typename P::template unit<T, B>&>().parameters())>> : std::true_type {};

template <class P, class T, class B>
inline constexpr bool is_policy_v = is_policy_for<P, T, B>::value;

}  // namespace vtrans::masks
