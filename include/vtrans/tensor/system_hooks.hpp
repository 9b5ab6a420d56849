#pragma once
// Optional fast paths of a thrust system. thrust_backend<System> runs every kernel through the
// shared row and element functions of tensor/kernels/ (one thread per row or element); a system
// that has a faster way for one of the ops below offers it as an overload
//   static void run(hooks::<op>, arguments...)
// and thrust_backend calls it instead, detected at compile time: nothing to register, and a system
// without hooks (the host systems) simply has none. GEMM is not a hook: every system supplies it.
#include <type_traits>
#include <utility>

namespace vtrans::hooks {

// The ops a system may take over, with the arguments run() receives.
struct softmax {};                // rows, cols, x, y
struct log_softmax {};            // rows, cols, x, y
struct softmax_backward {};       // rows, cols, y, dy, dx
struct log_softmax_backward {};   // rows, cols, y, dy, dx
struct layer_norm {};             // rows, cols, x, gamma, beta, eps, y, mean, rstd
struct rms_norm {};               // rows, cols, x, gamma, eps, y, rstd
struct norm_backward_dx {};       // rows, cols, x, gamma, mean (null: RMS norm), rstd, dy, dx
struct attention_softmax {};      // attention_dims, key_mask, probs (masks and softmax in place)
struct attention_scores_grad {};  // attention_dims, probs, dp (dS in place over dp)
// ta, tb, m, n, k, a (float), lda, b (a frozen 16-bit matrix), ldb, beta, c, ldc; returns whether
// it ran (a system may decline, and the caller widens b instead)
struct gemm16 {};

template <class System, class Hook, class Args, class = void>
struct has : std::false_type {};
template <class System, class Hook, class... A>
struct has<System, Hook, void(A...), std::void_t<decltype(System::run(Hook{}, std::declval<A>()...))>> : std::true_type {};

// Whether System offers Hook for these argument types.
template <class System, class Hook, class... A>
inline constexpr bool offered = has<System, Hook, void(A...)>::value;

}  // namespace vtrans::hooks
