#pragma once
// The backend contract, checked at compile time. A backend is a type with static functions over
// raw pointers into its own memory (cpu.hpp documents each one): storage, allocation, the host
// boundary and its transfer counter, and every kernel the autodiff ops call. Kernels whose name
// ends in _backward accumulate.
//
//   is_backend_v<B>          true when B has every function, for float and double (a plain test)
//   check_backend<B>()       the same, but a missing function fails with a static_assert that
//                            names it; tensor<T, B> calls it, so an incomplete backend is
//                            reported where it is first used, not deep inside autodiff
#include <cstdint>
#include <type_traits>
#include <utility>

#include "vtrans/tensor/kernel_args.hpp"
#include "vtrans/tensor/math.hpp"
#include "vtrans/tensor/transfers.hpp"

namespace vtrans {

namespace backend_contract {

template <class T>
T* ptr() { return nullptr; }
template <class T>
const T* cptr() { return nullptr; }

// One expression per function of the contract, in the kernel signatures of cpu.hpp.
template <class B, class T> using name = decltype(B::name());
template <class B, class T> using allocate = decltype(B::template data<T>(std::declval<typename B::template storage<T>&>()),
                                                      B::template data<T>(std::declval<const typename B::template storage<T>&>()),
                                                      B::template allocate<T>(index{}));
template <class B, class T> using upload = decltype(B::template upload<T>(cptr<T>(), index{}, ptr<T>()));
template <class B, class T> using download = decltype(B::template download<T>(cptr<T>(), index{}, ptr<T>()));
template <class B, class T> using synchronize = decltype(B::synchronize());
template <class B, class T> using transfers = std::enable_if_t<std::is_same_v<decltype(B::transfers()), transfer_counter&>>;
template <class B, class T> using fill = decltype(B::template fill<T>(index{}, T{}, ptr<T>()));
template <class B, class T> using axpby = decltype(B::template axpby<T>(index{}, T{}, cptr<T>(), T{}, ptr<T>()));
template <class B, class T> using copy_2d = decltype(B::template copy_2d<T>(index{}, index{}, cptr<T>(), index{}, ptr<T>(), index{}, T{}));
template <class B, class T> using permute_0213 =
    decltype(B::template permute_0213<T>(index{}, index{}, index{}, index{}, cptr<T>(), ptr<T>(), T{}));
template <class B, class T> using unary = decltype(B::template unary<T>(math::unary_op{}, index{}, cptr<T>(), ptr<T>()));
template <class B, class T> using unary_backward =
    decltype(B::template unary_backward<T>(math::unary_op{}, index{}, cptr<T>(), cptr<T>(), cptr<T>(), ptr<T>()));
template <class B, class T> using binary =
    decltype(B::template binary<T>(math::binary_op{}, index{}, index{}, cptr<T>(), cptr<T>(), broadcast{}, ptr<T>()));
template <class B, class T> using accumulate =
    decltype(B::template accumulate<T>(index{}, index{}, T{}, cptr<T>(), cptr<T>(), broadcast{}, ptr<T>()));
template <class B, class T> using accumulate_reduced =
    decltype(B::template accumulate_reduced<T>(index{}, index{}, T{}, cptr<T>(), cptr<T>(), broadcast{}, ptr<T>()));
template <class B, class T> using reduce_sum = decltype(B::template reduce_sum<T>(index{}, cptr<T>(), T{}, ptr<T>()));
template <class B, class T> using dot = decltype(double{B::template dot<T>(index{}, cptr<T>(), cptr<T>())});
template <class B, class T> using add_scalar = decltype(B::template add_scalar<T>(index{}, cptr<T>(), T{}, ptr<T>()));
template <class B, class T> using gemm = decltype(B::template gemm<T>(false, false, index{}, index{}, index{}, T{}, cptr<T>(),
                                                                     index{}, cptr<T>(), index{}, T{}, ptr<T>(), index{}));
template <class B, class T> using gemm_batched =
    decltype(B::template gemm_batched<T>(false, false, index{}, index{}, index{}, T{}, cptr<T>(), index{}, index{}, cptr<T>(),
                                         index{}, index{}, T{}, ptr<T>(), index{}, index{}, index{}));
template <class B, class T> using softmax = decltype(B::template softmax<T>(index{}, index{}, cptr<T>(), ptr<T>()));
template <class B, class T> using softmax_backward =
    decltype(B::template softmax_backward<T>(index{}, index{}, cptr<T>(), cptr<T>(), ptr<T>()));
template <class B, class T> using log_softmax = decltype(B::template log_softmax<T>(index{}, index{}, cptr<T>(), ptr<T>()));
template <class B, class T> using log_softmax_backward =
    decltype(B::template log_softmax_backward<T>(index{}, index{}, cptr<T>(), cptr<T>(), ptr<T>()));
template <class B, class T> using nll =
    decltype(B::template nll<T>(index{}, index{}, cptr<T>(), cptr<std::int32_t>(), std::int32_t{}, ptr<T>()));
template <class B, class T> using nll_backward =
    decltype(B::template nll_backward<T>(index{}, index{}, cptr<std::int32_t>(), std::int32_t{}, cptr<T>(), T{}, ptr<T>()));
template <class B, class T> using layer_norm = decltype(B::template layer_norm<T>(index{}, index{}, cptr<T>(), cptr<T>(), cptr<T>(),
                                                                                 0.0, ptr<T>(), ptr<T>(), ptr<T>()));
template <class B, class T> using layer_norm_backward =
    decltype(B::template layer_norm_backward<T>(index{}, index{}, cptr<T>(), cptr<T>(), cptr<T>(), cptr<T>(), cptr<T>(), ptr<T>(),
                                                ptr<T>(), ptr<T>()));
template <class B, class T> using rms_norm =
    decltype(B::template rms_norm<T>(index{}, index{}, cptr<T>(), cptr<T>(), 0.0, ptr<T>(), ptr<T>()));
template <class B, class T> using rms_norm_backward =
    decltype(B::template rms_norm_backward<T>(index{}, index{}, cptr<T>(), cptr<T>(), cptr<T>(), cptr<T>(), ptr<T>(), ptr<T>()));
template <class B, class T> using gather_rows =
    decltype(B::template gather_rows<T>(index{}, index{}, cptr<T>(), cptr<std::int32_t>(), ptr<T>()));
template <class B, class T> using scatter_add_rows =
    decltype(B::template scatter_add_rows<T>(index{}, index{}, cptr<T>(), cptr<std::int32_t>(), ptr<T>()));
template <class B, class T> using attention_forward =
    decltype(B::template attention_forward<T>(std::declval<const attention_dims&>(), cptr<T>(), cptr<T>(), cptr<T>(),
                                              cptr<std::int32_t>(), ptr<T>(), ptr<T>()));
template <class B, class T> using attention_backward =
    decltype(B::template attention_backward<T>(std::declval<const attention_dims&>(), cptr<T>(), cptr<T>(), cptr<T>(), cptr<T>(),
                                               cptr<T>(), ptr<T>(), ptr<T>(), ptr<T>()));
template <class B, class T> using rope =
    decltype(B::template rope<T>(std::declval<const rope_dims&>(), cptr<T>(), cptr<std::int32_t>(), false, T{}, ptr<T>()));
template <class B, class T> using keep_highest = decltype(B::template keep_highest<T>(index{}, cptr<T>(), cptr<T>(), ptr<T>()));
template <class B, class T> using random_uniform =
    decltype(B::template random_uniform<T>(index{}, std::uint64_t{}, std::uint64_t{}, ptr<T>()));
template <class B, class T> using random_normal =
    decltype(B::template random_normal<T>(index{}, std::uint64_t{}, std::uint64_t{}, ptr<T>()));
template <class B, class T> using dropout_mask =
    decltype(B::template dropout_mask<T>(index{}, 0.0, std::uint64_t{}, std::uint64_t{}, ptr<T>()));
template <class B, class T> using adamw =
    decltype(B::template adamw<T>(index{}, ptr<T>(), cptr<T>(), ptr<T>(), ptr<T>(), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0));

template <template <class, class> class F, class B, class T, class = void>
struct detect : std::false_type {};
template <template <class, class> class F, class B, class T>
struct detect<F, B, T, std::void_t<F<B, T>>> : std::true_type {};

// F exists for the floating types; storage and the host boundary also for token ids.
template <template <class, class> class F, class B>
inline constexpr bool has = detect<F, B, float>::value && detect<F, B, double>::value;
template <template <class, class> class F, class B>
inline constexpr bool has_with_ids = has<F, B> && detect<F, B, std::int32_t>::value;

}  // namespace backend_contract

template <class B>
inline constexpr bool is_backend_v = [] {
  namespace c = backend_contract;
  return c::has<c::name, B> && c::has_with_ids<c::allocate, B> && c::has_with_ids<c::upload, B> &&
         c::has_with_ids<c::download, B> && c::has<c::synchronize, B> && c::has<c::transfers, B> &&
         c::has_with_ids<c::fill, B> && c::has<c::axpby, B> && c::has<c::copy_2d, B> && c::has<c::permute_0213, B> &&
         c::has<c::unary, B> && c::has<c::unary_backward, B> && c::has<c::binary, B> && c::has<c::accumulate, B> &&
         c::has<c::accumulate_reduced, B> && c::has<c::reduce_sum, B> && c::has<c::dot, B> && c::has<c::add_scalar, B> &&
         c::has<c::gemm, B> && c::has<c::gemm_batched, B> && c::has<c::softmax, B> && c::has<c::softmax_backward, B> &&
         c::has<c::log_softmax, B> && c::has<c::log_softmax_backward, B> && c::has<c::nll, B> && c::has<c::nll_backward, B> &&
         c::has<c::layer_norm, B> && c::has<c::layer_norm_backward, B> && c::has<c::rms_norm, B> &&
         c::has<c::rms_norm_backward, B> && c::has<c::gather_rows, B> && c::has<c::scatter_add_rows, B> &&
         c::has<c::attention_forward, B> && c::has<c::attention_backward, B> && c::has<c::rope, B> &&
         c::has<c::keep_highest, B> && c::has<c::random_uniform, B> && c::has<c::random_normal, B> && c::has<c::dropout_mask, B> && c::has<c::adamw, B>;
}();

// One static_assert per function: the first line of the compiler's error names what is missing.
template <class B>
constexpr bool check_backend() {
  namespace c = backend_contract;
  static_assert(c::has<c::name, B>, "vtrans backend contract: B::name() is missing");
  static_assert(c::has_with_ids<c::allocate, B>,
                "vtrans backend contract: B::storage<T>, B::allocate<T>(n) or B::data<T>(storage) is missing or has another signature");
  static_assert(c::has_with_ids<c::upload, B>, "vtrans backend contract: B::upload<T>(host, n, dst) is missing or has another signature");
  static_assert(c::has_with_ids<c::download, B>, "vtrans backend contract: B::download<T>(src, n, host) is missing or has another signature");
  static_assert(c::has<c::synchronize, B>, "vtrans backend contract: B::synchronize() is missing");
  static_assert(c::has<c::transfers, B>, "vtrans backend contract: B::transfers() (a transfer_counter&) is missing");
  static_assert(c::has_with_ids<c::fill, B>, "vtrans backend contract: B::fill<T>(n, value, y) is missing or has another signature");
  static_assert(c::has<c::axpby, B>, "vtrans backend contract: B::axpby<T>(n, alpha, x, beta, y) is missing or has another signature");
  static_assert(c::has<c::copy_2d, B>, "vtrans backend contract: B::copy_2d<T>(rows, cols, x, ldx, y, ldy, beta) is missing or has another signature");
  static_assert(c::has<c::permute_0213, B>, "vtrans backend contract: B::permute_0213<T>(d0, d1, d2, d3, x, y, beta) is missing or has another signature");
  static_assert(c::has<c::unary, B>, "vtrans backend contract: B::unary<T>(op, n, x, y) is missing or has another signature");
  static_assert(c::has<c::unary_backward, B>, "vtrans backend contract: B::unary_backward<T>(op, n, x, y, dy, dx) is missing or has another signature");
  static_assert(c::has<c::binary, B>, "vtrans backend contract: B::binary<T>(op, rows, cols, a, b, mode, y) is missing or has another signature");
  static_assert(c::has<c::accumulate, B>, "vtrans backend contract: B::accumulate<T>(rows, cols, alpha, dy, b, mode, da) is missing or has another signature");
  static_assert(c::has<c::accumulate_reduced, B>,
                "vtrans backend contract: B::accumulate_reduced<T>(rows, cols, alpha, dy, a, mode, db) is missing or has another signature");
  static_assert(c::has<c::reduce_sum, B>, "vtrans backend contract: B::reduce_sum<T>(n, x, alpha, out) is missing or has another signature");
  static_assert(c::has<c::dot, B>, "vtrans backend contract: B::dot<T>(n, x, y) returning double is missing or has another signature");
  static_assert(c::has<c::add_scalar, B>, "vtrans backend contract: B::add_scalar<T>(n, scalar, factor, dx) is missing or has another signature");
  static_assert(c::has<c::gemm, B>, "vtrans backend contract: B::gemm<T>(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) is missing or has another signature");
  static_assert(c::has<c::gemm_batched, B>, "vtrans backend contract: B::gemm_batched<T>(..., batch) is missing or has another signature");
  static_assert(c::has<c::softmax, B>, "vtrans backend contract: B::softmax<T>(rows, cols, x, y) is missing or has another signature");
  static_assert(c::has<c::softmax_backward, B>, "vtrans backend contract: B::softmax_backward<T>(rows, cols, y, dy, dx) is missing or has another signature");
  static_assert(c::has<c::log_softmax, B>, "vtrans backend contract: B::log_softmax<T>(rows, cols, x, y) is missing or has another signature");
  static_assert(c::has<c::log_softmax_backward, B>,
                "vtrans backend contract: B::log_softmax_backward<T>(rows, cols, y, dy, dx) is missing or has another signature");
  static_assert(c::has<c::nll, B>, "vtrans backend contract: B::nll<T>(rows, cols, logp, target, ignore, loss) is missing or has another signature");
  static_assert(c::has<c::nll_backward, B>,
                "vtrans backend contract: B::nll_backward<T>(rows, cols, target, ignore, scalar, factor, dlogp) is missing or has another signature");
  static_assert(c::has<c::layer_norm, B>,
                "vtrans backend contract: B::layer_norm<T>(rows, cols, x, gamma, beta, eps, y, mean, rstd) is missing or has another signature");
  static_assert(c::has<c::layer_norm_backward, B>,
                "vtrans backend contract: B::layer_norm_backward<T>(rows, cols, x, gamma, mean, rstd, dy, dx, dgamma, dbeta) is missing or has another signature");
  static_assert(c::has<c::rms_norm, B>, "vtrans backend contract: B::rms_norm<T>(rows, cols, x, gamma, eps, y, rstd) is missing or has another signature");
  static_assert(c::has<c::rms_norm_backward, B>,
                "vtrans backend contract: B::rms_norm_backward<T>(rows, cols, x, gamma, rstd, dy, dx, dgamma) is missing or has another signature");
  static_assert(c::has<c::gather_rows, B>, "vtrans backend contract: B::gather_rows<T>(n, cols, table, ids, y) is missing or has another signature");
  static_assert(c::has<c::scatter_add_rows, B>,
                "vtrans backend contract: B::scatter_add_rows<T>(n, cols, dy, ids, dtable) is missing or has another signature");
  static_assert(c::has<c::attention_forward, B>,
                "vtrans backend contract: B::attention_forward<T>(dims, q, k, v, key_mask, probs, out) is missing or has another signature");
  static_assert(c::has<c::attention_backward, B>,
                "vtrans backend contract: B::attention_backward<T>(dims, q, k, v, probs, dout, dq, dk, dv) is missing or has another signature");
  static_assert(c::has<c::rope, B>, "vtrans backend contract: B::rope<T>(dims, x, positions, inverse, beta, y) is missing or has another signature");
  static_assert(c::has<c::keep_highest, B>, "vtrans backend contract: B::keep_highest<T>(n, score, kept, y) is missing or has another signature");
  static_assert(c::has<c::random_uniform, B>, "vtrans backend contract: B::random_uniform<T>(n, seed, offset, y) is missing or has another signature");
  static_assert(c::has<c::random_normal, B>, "vtrans backend contract: B::random_normal<T>(n, seed, offset, y) is missing or has another signature");
  static_assert(c::has<c::dropout_mask, B>, "vtrans backend contract: B::dropout_mask<T>(n, p, seed, offset, y) is missing or has another signature");
  static_assert(c::has<c::adamw, B>,
                "vtrans backend contract: B::adamw<T>(n, param, grad, m, v, lr, beta1, beta2, eps, weight_decay, c1, c2) is missing or has another signature");
  return true;
}

}  // namespace vtrans
