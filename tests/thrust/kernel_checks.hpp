#pragma once
// Every kernel of the backend interface, run on a reference backend and on a backend under test
// with the same random inputs of odd sizes; outputs must agree up to float rounding, random draws
// exactly (the seeding contract). Shared by test_thrust_cross (cpu vs thrust_backend<thrust_omp>,
// doctest) and test_cuda_kernels (thrust_backend<thrust_cpp> vs cuda, nvcc): no xtensor here.
#include <cmath>
#include <cstdint>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "support/random.hpp"
#include "vtrans/tensor/half.hpp"
#include "vtrans/tensor/kernel_args.hpp"
#include "vtrans/tensor/math.hpp"

namespace vtrans::kernel_checks {

// check(ok, message): the test framework's assertion.
using checker = std::function<void(bool, const std::string&)>;

template <class B>
struct tag { using type = B; };

// A buffer in backend B's memory, filled from and read back to host vectors.
template <class B, class T>
struct dev {
  typename B::template storage<T> s;
  vtrans::index n;
  explicit dev(const std::vector<T>& v) : s(B::template allocate<T>(vtrans::index(v.size()))), n(vtrans::index(v.size())) {
    B::upload(v.data(), n, B::data(s));
  }
  T* p() { return B::data(s); }
  std::vector<T> host() const {
    std::vector<T> h(static_cast<std::size_t>(n));
    B::download(B::data(s), n, h.data());
    return h;
  }
};

template <class T>
std::vector<T> rnd(vtrans::index n, std::uint64_t seed, double scale = 1.0, double shift = 0.0) {
  return testing::random_values<T>(n, seed, scale, shift);
}
template <class T>
double tolerance() { return sizeof(T) == 4 ? 2e-5 : 1e-11; }

using outputs = std::vector<std::vector<double>>;
template <class T>
std::vector<double> widen(const std::vector<T>& v) { return std::vector<double>(v.begin(), v.end()); }

// Runs `run(tag<B>)` (returning the outputs as vectors) on both backends and compares them,
// relative to 1 + |reference|.
template <class Ref, class Dut, class T, class F>
void compare(const checker& check, const std::string& what, F&& run, bool exact = false, double tol_scale = 1.0) {
  const outputs a = run(tag<Ref>{}), b = run(tag<Dut>{});
  if (a.size() != b.size()) { check(false, what + ": different numbers of outputs"); return; }
  for (std::size_t k = 0; k < a.size(); ++k) {
    if (a[k].size() != b[k].size()) { check(false, what + ": output sizes differ"); continue; }
    double worst = 0;
    std::size_t at = 0;
    for (std::size_t i = 0; i < a[k].size(); ++i) {
      const double x = a[k][i], y = b[k][i];
      if (std::isnan(x) || std::isnan(y)) { if (std::isnan(x) != std::isnan(y)) { worst = INFINITY; at = i; } continue; }
      const double e = std::abs(x - y) / (1.0 + std::abs(x));
      if (e > worst) { worst = e; at = i; }
    }
    const double tol = exact ? 0.0 : tolerance<T>() * tol_scale;
    std::ostringstream m;
    m << what << " (" << (sizeof(T) == 4 ? "float" : "double") << ") output " << k << ": relative error " << worst << " at " << at;
    if (!a[k].empty()) m << " (" << Ref::name() << " " << a[k][at] << ", " << Dut::name() << " " << b[k][at] << ")";
    check(worst <= tol, m.str());
  }
}

template <class Ref, class Dut, class T>
void elementwise(const checker& check) {
  const vtrans::index R = 7, C = 13, N = R * C;
  const auto x = rnd<T>(N, 1), y = rnd<T>(N, 2), row = rnd<T>(C, 3), col = rnd<T>(R, 4), sc = rnd<T>(1, 5);

  compare<Ref, Dut, T>(check, "fill", [&](auto t) {
    using B = typename decltype(t)::type;
    dev<B, T> out(y);
    B::fill(N, T(0.25), out.p());
    return outputs{widen(out.host())};
  }, true);
  for (T beta : {T(0), T(-0.5)})
    compare<Ref, Dut, T>(check, "axpby", [&](auto t) {
      using B = typename decltype(t)::type;
      dev<B, T> a(x), out(y);
      B::axpby(N, T(1.5), a.p(), beta, out.p());
      return outputs{widen(out.host())};
    });
  for (T beta : {T(0), T(2)})
    compare<Ref, Dut, T>(check, "copy_2d", [&](auto t) {  // [5, 4] window of x (ld 13) into y (ld 11), plus a broadcast row (ld 0)
      using B = typename decltype(t)::type;
      dev<B, T> a(x), out(y), out2(y);
      B::copy_2d(vtrans::index(5), vtrans::index(4), a.p() + 2, C, out.p() + 1, vtrans::index(11), beta);
      B::copy_2d(vtrans::index(6), C, a.p(), vtrans::index(0), out2.p(), C, beta);
      return outputs{widen(out.host()), widen(out2.host())};
    });
  for (T beta : {T(0), T(1)})
    compare<Ref, Dut, T>(check, "permute_0213", [&](auto t) {
      using B = typename decltype(t)::type;
      const auto big = rnd<T>(2 * 3 * 5 * 7, 6);
      dev<B, T> a(big), out(rnd<T>(2 * 3 * 5 * 7, 7));
      B::permute_0213(vtrans::index(2), vtrans::index(3), vtrans::index(5), vtrans::index(7), a.p(), out.p(), beta);
      return outputs{widen(out.host())};
    });
  using math::unary_op;
  for (unary_op op : {unary_op::identity, unary_op::relu, unary_op::gelu, unary_op::gelu_tanh, unary_op::silu,
                      unary_op::tanh, unary_op::sigmoid, unary_op::exp, unary_op::log, unary_op::square, unary_op::step,
                      unary_op::sqrt, unary_op::reciprocal}) {
    std::vector<T> in = x;
    if (op == unary_op::log || op == unary_op::sqrt || op == unary_op::reciprocal) for (auto& v : in) v = std::abs(v) + T(0.1);
    compare<Ref, Dut, T>(check, "unary " + std::to_string(int(op)), [&](auto t) {
      using B = typename decltype(t)::type;
      dev<B, T> a(in), out(y), g(rnd<T>(N, 8)), dx(rnd<T>(N, 9));
      B::unary(op, N, a.p(), out.p());
      B::unary_backward(op, N, a.p(), out.p(), g.p(), dx.p());
      return outputs{widen(out.host()), widen(dx.host())};
    });
  }
  using math::binary_op;
  const broadcast modes[] = {broadcast::none, broadcast::row, broadcast::column, broadcast::scalar};
  for (binary_op op : {binary_op::add, binary_op::sub, binary_op::mul})
    for (broadcast mode : modes) {
      const std::vector<T>& b = mode == broadcast::none ? y : mode == broadcast::row ? row : mode == broadcast::column ? col : sc;
      compare<Ref, Dut, T>(check, "binary " + std::to_string(int(op)) + "/" + std::to_string(int(mode)), [&](auto t) {
        using B = typename decltype(t)::type;
        dev<B, T> a(x), bb(b), out(y);
        B::binary(op, R, C, a.p(), bb.p(), mode, out.p());
        return outputs{widen(out.host())};
      });
    }
  for (broadcast mode : modes)
    for (bool with_operand : {false, true}) {
      const std::vector<T>& b = mode == broadcast::none ? y : mode == broadcast::row ? row : mode == broadcast::column ? col : sc;
      compare<Ref, Dut, T>(check, "accumulate(_reduced) " + std::to_string(int(mode)) + (with_operand ? " with operand" : ""), [&](auto t) {
        using B = typename decltype(t)::type;
        dev<B, T> g(x), bb(b), a(y), da(rnd<T>(N, 10)), db(rnd<T>(vtrans::index(b.size()), 11));
        B::accumulate(R, C, T(0.75), g.p(), with_operand ? bb.p() : nullptr, mode, da.p());
        B::accumulate_reduced(R, C, T(-1.25), g.p(), with_operand ? a.p() : nullptr, mode, db.p());
        return outputs{widen(da.host()), widen(db.host())};
      });
    }
  compare<Ref, Dut, T>(check, "reduce_sum, dot, add_scalar", [&](auto t) {
    using B = typename decltype(t)::type;
    dev<B, T> a(x), b(y), s(sc), out(std::vector<T>(1, T(3))), dx(rnd<T>(N, 12));
    B::reduce_sum(N, a.p(), T(0.5), out.p());
    const double d1 = B::dot(N, a.p(), b.p()), d2 = B::dot(N, a.p(), static_cast<const T*>(nullptr));
    B::add_scalar(N, s.p(), T(-2), dx.p());
    return outputs{widen(out.host()), {d1, d2}, widen(dx.host())};
  });
  compare<Ref, Dut, T>(check, "adamw", [&](auto t) {
    using B = typename decltype(t)::type;
    dev<B, T> p(x), g(y), m(rnd<T>(N, 13, 0.1)), v(rnd<T>(N, 14, 0.1, 1.0));
    B::adamw(N, p.p(), g.p(), m.p(), v.p(), 1e-3, 0.9, 0.999, 1e-8, 0.01, 1 - 0.9 * 0.9, 1 - 0.999 * 0.999);
    return outputs{widen(p.host()), widen(m.host()), widen(v.host())};
  });
}

template <class Ref, class Dut, class T>
void gemm(const checker& check) {
  const vtrans::index m = 5, n = 7, k = 9, batch = 3;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      // padded leading dimensions: lda, ldb, ldc larger than the logical widths
      const vtrans::index lda = (ta ? m : k) + 2, ldb = (tb ? k : n) + 1, ldc = n + 3;
      const vtrans::index ra = ta ? k : m, rb = tb ? n : k;
      const vtrans::index sa = ra * lda + 1, sb = rb * ldb + 2, sc = m * ldc + 1;
      const auto A = rnd<T>(sa * batch, 20), Bm = rnd<T>(sb * batch, 21), Cm = rnd<T>(sc * batch, 22);
      compare<Ref, Dut, T>(check, std::string("gemm ") + (ta ? "T" : "N") + (tb ? "T" : "N"), [&](auto t) {
        using B = typename decltype(t)::type;
        dev<B, T> a(A), b(Bm), c(Cm), c2(Cm);
        B::gemm(ta, tb, m, n, k, T(0.5), a.p(), lda, b.p(), ldb, T(-1), c.p(), ldc);
        B::gemm_batched(ta, tb, m, n, k, T(1.5), a.p(), lda, sa, b.p(), ldb, sb, T(0.25), c2.p(), ldc, sc, batch);
        return outputs{widen(c.host()), widen(c2.host())};
      });
    }
}

template <class Ref, class Dut, class T>
void rows(const checker& check) {
  const vtrans::index R = 9, C = 17, N = R * C;
  const auto x = rnd<T>(N, 30, 2.0), g = rnd<T>(N, 31), acc = rnd<T>(N, 32);
  compare<Ref, Dut, T>(check, "softmax, log_softmax and backward", [&](auto t) {
    using B = typename decltype(t)::type;
    dev<B, T> a(x), y(acc), ly(acc), dy(g), dx(acc), dlx(acc);
    B::softmax(R, C, a.p(), y.p());
    B::softmax_backward(R, C, y.p(), dy.p(), dx.p());
    B::log_softmax(R, C, a.p(), ly.p());
    B::log_softmax_backward(R, C, ly.p(), dy.p(), dlx.p());
    return outputs{widen(y.host()), widen(dx.host()), widen(ly.host()), widen(dlx.host())};
  });
  const std::vector<std::int32_t> target{3, -100, 0, 16, 5, 5, -100, 1, 9};
  compare<Ref, Dut, T>(check, "nll and backward", [&](auto t) {
    using B = typename decltype(t)::type;
    dev<B, T> a(x), loss(rnd<T>(R, 33)), s(std::vector<T>{T(0.7)}), dl(acc);
    dev<B, std::int32_t> tg(target);
    B::nll(R, C, a.p(), tg.p(), -100, loss.p());
    B::nll_backward(R, C, tg.p(), -100, s.p(), T(-0.5), dl.p());
    return outputs{widen(loss.host()), widen(dl.host())};
  });
  const auto gamma = rnd<T>(C, 34, 0.5, 1.0), beta = rnd<T>(C, 35);
  for (bool affine : {false, true})
    compare<Ref, Dut, T>(check, std::string("layer_norm and backward") + (affine ? " (affine)" : ""), [&](auto t) {
      using B = typename decltype(t)::type;
      dev<B, T> a(rnd<T>(N, 36, 3.0, 1.0)), ga(gamma), be(beta), y(acc), mean(rnd<T>(R, 37)), rstd(rnd<T>(R, 38)), dy(g),
          dx(acc), dg(rnd<T>(C, 39)), db(rnd<T>(C, 40));
      B::layer_norm(R, C, a.p(), affine ? ga.p() : nullptr, affine ? be.p() : nullptr, 1e-5, y.p(), mean.p(), rstd.p());
      B::layer_norm_backward(R, C, a.p(), affine ? ga.p() : nullptr, mean.p(), rstd.p(), dy.p(), dx.p(), dg.p(), db.p());
      return outputs{widen(y.host()), widen(mean.host()), widen(rstd.host()), widen(dx.host()), widen(dg.host()), widen(db.host())};
    });
  for (bool affine : {false, true})
    compare<Ref, Dut, T>(check, std::string("rms_norm and backward") + (affine ? " (affine)" : ""), [&](auto t) {
      using B = typename decltype(t)::type;
      dev<B, T> a(rnd<T>(N, 41, 2.0)), ga(gamma), y(acc), rstd(rnd<T>(R, 42)), dy(g), dx(acc), dg(rnd<T>(C, 43));
      B::rms_norm(R, C, a.p(), affine ? ga.p() : nullptr, 1e-6, y.p(), rstd.p());
      B::rms_norm_backward(R, C, a.p(), affine ? ga.p() : nullptr, rstd.p(), dy.p(), dx.p(), dg.p());
      // gradient pieces may be skipped (null)
      B::rms_norm_backward(R, C, a.p(), affine ? ga.p() : nullptr, rstd.p(), dy.p(), static_cast<T*>(nullptr), dg.p());
      B::layer_norm_backward(R, C, a.p(), affine ? ga.p() : nullptr, rstd.p(), rstd.p(), dy.p(), dx.p(),
                             static_cast<T*>(nullptr), static_cast<T*>(nullptr));
      return outputs{widen(y.host()), widen(rstd.host()), widen(dx.host()), widen(dg.host())};
    });
  const vtrans::index vocab = 11, dim = 13;
  const std::vector<std::int32_t> ids{4, 0, 10, 4, 7, 4, 2};
  compare<Ref, Dut, T>(check, "gather_rows and scatter_add_rows (repeated ids)", [&](auto t) {
    using B = typename decltype(t)::type;
    const vtrans::index n = vtrans::index(ids.size());
    dev<B, T> table(rnd<T>(vocab * dim, 44)), y(rnd<T>(n * dim, 45)), dy(rnd<T>(n * dim, 46)), dt(rnd<T>(vocab * dim, 47));
    dev<B, std::int32_t> id(ids);
    B::gather_rows(n, dim, table.p(), id.p(), y.p());
    B::scatter_add_rows(n, dim, dy.p(), id.p(), dt.p());
    return outputs{widen(y.host()), widen(dt.host())};
  });
}

template <class Ref, class Dut, class T>
void attention(const checker& check) {
  struct config { vtrans::index batch, q_len, k_len, heads, kv_heads, head_dim; bool causal, mask, fused; vtrans::index window = 0; };
  const config configs[] = {{2, 5, 5, 3, 3, 4, false, true, false}, {2, 3, 7, 4, 2, 5, true, true, false},
                            {1, 6, 6, 6, 2, 3, true, true, true}, {3, 1, 9, 2, 1, 7, false, true, false},
                            // sliding windows shorter than the sequence: causal, not causal with more keys
                            // than queries, fused, and a window of one key
                            {2, 7, 7, 4, 2, 3, true, true, false, 3}, {2, 4, 9, 2, 2, 3, false, true, false, 2},
                            {1, 6, 6, 6, 2, 3, true, false, true, 2}, {2, 5, 8, 2, 1, 4, true, true, false, 1}};
  for (const config& c : configs) {
    attention_dims d;
    d.batch = c.batch; d.q_len = c.q_len; d.k_len = c.k_len; d.heads = c.heads; d.kv_heads = c.kv_heads;
    d.head_dim = c.head_dim; d.causal = c.causal; d.window = c.window; d.scale = 1.0 / std::sqrt(double(c.head_dim));
    const vtrans::index wq = c.heads * c.head_dim, wk = c.kv_heads * c.head_dim;
    // fused: q, k, v are column blocks of one [rows, wq + 2 wk] projection (q_len == k_len)
    d.ldq = c.fused ? wq + 2 * wk : wq; d.ldk = d.ldv = c.fused ? wq + 2 * wk : wk; d.ldo = wq + (c.fused ? 1 : 0);
    const vtrans::index nq = c.batch * c.q_len * d.ldq, nk = c.batch * c.k_len * d.ldk, no = c.batch * c.q_len * d.ldo;
    std::vector<std::int32_t> mask(std::size_t(c.batch * c.k_len), 1);
    if (c.mask) for (vtrans::index b = 0; b < c.batch; ++b) for (vtrans::index j = 0; j <= b; ++j) mask[std::size_t(b * c.k_len + c.k_len - 1 - j)] = 0;
    if (c.mask) mask[0] = 0;  // with causal: the first query of batch 0 sees no key at all
    const auto Q = rnd<T>(nq, 50), K = rnd<T>(nk, 51), V = rnd<T>(nk, 52), dO = rnd<T>(no, 53);
    const std::string name = "attention b" + std::to_string(c.batch) + " q" + std::to_string(c.q_len) + " k" +
                             std::to_string(c.k_len) + " h" + std::to_string(c.heads) + "/" + std::to_string(c.kv_heads) +
                             (c.window ? " window " + std::to_string(c.window) : std::string());
    compare<Ref, Dut, T>(check, name, [&](auto t) {
      using B = typename decltype(t)::type;
      dev<B, T> q(Q), k(c.fused ? Q : K), v(c.fused ? Q : V), probs(rnd<T>(d.probs_numel(), 54)), out(rnd<T>(no, 55)), g(dO),
          dq(rnd<T>(nq, 56)), dk(rnd<T>(nk, 57)), dv(rnd<T>(nk, 58));
      dev<B, std::int32_t> km(mask);
      T* qp = q.p();
      T* kp = c.fused ? q.p() + wq : k.p();
      T* vp = c.fused ? q.p() + wq + wk : v.p();
      B::attention_forward(d, qp, kp, vp, c.mask ? km.p() : nullptr, probs.p(), out.p());
      if (c.fused) {  // gradients into one fused buffer
        B::attention_backward(d, qp, kp, vp, probs.p(), g.p(), dq.p(), dq.p() + wq, dq.p() + wq + wk);
      } else {
        B::attention_backward(d, qp, kp, vp, probs.p(), g.p(), dq.p(), dk.p(), dv.p());
        B::attention_backward(d, qp, kp, vp, probs.p(), g.p(), static_cast<T*>(nullptr), static_cast<T*>(nullptr), dv.p());
      }
      return outputs{widen(probs.host()), widen(out.host()), widen(dq.host()), widen(dk.host()), widen(dv.host())};
    });
  }

  for (vtrans::index rotary : {vtrans::index(6), vtrans::index(4)})
    for (bool inverse : {false, true}) {
      rope_dims d;
      d.rows = 5; d.heads = 3; d.head_dim = 6; d.rotary_dim = rotary; d.ldx = 19; d.ldy = 20; d.theta = 500.0;
      const std::vector<std::int32_t> pos{0, 1, 7, 3, 1000};
      compare<Ref, Dut, T>(check, "rope rotary " + std::to_string(rotary) + (inverse ? " inverse" : ""), [&](auto t) {
        using B = typename decltype(t)::type;
        dev<B, T> x(rnd<T>(d.rows * d.ldx, 60)), y(rnd<T>(d.rows * d.ldy, 61)), y2(rnd<T>(d.rows * d.ldy, 62));
        dev<B, std::int32_t> p(pos);
        B::rope(d, x.p(), p.p(), inverse, T(0), y.p());
        B::rope(d, x.p(), p.p(), inverse, T(1), y2.p());
        return outputs{widen(y.host()), widen(y2.host())};
      });
    }
}

template <class Ref, class Dut, class T>
void random(const checker& check) {
  const vtrans::index n = 1001;
  compare<Ref, Dut, T>(check, "random_uniform, random_normal, dropout_mask", [&](auto t) {
    using B = typename decltype(t)::type;
    const std::vector<T> zeros(static_cast<std::size_t>(n));
    dev<B, T> u(zeros), z(zeros), z_odd(zeros), mk(zeros);
    B::random_uniform(n, 42, 17, u.p());
    B::random_normal(n, 42, 1u << 20, z.p());
    B::random_normal(n, 42, 12345, z_odd.p());  // starts and ends halfway through Box-Muller pairs
    B::dropout_mask(n, 0.3, 7, 5, mk.p());
    return outputs{widen(u.host()), widen(z.host()), widen(z_odd.host()), widen(mk.host())};
  }, true);
}

// CoFi's keep rule: the lowest scores dropped, ties included (exact: comparisons only).
template <class Ref, class Dut, class T>
void ranking(const checker& check) {
  const vtrans::index n = 513;
  std::vector<T> score = rnd<T>(n, 71);
  for (std::size_t i = 0; i < score.size(); i += 5) score[i] = T(0.25);  // ties
  compare<Ref, Dut, T>(check, "keep_highest", [&](auto t) {
    using B = typename decltype(t)::type;
    outputs out;
    for (double kept : {0.0, 100.5, 300.2, double(n)}) {
      dev<B, T> s(score), k(std::vector<T>{T(kept)}), y(std::vector<T>(score.size()));
      B::keep_highest(n, s.p(), k.p(), y.p());
      out.push_back(widen(y.host()));
    }
    return out;
  }, true);
}

// The VIB mask's fused sample-times-x and its one-sweep backward (overwrite and accumulate).
template <class Ref, class Dut, class T>
void noisy_masks(const checker& check) {
  const vtrans::index rows = 37, cols = 23;
  const auto x = rnd<T>(rows * cols, 61), eps = rnd<T>(rows * cols, 62), dy = rnd<T>(rows * cols, 63), dx0 = rnd<T>(rows * cols, 64);
  const auto mu = rnd<T>(cols, 65, 0.1, 1.0), sigma = rnd<T>(cols, 66, 0.1, 0.2), acc = rnd<T>(cols, 67);
  compare<Ref, Dut, T>(check, "noisy_scale(_backward)", [&](auto t) {
    using B = typename decltype(t)::type;
    dev<B, T> xd(x), ed(eps), md(mu), sd(sigma), gd(dy), y(x), dx(dx0), dx2(dx0), dmu(acc), dsig(acc);
    B::noisy_scale(rows, cols, xd.p(), ed.p(), md.p(), sd.p(), y.p());
    B::noisy_scale_backward(rows, cols, xd.p(), ed.p(), md.p(), sd.p(), gd.p(), T(0), dx.p(), dmu.p(), dsig.p());
    B::noisy_scale_backward(rows, cols, xd.p(), ed.p(), md.p(), sd.p(), gd.p(), T(1), dx2.p(), static_cast<T*>(nullptr), static_cast<T*>(nullptr));
    return outputs{widen(y.host()), widen(dx.host()), widen(dx2.host()), widen(dmu.host()), widen(dsig.host())};
  });
}

// 16-bit storage widened to T: every bf16 and f16 bit pattern, exactly.
template <class Ref, class Dut, class T>
void widening(const checker& check) {
  std::vector<vtrans::bf16> b(65536);
  std::vector<vtrans::f16> h(65536);
  for (std::size_t i = 0; i < b.size(); ++i) b[i].bits = h[i].bits = static_cast<std::uint16_t>(i);
  compare<Ref, Dut, T>(check, "widen (bf16, f16)", [&](auto t) {
    using B = typename decltype(t)::type;
    dev<B, vtrans::bf16> bd(b);
    dev<B, vtrans::f16> hd(h);
    const std::vector<T> zeros(b.size());
    dev<B, T> yb(zeros), yh(zeros);
    B::widen(bd.n, bd.p(), yb.p());
    B::widen(hd.n, hd.p(), yh.p());
    return outputs{widen(yb.host()), widen(yh.host())};
  }, true);
}


// All of the above for one scalar type.
template <class Ref, class Dut, class T>
void all(const checker& check) {
  elementwise<Ref, Dut, T>(check);
  gemm<Ref, Dut, T>(check);
  rows<Ref, Dut, T>(check);
  attention<Ref, Dut, T>(check);
  random<Ref, Dut, T>(check);
  ranking<Ref, Dut, T>(check);
  noisy_masks<Ref, Dut, T>(check);
  widening<Ref, Dut, T>(check);
}

}  // namespace vtrans::kernel_checks
