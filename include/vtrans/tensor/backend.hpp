#pragma once
// The backend contract, checked at compile time. A backend is a type with:
//   name(); template <class T> using storage; allocate<T>(n); data(storage&); upload; download;
//   synchronize(); and the kernels of cpu.hpp with the same signatures: fill, axpby, copy_2d,
//   permute_0213, unary(_backward), binary, accumulate, accumulate_reduced, reduce_sum, dot,
//   add_scalar, gemm, gemm_batched, softmax(_backward), log_softmax(_backward), nll(_backward),
//   layer_norm(_backward), rms_norm(_backward), gather_rows, scatter_add_rows,
//   attention_forward/backward, rope, random_uniform, random_normal, dropout_mask, adamw.
// Kernels take raw pointers into the backend's memory; *_backward kernels accumulate.
#include <cstdint>
#include <type_traits>
#include <utility>

#include "vtrans/tensor/kernel_args.hpp"
#include "vtrans/tensor/math.hpp"

namespace vtrans {

template <class B, class T, class = void>
struct is_backend_for : std::false_type {};

template <class B, class T>
struct is_backend_for<B, T, std::void_t<
    decltype(B::name()),
    decltype(B::template allocate<T>(index{})),
    decltype(B::template fill<T>(index{}, T{}, std::declval<T*>())),
    decltype(B::template axpby<T>(index{}, T{}, std::declval<const T*>(), T{}, std::declval<T*>())),
    decltype(B::template gemm<T>(false, false, index{}, index{}, index{}, T{}, std::declval<const T*>(), index{},
                                 std::declval<const T*>(), index{}, T{}, std::declval<T*>(), index{})),
    decltype(B::template softmax<T>(index{}, index{}, std::declval<const T*>(), std::declval<T*>())),
    decltype(B::template layer_norm<T>(index{}, index{}, std::declval<const T*>(), std::declval<const T*>(),
                                       std::declval<const T*>(), 0.0, std::declval<T*>(), std::declval<T*>(), std::declval<T*>())),
    decltype(B::template attention_forward<T>(std::declval<const attention_dims&>(), std::declval<const T*>(),
                                              std::declval<const T*>(), std::declval<const T*>(),
                                              std::declval<const std::int32_t*>(), std::declval<T*>(), std::declval<T*>())),
    decltype(B::template rope<T>(std::declval<const rope_dims&>(), std::declval<const T*>(),
                                 std::declval<const std::int32_t*>(), false, T{}, std::declval<T*>())),
    decltype(B::template random_normal<T>(index{}, std::uint64_t{}, std::uint64_t{}, std::declval<T*>()))>>
    : std::true_type {};

template <class B>
inline constexpr bool is_backend_v = is_backend_for<B, float>::value && is_backend_for<B, double>::value;

}  // namespace vtrans
