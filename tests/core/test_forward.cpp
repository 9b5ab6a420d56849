// Forward values of the ops against independent computations: xtensor-blas for products,
// naive loops written from the definitions for the rest, and known constants.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include <omp.h>

#include "support/backends.hpp"
#include "support/random.hpp"
#include "support/xblas_reference.hpp"
#include "vtrans/autodiff/autodiff.hpp"

using namespace vtrans;
using namespace vtrans::autodiff;

namespace {
template <class B>
using V = var<double, B>;

template <class B>
V<B> rnd(const shape& s, std::uint64_t seed, double scale = 1.0) {
  return testing::random_var<double, B>(s, seed, false, scale);
}
void check_close(const std::vector<double>& got, const std::vector<double>& want, double tol = 1e-12) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(tol).scale(1.0));
}
}  // namespace

TEST_CASE_TEMPLATE("linear and matmul equal xtensor-blas products", B, VTRANS_TEST_BACKENDS) {
  auto x = rnd<B>(shape{5, 7}, 1), w = rnd<B>(shape{3, 7}, 2), b = rnd<B>(shape{3}, 3);
  auto y = linear(x, w, b).value().to_host();
  auto ref = testing::xblas_matmul(x.value().to_host(), 5, 7, false, w.value().to_host(), 3, 7, true);
  auto bh = b.value().to_host();
  for (vtrans::index r = 0; r < 5; ++r)
    for (vtrans::index c = 0; c < 3; ++c) CHECK(y[std::size_t(r * 3 + c)] == doctest::Approx(ref[std::size_t(r * 3 + c)] + bh[std::size_t(c)]));
  auto a = rnd<B>(shape{4, 6}, 4), m = rnd<B>(shape{4, 5}, 5);
  check_close(matmul(a, m, true, false).value().to_host(), testing::xblas_matmul(a.value().to_host(), 4, 6, true, m.value().to_host(), 4, 5, false));
  auto a3 = rnd<B>(shape{2, 3, 4}, 6), b3 = rnd<B>(shape{2, 5, 4}, 7);
  auto p3 = batched_matmul(a3, b3, false, true).value().to_host();
  auto ah = a3.value().to_host(), bh3 = b3.value().to_host();
  for (std::size_t i = 0; i < 2; ++i) {
    auto ref3 = testing::xblas_matmul({ah.begin() + long(i * 12), ah.begin() + long(i * 12 + 12)}, 3, 4, false,
                                      {bh3.begin() + long(i * 20), bh3.begin() + long(i * 20 + 20)}, 5, 4, true);
    check_close({p3.begin() + long(i * 15), p3.begin() + long(i * 15 + 15)}, ref3);
  }
}

TEST_CASE_TEMPLATE("activations match known values", B, VTRANS_TEST_BACKENDS) {
  V<B> x(tensor<double, B>::from_host(shape{3}, {-1.0, 0.0, 1.0}));
  check_close(gelu(x).value().to_host(), {-0.15865525393145705, 0.0, 0.8413447460685429});
  check_close(gelu_tanh(x).value().to_host(), {-0.15880800939172324, 0.0, 0.8411919906082768});
  check_close(silu(x).value().to_host(), {-0.2689414213699951, 0.0, 0.7310585786300049});
  check_close(relu(x).value().to_host(), {0.0, 0.0, 1.0});
}

TEST_CASE_TEMPLATE("softmax, layer_norm and rms_norm follow their definitions", B, VTRANS_TEST_BACKENDS) {
  const vtrans::index rows = 3, cols = 6;
  auto x = rnd<B>(shape{rows, cols}, 7, 3.0), g = rnd<B>(shape{cols}, 8), be = rnd<B>(shape{cols}, 9);
  auto xs = x.value().to_host(), gs = g.value().to_host(), bs = be.value().to_host();
  auto sm = softmax(x).value().to_host(), ls = log_softmax(x).value().to_host();
  auto ln = layer_norm(x, g, be, 1e-5).value().to_host(), rn = rms_norm(x, g, 1e-6).value().to_host();
  for (vtrans::index r = 0; r < rows; ++r) {
    const double* xr = &xs[std::size_t(r * cols)];
    double z = 0, mu = 0, var = 0, ms = 0;
    for (vtrans::index c = 0; c < cols; ++c) z += std::exp(xr[c]), mu += xr[c] / cols, ms += xr[c] * xr[c] / cols;
    for (vtrans::index c = 0; c < cols; ++c) var += (xr[c] - mu) * (xr[c] - mu) / cols;
    for (vtrans::index c = 0; c < cols; ++c) {
      const std::size_t i = std::size_t(r * cols + c);
      CHECK(sm[i] == doctest::Approx(std::exp(xr[c]) / z));
      CHECK(ls[i] == doctest::Approx(xr[c] - std::log(z)));
      CHECK(ln[i] == doctest::Approx((xr[c] - mu) / std::sqrt(var + 1e-5) * gs[std::size_t(c)] + bs[std::size_t(c)]));
      CHECK(rn[i] == doctest::Approx(xr[c] / std::sqrt(ms + 1e-6) * gs[std::size_t(c)]));
    }
  }
}

TEST_CASE_TEMPLATE("attention equals the naive per-head computation", B, VTRANS_TEST_BACKENDS) {
  const vtrans::index batch = 2, len = 4, heads = 4, kv = 2, d = 3;
  auto q = rnd<B>(shape{batch, len, heads * d}, 10), k = rnd<B>(shape{batch, len, kv * d}, 11), v = rnd<B>(shape{batch, len, kv * d}, 12);
  std::vector<std::int32_t> mask{1, 1, 1, 1, 1, 1, 0, 0};
  auto m = upload_ids<B>("mask", shape{batch, len}, mask, 2);
  for (bool causal : {false, true}) {
    tensor<double, B> probs;
    auto y = attention(q, k, v, &m, attention_options{heads, kv, causal, {}}, &probs).value().to_host();
    auto qh = q.value().to_host(), kh = k.value().to_host(), vh = v.value().to_host(), ph = probs.to_host();
    for (vtrans::index b = 0; b < batch; ++b)
      for (vtrans::index h = 0; h < heads; ++h)
        for (vtrans::index i = 0; i < len; ++i) {
          const vtrans::index g = h / (heads / kv);
          std::vector<double> s(std::size_t(len), 0.0);
          double mx = -1e300, z = 0;
          for (vtrans::index j = 0; j < len; ++j) {
            bool on = mask[std::size_t(b * len + j)] && (!causal || j <= i);
            if (!on) { s[std::size_t(j)] = NAN; continue; }
            double dot = 0;
            for (vtrans::index e = 0; e < d; ++e) dot += qh[std::size_t((b * len + i) * heads * d + h * d + e)] * kh[std::size_t((b * len + j) * kv * d + g * d + e)];
            s[std::size_t(j)] = dot / std::sqrt(double(d));
            mx = std::max(mx, s[std::size_t(j)]);
          }
          for (auto& e : s) if (!std::isnan(e)) z += std::exp(e - mx);
          for (vtrans::index e = 0; e < d; ++e) {
            double o = 0;
            for (vtrans::index j = 0; j < len; ++j)
              if (!std::isnan(s[std::size_t(j)])) o += std::exp(s[std::size_t(j)] - mx) / z * vh[std::size_t((b * len + j) * kv * d + g * d + e)];
            CHECK(y[std::size_t((b * len + i) * heads * d + h * d + e)] == doctest::Approx(o));
          }
          for (vtrans::index j = 0; j < len; ++j) {
            double want = std::isnan(s[std::size_t(j)]) ? 0.0 : std::exp(s[std::size_t(j)] - mx) / z;
            CHECK(ph[std::size_t(((b * heads + h) * len + i) * len + j)] == doctest::Approx(want));
          }
        }
  }
}

// The attention kernels with a sliding window: query i (shift = k_len - q_len) sees key j iff the key
// is not padding, (not causal or j <= i + shift) and j > i + shift - window.
TEST_CASE_TEMPLATE("sliding-window attention equals the naive computation", B, VTRANS_TEST_BACKENDS) {
  struct config { vtrans::index batch, q_len, k_len, heads, kv, d, window; bool causal, padded; };
  for (config c : {config{2, 7, 7, 4, 2, 3, 3, true, true},    // window shorter than the sequence
                   config{2, 4, 9, 2, 2, 3, 2, false, true},   // not causal, more keys than queries
                   config{1, 3, 8, 2, 1, 4, 4, true, false},   // causal with more keys than queries
                   config{2, 6, 6, 2, 2, 2, 1, true, true}}) { // each query sees itself (or nothing)
    attention_dims dims;
    dims.batch = c.batch; dims.q_len = c.q_len; dims.k_len = c.k_len; dims.heads = c.heads; dims.kv_heads = c.kv;
    dims.head_dim = c.d; dims.causal = c.causal; dims.window = c.window; dims.scale = 1.0 / std::sqrt(double(c.d));
    dims.ldq = dims.ldo = c.heads * c.d; dims.ldk = dims.ldv = c.kv * c.d;
    const auto qh = testing::random_values<double>(c.batch * c.q_len * dims.ldq, 20);
    const auto kh = testing::random_values<double>(c.batch * c.k_len * dims.ldk, 21);
    const auto vh = testing::random_values<double>(c.batch * c.k_len * dims.ldv, 22);
    std::vector<std::int32_t> mask(std::size_t(c.batch * c.k_len), 1);
    if (c.padded)  // batch b pads its last b + 1 keys
      for (vtrans::index b = 0; b < c.batch; ++b)
        for (vtrans::index j = c.k_len - 1 - b; j < c.k_len; ++j) mask[std::size_t(b * c.k_len + j)] = 0;
    const auto q = tensor<double, B>::from_host(shape{vtrans::index(qh.size())}, qh), k = tensor<double, B>::from_host(shape{vtrans::index(kh.size())}, kh),
               v = tensor<double, B>::from_host(shape{vtrans::index(vh.size())}, vh);
    const auto m = tensor<std::int32_t, B>::from_host(shape{vtrans::index(mask.size())}, mask);
    tensor<double, B> probs(shape{dims.probs_numel()}), out(shape{c.batch * c.q_len * dims.ldo});
    B::attention_forward(dims, q.data(), k.data(), v.data(), c.padded ? m.data() : nullptr, probs.data(), out.data());
    const auto ph = probs.to_host(), oh = out.to_host();
    const vtrans::index shift = c.k_len - c.q_len;
    for (vtrans::index b = 0; b < c.batch; ++b)
      for (vtrans::index h = 0; h < c.heads; ++h)
        for (vtrans::index i = 0; i < c.q_len; ++i) {
          const vtrans::index g = h / (c.heads / c.kv);
          std::vector<double> w(std::size_t(c.k_len), 0.0);
          std::vector<bool> on(std::size_t(c.k_len), false);
          double mx = -1e300, z = 0;
          for (vtrans::index j = 0; j < c.k_len; ++j) {
            on[std::size_t(j)] = mask[std::size_t(b * c.k_len + j)] && (!c.causal || j <= i + shift) && j > i + shift - c.window;
            if (!on[std::size_t(j)]) continue;
            double dot = 0;
            for (vtrans::index e = 0; e < c.d; ++e)
              dot += qh[std::size_t((b * c.q_len + i) * dims.ldq + h * c.d + e)] * kh[std::size_t((b * c.k_len + j) * dims.ldk + g * c.d + e)];
            w[std::size_t(j)] = dot * dims.scale;
            mx = std::max(mx, w[std::size_t(j)]);
          }
          for (vtrans::index j = 0; j < c.k_len; ++j)
            if (on[std::size_t(j)]) z += std::exp(w[std::size_t(j)] - mx);
          for (vtrans::index j = 0; j < c.k_len; ++j) {
            const double want = on[std::size_t(j)] ? std::exp(w[std::size_t(j)] - mx) / z : 0.0;
            w[std::size_t(j)] = want;
            CHECK(ph[std::size_t(((b * c.heads + h) * c.q_len + i) * c.k_len + j)] == doctest::Approx(want));
          }
          for (vtrans::index e = 0; e < c.d; ++e) {
            double o = 0;
            for (vtrans::index j = 0; j < c.k_len; ++j) o += w[std::size_t(j)] * vh[std::size_t((b * c.k_len + j) * dims.ldv + g * c.d + e)];
            CHECK(oh[std::size_t((b * c.q_len + i) * dims.ldo + h * c.d + e)] == doctest::Approx(o));
          }
        }
    // a window as long as the keys changes nothing
    tensor<double, B> unlimited(shape{dims.probs_numel()}), out2(shape{c.batch * c.q_len * dims.ldo}), wide(shape{dims.probs_numel()});
    attention_dims plain = dims, long_window = dims;
    plain.window = 0;
    long_window.window = c.k_len;
    B::attention_forward(plain, q.data(), k.data(), v.data(), c.padded ? m.data() : nullptr, unlimited.data(), out2.data());
    B::attention_forward(long_window, q.data(), k.data(), v.data(), c.padded ? m.data() : nullptr, wide.data(), out2.data());
    CHECK(wide.to_host() == unlimited.to_host());
  }
}

TEST_CASE_TEMPLATE("rope rotates halves like Hugging Face's rotate_half", B, VTRANS_TEST_BACKENDS) {
  const vtrans::index heads = 2, d = 4;
  auto x = rnd<B>(shape{1, 2, heads * d}, 13);
  auto pos = upload_ids<B>("pos", shape{2}, {3, 7}, 100);
  auto y = rope(x, pos, heads, 10000.0).value().to_host();
  auto xh = x.value().to_host();
  const int p[2] = {3, 7};
  for (vtrans::index t = 0; t < 2; ++t)
    for (vtrans::index h = 0; h < heads; ++h)
      for (vtrans::index i = 0; i < d; ++i) {
        // q * cos + rotate_half(q) * sin, inv_freq_j = theta^(-2j/d), angle vtrans::index j = i mod d/2
        const double angle = p[t] * std::pow(10000.0, -2.0 * double(i % (d / 2)) / double(d));
        const double* xv = &xh[std::size_t(t * heads * d + h * d)];
        const double rot = i < d / 2 ? -xv[i + d / 2] : xv[i - d / 2];
        CHECK(y[std::size_t(t * heads * d + h * d + i)] == doctest::Approx(xv[i] * std::cos(angle) + rot * std::sin(angle)));
      }
}

TEST_CASE_TEMPLATE("losses and dropout follow their definitions", B, VTRANS_TEST_BACKENDS) {
  V<B> logits(tensor<double, B>::from_host(shape{2, 3}, {1.0, 2.0, 3.0, 0.5, 0.5, -1.0}));
  const double lse0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  CHECK(cross_entropy(logits, {2, -100}).item() == doctest::Approx(lse0 - 3.0));
  const double lse1 = std::log(2 * std::exp(0.5) + std::exp(-1.0));
  CHECK(cross_entropy(logits, {0, 2}).item() == doctest::Approx(((lse0 - 1.0) + (lse1 + 1.0)) / 2));
  CHECK_THROWS_AS(cross_entropy(logits, {3, 0}), std::out_of_range);
  V<B> other(tensor<double, B>::from_host(shape{2, 3}, {0.0, 2.0, 1.0, 0.5, 1.5, -1.0}));
  CHECK(mse(logits, other).item() == doctest::Approx((1.0 + 0.0 + 4.0 + 0.0 + 1.0 + 0.0) / 6));
  // KL(p_t || p_s) at temperature 2, times 4, averaged over rows
  double kl = 0;
  auto sh = logits.value().to_host(), th = other.value().to_host();
  for (int r = 0; r < 2; ++r) {
    double zs = 0, zt = 0;
    for (int c = 0; c < 3; ++c) zs += std::exp(sh[std::size_t(r * 3 + c)] / 2), zt += std::exp(th[std::size_t(r * 3 + c)] / 2);
    for (int c = 0; c < 3; ++c) {
      double pt = std::exp(th[std::size_t(r * 3 + c)] / 2) / zt, ps = std::exp(sh[std::size_t(r * 3 + c)] / 2) / zs;
      kl += pt * std::log(pt / ps);
    }
  }
  CHECK(kl_div(logits, other, 2.0).item() == doctest::Approx(4.0 * kl / 2));
  auto ones = V<B>(tensor<double, B>::filled(shape{100, 100}, 1.0));
  auto dropped = dropout(ones, 0.25, 5).value().to_host();
  std::size_t zeros = 0;
  for (double e : dropped) {
    CHECK((e == 0.0 || e == doctest::Approx(1.0 / 0.75)));
    zeros += e == 0.0;
  }
  CHECK(zeros > 2300);
  CHECK(zeros < 2700);
  CHECK(dropout(ones, 0.25, 5).value().to_host() == dropped);  // same seed, same mask
}

TEST_CASE_TEMPLATE("embedding gathers rows and rejects ids out of range", B, VTRANS_TEST_BACKENDS) {
  V<B> table(tensor<double, B>::from_host(shape{3, 2}, {0, 1, 10, 11, 20, 21}));
  auto ids = upload_ids<B>("ids", shape{2, 2}, {2, 0, 1, 2}, 3);
  auto y = embedding(table, ids);
  CHECK(y.shape() == shape{2, 2, 2});
  CHECK(y.value().to_host() == std::vector<double>{20, 21, 0, 1, 10, 11, 20, 21});
  CHECK_THROWS_WITH_AS(upload_ids<B>("ids", shape{2}, {1, 3}, 3), doctest::Contains("id 3 at position 1"), std::out_of_range);
}

TEST_CASE("float kernels (vectorised GELU, norms, softmax) agree with double") {
  const vtrans::index n = 4099;
  std::vector<double> xd(static_cast<std::size_t>(n));
  for (vtrans::index i = 0; i < n; ++i) xd[std::size_t(i)] = -12.0 + 24.0 * double(i) / double(n - 1);
  const std::vector<float> xf(xd.begin(), xd.end());
  for (auto op : {math::unary_op::gelu, math::unary_op::gelu_tanh, math::unary_op::silu}) {
    std::vector<float> yf(xf.size()), gf(xf.size(), 0.0f), ones(xf.size(), 1.0f);
    cpu::unary<float>(op, n, xf.data(), yf.data());
    cpu::unary_backward<float>(op, n, xf.data(), yf.data(), ones.data(), gf.data());
    for (std::size_t i = 0; i < xf.size(); ++i) {
      const double x = double(xf[i]), y = math::apply(op, x);
      CHECK(std::abs(double(yf[i]) - y) <= 4e-6 * (1 + std::abs(y)));
      CHECK(std::abs(double(gf[i]) - math::derivative(op, x, y)) <= 4e-6);
    }
  }
  // a layer of norms and softmax over rows wider than the parallel grain
  const vtrans::index rows = 9, cols = 3001;
  auto xs = testing::random_values<double>(rows * cols, 3, 2.0);
  std::vector<float> xs_f(xs.begin(), xs.end());
  std::vector<float> yf(xs.size()), mf(static_cast<std::size_t>(rows)), rf(static_cast<std::size_t>(rows));
  std::vector<double> xs_back(xs_f.begin(), xs_f.end()), yd(xs.size()), md(static_cast<std::size_t>(rows)), rd(static_cast<std::size_t>(rows));
  cpu::layer_norm<float>(rows, cols, xs_f.data(), nullptr, nullptr, 1e-5, yf.data(), mf.data(), rf.data());
  cpu::layer_norm<double>(rows, cols, xs_back.data(), nullptr, nullptr, 1e-5, yd.data(), md.data(), rd.data());
  for (std::size_t i = 0; i < yd.size(); ++i) CHECK(std::abs(double(yf[i]) - yd[i]) <= 1e-5 * (1 + std::abs(yd[i])));
  cpu::softmax<float>(rows, cols, xs_f.data(), yf.data());
  cpu::softmax<double>(rows, cols, xs_back.data(), yd.data());
  for (std::size_t i = 0; i < yd.size(); ++i) CHECK(std::abs(double(yf[i]) - yd[i]) <= 1e-6 + 1e-5 * yd[i]);
}

TEST_CASE("results do not depend on the number of threads") {
  auto run = [](int threads) {
    omp_set_num_threads(threads);
    using V = var<double, cpu>;
    param<double, cpu> w(tensor<double, cpu>::from_host(shape{96, 200}, testing::random_values<double>(96 * 200, 5, 0.1)));
    param<double, cpu> g(tensor<double, cpu>::filled(shape{96}, 1.0)), b(tensor<double, cpu>::zeros(shape{96}));
    V x(tensor<double, cpu>::from_host(shape{4, 64, 200}, testing::random_values<double>(4 * 64 * 200, 6)));
    auto h = layer_norm(gelu(linear(x, w)), g, b, 1e-5);
    auto a = attention(h, h, h, static_cast<const id_tensor<cpu>*>(nullptr), attention_options{4, 4, true, {}});
    backward(mean(square(a)));
    auto out = w.grad().to_host();
    const auto gg = g.grad().to_host();
    out.insert(out.end(), gg.begin(), gg.end());
    return out;
  };
  const auto one = run(1), two = run(2);
  omp_set_num_threads(omp_get_num_procs());
  REQUIRE(one.size() == two.size());
  for (std::size_t i = 0; i < one.size(); ++i) CHECK(one[i] == doctest::Approx(two[i]).epsilon(1e-10));
}

TEST_CASE_TEMPLATE("keep_highest drops the lowest scores in stable-sort order, the count read from backend memory", B, VTRANS_TEST_BACKENDS) {
  for (vtrans::index n : {1, 2, 7, 64, 301})
    for (double kept : {0.0, 0.49, 0.5, 1.5, double(n) / 3, double(n) - 0.5, double(n), double(n) + 2}) {
      // scores with many ties: 13 distinct values
      std::vector<double> score(static_cast<std::size_t>(n));
      for (std::size_t i = 0; i < score.size(); ++i) score[i] = double(math::mix64(i + 7 * std::uint64_t(n)) % 13) - 6;
      const auto s = tensor<double, B>::from_host(shape{n}, score), k = tensor<double, B>::from_host(shape{1}, {kept});
      tensor<double, B> y(shape{n});
      B::keep_highest(n, s.data(), k.data(), y.data());
      // reference: std::llround and std::stable_sort, as a host rule would write it
      const auto drop = std::clamp<long long>(std::llround(double(n) - kept), 0, n);
      std::vector<std::size_t> order(score.size());
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return score[a] < score[b]; });
      std::vector<double> want(score.size(), 1.0);
      for (long long i = 0; i < drop; ++i) want[order[std::size_t(i)]] = 0.0;
      INFO("n " << n << " kept " << kept);
      CHECK(y.to_host() == want);
    }
  // a NaN score (a diverged mask), which no sort orders: every backend applies the per-unit rule
  const std::vector<double> score{0.5, std::nan(""), -1.0, 0.5, 2.0};
  const auto s = tensor<double, B>::from_host(shape{5}, score), k = tensor<double, B>::from_host(shape{1}, {2.0});
  tensor<double, B> y(shape{5});
  B::keep_highest(5, s.data(), k.data(), y.data());
  std::vector<double> want;
  for (vtrans::index i = 0; i < 5; ++i) want.push_back(vtrans::kernels::kept_after_dropping_lowest<double>(5, score.data(), i, 3));
  CHECK(y.to_host() == want);
}
