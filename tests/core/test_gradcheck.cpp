// Every differentiable op against central finite differences, in double, on several shapes
// including odd sizes.
#include <doctest/doctest.h>

#include "support/backends.hpp"
#include "support/random.hpp"
#include "vtrans/autodiff/autodiff.hpp"
#include "vtrans/autodiff/gradcheck.hpp"

using namespace vtrans;
using namespace vtrans::autodiff;

namespace {
template <class B>
using V = var<double, B>;
template <class B>
using Vs = std::vector<V<B>>;

template <class B>
V<B> rnd(const shape& s, std::uint64_t seed, double scale = 1.0, double shift = 0.0) {
  return testing::random_var<double, B>(s, seed, true, scale, shift);
}

template <class B, class F>
void check_grad(const char* what, F f, const Vs<B>& inputs, double atol = 1e-6, double rtol = 1e-5) {
  auto r = gradcheck<B>(f, inputs, 1e-6, atol, rtol);
  INFO(what << ": " << r.message);
  CHECK(r.ok);
}
}  // namespace

TEST_CASE_TEMPLATE("gradcheck: linear, matmul, batched matmul", B, VTRANS_TEST_BACKENDS) {
  for (auto [rows, in, out] : {std::tuple{1, 1, 1}, std::tuple{3, 5, 4}, std::tuple{7, 3, 9}}) {
    check_grad<B>("linear+bias", [](const Vs<B>& v) { return linear(v[0], v[1], v[2]); },
                  {rnd<B>(shape{rows, in}, 1), rnd<B>(shape{out, in}, 2), rnd<B>(shape{out}, 3)});
    check_grad<B>("linear rank 3", [](const Vs<B>& v) { return linear(v[0], v[1]); },
                  {rnd<B>(shape{2, rows, in}, 4), rnd<B>(shape{out, in}, 5)});
  }
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const vtrans::index m = 3, k = 5, n = 4;
      check_grad<B>("matmul", [ta, tb](const Vs<B>& v) { return matmul(v[0], v[1], ta, tb); },
                    {rnd<B>(ta ? shape{k, m} : shape{m, k}, 6), rnd<B>(tb ? shape{n, k} : shape{k, n}, 7)});
      check_grad<B>("batched_matmul", [ta, tb](const Vs<B>& v) { return batched_matmul(v[0], v[1], ta, tb); },
                    {rnd<B>(ta ? shape{3, k, m} : shape{3, m, k}, 8), rnd<B>(tb ? shape{3, n, k} : shape{3, k, n}, 9)});
    }
}

TEST_CASE_TEMPLATE("gradcheck: add, sub, mul with every broadcast, scale, sum, mean", B, VTRANS_TEST_BACKENDS) {
  const shape a{3, 5};
  for (shape b : {shape{3, 5}, shape{5}, shape{3, 1}, shape{1}}) {
    check_grad<B>("add", [](const Vs<B>& v) { return add(v[0], v[1]); }, {rnd<B>(a, 1), rnd<B>(b, 2)});
    check_grad<B>("sub", [](const Vs<B>& v) { return sub(v[0], v[1]); }, {rnd<B>(a, 3), rnd<B>(b, 4)});
    check_grad<B>("mul", [](const Vs<B>& v) { return mul(v[0], v[1]); }, {rnd<B>(a, 5), rnd<B>(b, 6)});
  }
  check_grad<B>("mul rank 4 by row", [](const Vs<B>& v) { return mul(v[0], v[1]); }, {rnd<B>(shape{2, 3, 2, 5}, 7), rnd<B>(shape{5}, 8)});
  check_grad<B>("scale", [](const Vs<B>& v) { return scale(v[0], -1.7); }, {rnd<B>(shape{4, 3}, 9)});
  check_grad<B>("sum", [](const Vs<B>& v) { return sum(v[0]); }, {rnd<B>(shape{2, 7}, 10)});
  check_grad<B>("mean", [](const Vs<B>& v) { return mean(v[0]); }, {rnd<B>(shape{3, 3, 3}, 11)});
}

TEST_CASE_TEMPLATE("gradcheck: activations", B, VTRANS_TEST_BACKENDS) {
  for (shape s : {shape{1}, shape{3, 7}, shape{2, 3, 5}}) {
    check_grad<B>("gelu", [](const Vs<B>& v) { return gelu(v[0]); }, {rnd<B>(s, 1, 2.0)});
    check_grad<B>("gelu_tanh", [](const Vs<B>& v) { return gelu_tanh(v[0]); }, {rnd<B>(s, 2, 2.0)});
    check_grad<B>("silu", [](const Vs<B>& v) { return silu(v[0]); }, {rnd<B>(s, 3, 2.0)});
    check_grad<B>("tanh", [](const Vs<B>& v) { return vtrans::autodiff::tanh(v[0]); }, {rnd<B>(s, 4, 2.0)});
    check_grad<B>("sigmoid", [](const Vs<B>& v) { return sigmoid(v[0]); }, {rnd<B>(s, 5, 2.0)});
    check_grad<B>("exp", [](const Vs<B>& v) { return vtrans::autodiff::exp(v[0]); }, {rnd<B>(s, 6)});
    check_grad<B>("log", [](const Vs<B>& v) { return vtrans::autodiff::log(v[0]); }, {rnd<B>(s, 7, 0.2, 2.0)});
    check_grad<B>("square", [](const Vs<B>& v) { return square(v[0]); }, {rnd<B>(s, 8)});
    check_grad<B>("sqrt", [](const Vs<B>& v) { return vtrans::autodiff::sqrt(v[0]); }, {rnd<B>(s, 10, 0.2, 2.0)});
    check_grad<B>("reciprocal", [](const Vs<B>& v) { return reciprocal(v[0]); }, {rnd<B>(s, 11, 0.2, 2.0)});
  }
  // step: 1 where x > 0, 0 elsewhere, with no gradient (a decision, not a relaxation)
  auto d = rnd<B>(shape{4, 6}, 12);
  const auto dh = d.value().to_host(), sh = step(d).value().to_host();
  for (std::size_t i = 0; i < dh.size(); ++i) CHECK(sh[i] == (dh[i] > 0 ? 1.0 : 0.0));
  check_grad<B>("step", [](const Vs<B>& v) { return step(v[0]); }, {d});
  // relu: keep inputs away from the kink at 0, where the derivative is undefined
  auto x = rnd<B>(shape{4, 6}, 9);
  auto h = x.value().to_host();
  for (auto& e : h) e = e >= 0 ? e + 0.1 : e - 0.1;
  check_grad<B>("relu", [](const Vs<B>& v) { return relu(v[0]); }, {V<B>(tensor<double, B>::from_host(x.shape(), h), true)});
}

TEST_CASE_TEMPLATE("gradcheck: softmax, log_softmax, layer_norm, rms_norm", B, VTRANS_TEST_BACKENDS) {
  for (shape s : {shape{1, 1}, shape{3, 7}, shape{2, 3, 5}}) {
    check_grad<B>("softmax", [](const Vs<B>& v) { return softmax(v[0]); }, {rnd<B>(s, 1, 2.0)});
    check_grad<B>("log_softmax", [](const Vs<B>& v) { return log_softmax(v[0]); }, {rnd<B>(s, 2, 2.0)});
    const shape p{s.cols()};
    if (s.cols() > 1)
      check_grad<B>("layer_norm", [](const Vs<B>& v) { return layer_norm(v[0], v[1], v[2], 1e-5); },
                    {rnd<B>(s, 3), rnd<B>(p, 4, 0.5, 1.0), rnd<B>(p, 5)});
    check_grad<B>("rms_norm", [](const Vs<B>& v) { return rms_norm(v[0], v[1], 1e-6); }, {rnd<B>(s, 6), rnd<B>(p, 7, 0.5, 1.0)});
  }
  check_grad<B>("layer_norm without affine", [](const Vs<B>& v) { return layer_norm(v[0], V<B>{}, V<B>{}, 1e-12); },
                {rnd<B>(shape{4, 9}, 8)});
}

TEST_CASE_TEMPLATE("gradcheck: reshape, columns, split/merge heads, repeat_kv", B, VTRANS_TEST_BACKENDS) {
  check_grad<B>("reshape", [](const Vs<B>& v) { return mul(reshape(v[0], shape{6, 2}), v[1]); },
                {rnd<B>(shape{3, 4}, 1), rnd<B>(shape{6, 2}, 2)});
  check_grad<B>("columns", [](const Vs<B>& v) { return columns(v[0], 2, 3); }, {rnd<B>(shape{4, 7}, 3)});
  check_grad<B>("split_heads", [](const Vs<B>& v) { return split_heads(v[0], 3); }, {rnd<B>(shape{2, 5, 6}, 4)});
  check_grad<B>("merge_heads", [](const Vs<B>& v) { return merge_heads(v[0]); }, {rnd<B>(shape{2, 3, 5, 2}, 5)});
  check_grad<B>("repeat_kv", [](const Vs<B>& v) { return repeat_kv(v[0], 2, 3); }, {rnd<B>(shape{2, 3, 8}, 6)});
}

TEST_CASE_TEMPLATE("gradcheck: embedding", B, VTRANS_TEST_BACKENDS) {
  auto ids = upload_ids<B>("test", shape{2, 3}, {4, 0, 4, 2, 2, 1}, 5);  // repeated ids accumulate
  check_grad<B>("embedding", [&ids](const Vs<B>& v) { return embedding(v[0], ids); }, {rnd<B>(shape{5, 3}, 1)});
}

TEST_CASE_TEMPLATE("gradcheck: attention with padding, causal masks and grouped heads", B, VTRANS_TEST_BACKENDS) {
  struct config { vtrans::index batch, q_len, k_len, heads, kv_heads, head_dim; bool causal; bool padded; };
  for (config c : {config{1, 1, 1, 1, 1, 1, false, false}, config{2, 3, 3, 2, 2, 4, false, true},
                   config{2, 5, 5, 4, 2, 3, true, true}, config{1, 3, 5, 3, 1, 2, true, false},
                   config{2, 4, 4, 2, 1, 5, false, false}}) {
    std::vector<std::int32_t> mask(std::size_t(c.batch * c.k_len), 1);
    if (c.padded) mask.back() = 0, mask[std::size_t(c.k_len - 1)] = 0;
    auto m = upload_ids<B>("mask", shape{c.batch, c.k_len}, mask, 2);
    attention_options opt{c.heads, c.kv_heads, c.causal, {}};
    check_grad<B>("attention", [&](const Vs<B>& v) { return attention(v[0], v[1], v[2], &m, opt); },
                  {rnd<B>(shape{c.batch, c.q_len, c.heads * c.head_dim}, 1),
                   rnd<B>(shape{c.batch, c.k_len, c.kv_heads * c.head_dim}, 2),
                   rnd<B>(shape{c.batch, c.k_len, c.kv_heads * c.head_dim}, 3)});
  }
}

// The attention kernels' backward pass with a sliding window, against central differences of the
// forward kernel: loss = sum(out * w) for fixed random w, so dloss/dout = w.
TEST_CASE_TEMPLATE("gradcheck: attention kernels with sliding windows", B, VTRANS_TEST_BACKENDS) {
  struct config { vtrans::index batch, q_len, k_len, heads, kv, d, window; bool causal; };
  for (config c : {config{2, 5, 5, 2, 1, 3, 2, true}, config{1, 3, 6, 2, 2, 2, 3, false}, config{1, 4, 7, 2, 1, 3, 3, true}}) {
    attention_dims dims;
    dims.batch = c.batch; dims.q_len = c.q_len; dims.k_len = c.k_len; dims.heads = c.heads; dims.kv_heads = c.kv;
    dims.head_dim = c.d; dims.causal = c.causal; dims.window = c.window; dims.scale = 1.0 / std::sqrt(double(c.d));
    dims.ldq = dims.ldo = c.heads * c.d; dims.ldk = dims.ldv = c.kv * c.d;
    std::vector<std::int32_t> mask(std::size_t(c.batch * c.k_len), 1);
    mask.back() = 0;  // one padded key
    const auto m = tensor<std::int32_t, B>::from_host(shape{vtrans::index(mask.size())}, mask);
    std::vector<std::vector<double>> in = {testing::random_values<double>(c.batch * c.q_len * dims.ldq, 30),
                                           testing::random_values<double>(c.batch * c.k_len * dims.ldk, 31),
                                           testing::random_values<double>(c.batch * c.k_len * dims.ldv, 32)};
    const auto w = tensor<double, B>::from_host(shape{c.batch * c.q_len * dims.ldo}, testing::random_values<double>(c.batch * c.q_len * dims.ldo, 33));
    const auto wh = w.to_host();
    auto upload = [](const std::vector<double>& v) { return tensor<double, B>::from_host(shape{vtrans::index(v.size())}, v); };
    tensor<double, B> probs(shape{dims.probs_numel()}), out(shape{vtrans::index(wh.size())});
    auto loss = [&] {
      const auto q = upload(in[0]), k = upload(in[1]), v = upload(in[2]);
      B::attention_forward(dims, q.data(), k.data(), v.data(), m.data(), probs.data(), out.data());
      const auto oh = out.to_host();
      double l = 0;
      for (std::size_t i = 0; i < oh.size(); ++i) l += oh[i] * wh[i];
      return l;
    };
    loss();
    const auto q = upload(in[0]), k = upload(in[1]), v = upload(in[2]);
    std::vector<tensor<double, B>> grads;
    for (const auto& x : in) grads.push_back(tensor<double, B>::zeros(shape{vtrans::index(x.size())}));
    B::attention_backward(dims, q.data(), k.data(), v.data(), probs.data(), w.data(), grads[0].data(), grads[1].data(), grads[2].data());
    const char* names[] = {"dq", "dk", "dv"};
    for (std::size_t t = 0; t < 3; ++t) {
      const auto analytic = grads[t].to_host();
      for (std::size_t i = 0; i < in[t].size(); ++i) {
        const double x0 = in[t][i], h = 1e-6;
        in[t][i] = x0 + h;
        const double up = loss();
        in[t][i] = x0 - h;
        const double down = loss();
        in[t][i] = x0;
        INFO(names[t] << "[" << i << "] window " << c.window);
        CHECK(analytic[i] == doctest::Approx((up - down) / (2 * h)).epsilon(1e-5).scale(1e-1));
      }
    }
  }
}

TEST_CASE_TEMPLATE("gradcheck: rotary position embedding", B, VTRANS_TEST_BACKENDS) {
  auto pos = upload_ids<B>("pos", shape{6}, {0, 1, 2, 5, 9, 100}, 1 << 20);
  check_grad<B>("rope", [&pos](const Vs<B>& v) { return rope(v[0], pos, 2, 10000.0); }, {rnd<B>(shape{2, 3, 8}, 1)});
  check_grad<B>("rope partial", [&pos](const Vs<B>& v) { return rope(v[0], pos, 1, 500000.0, 4); }, {rnd<B>(shape{3, 2, 6}, 2)});
}

TEST_CASE_TEMPLATE("gradcheck: losses and dropout", B, VTRANS_TEST_BACKENDS) {
  check_grad<B>("cross_entropy", [](const Vs<B>& v) { return cross_entropy(v[0], {2, -100, 0, 4}); }, {rnd<B>(shape{4, 5}, 1, 2.0)});
  check_grad<B>("cross_entropy rank 3", [](const Vs<B>& v) { return cross_entropy(v[0], {1, 1, 0, 2, 2, 0}); }, {rnd<B>(shape{2, 3, 3}, 2)});
  check_grad<B>("mse", [](const Vs<B>& v) { return mse(v[0], v[1]); }, {rnd<B>(shape{3, 4}, 3), rnd<B>(shape{3, 4}, 4)});
  auto teacher = testing::random_var<double, B>(shape{3, 6}, 5, false, 2.0);
  for (double tau : {1.0, 2.0})
    check_grad<B>("kl_div", [&](const Vs<B>& v) { return kl_div(v[0], teacher, tau); }, {rnd<B>(shape{3, 6}, 6, 2.0)});
  check_grad<B>("dropout", [](const Vs<B>& v) { return dropout(v[0], 0.3, 42); }, {rnd<B>(shape{5, 7}, 7)});
}

TEST_CASE_TEMPLATE("gradcheck and definition: norms over kept units", B, VTRANS_TEST_BACKENDS) {
  const auto keep = tensor<double, B>::from_host(shape{5}, {1, 0, 1, 1, 0});
  check_grad<B>("layer_norm_kept", [&](const Vs<B>& v) { return layer_norm_kept(v[0], keep, v[1], v[2], 1e-5); },
                {rnd<B>(shape{3, 5}, 1), rnd<B>(shape{5}, 2, 0.5, 1.0), rnd<B>(shape{5}, 3)});
  check_grad<B>("rms_norm_kept", [&](const Vs<B>& v) { return rms_norm_kept(v[0], keep, v[1], 1e-6); },
                {rnd<B>(shape{3, 5}, 4), rnd<B>(shape{5}, 5, 0.5, 1.0)});
  // equals the plain norm of the kept columns alone, and the input elsewhere
  auto x = rnd<B>(shape{2, 5}, 6), g = rnd<B>(shape{5}, 7), b = rnd<B>(shape{5}, 8);
  auto y = layer_norm_kept(x, keep, g, b, 1e-5).value().to_host(), r = rms_norm_kept(x, keep, g, 1e-6).value().to_host();
  auto pick = [](const std::vector<double>& v, std::size_t rows) {
    std::vector<double> out;
    for (std::size_t i = 0; i < rows; ++i) for (std::size_t c : {0, 2, 3}) out.push_back(v[i * 5 + c]);
    return out;
  };
  const std::vector<double> x3 = pick(x.value().to_host(), 2);
  std::vector<double> g3, b3;
  for (std::size_t c : {0, 2, 3}) g3.push_back(g.value().to_host()[c]), b3.push_back(b.value().to_host()[c]);
  V<B> xs(tensor<double, B>::from_host(shape{2, 3}, x3)), gs(tensor<double, B>::from_host(shape{3}, g3)), bs(tensor<double, B>::from_host(shape{3}, b3));
  const auto want = layer_norm(xs, gs, bs, 1e-5).value().to_host(), want_r = rms_norm(xs, gs, 1e-6).value().to_host();
  const auto got = pick(y, 2), got_r = pick(r, 2);
  for (std::size_t i = 0; i < want.size(); ++i) {
    CHECK(got[i] == doctest::Approx(want[i]));
    CHECK(got_r[i] == doctest::Approx(want_r[i]));
  }
  // removed units pass through unchanged (so the task's gradient still reaches their masks)
  const auto xh = x.value().to_host();
  for (std::size_t i : {1, 4, 6, 9}) {
    CHECK(y[i] == xh[i]);
    CHECK(r[i] == xh[i]);
  }
}
