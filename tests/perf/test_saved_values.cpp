// Ops keep alive only the values their backward pass reads: intermediates nothing needs are freed
// as soon as the forward code drops them, and gradients still reach every trained input.
#include <doctest/doctest.h>

#include <memory>

#include "support/random.hpp"
#include "vtrans/autodiff/autodiff.hpp"
#include "vtrans/tensor/cpu.hpp"

using namespace vtrans;
using namespace vtrans::autodiff;
using B = cpu;
using V = var<float, B>;

namespace {
// Whether the value of `v` outlives the handle: drop the handle, then look at the node.
template <class F>
bool kept_after(V v, F&& op) {
  std::weak_ptr<node<float, B>> n = v.shared();
  V out = op(v);
  v = V();
  const bool kept = !n.expired();
  tape<float, B>::local().clear();
  return kept;
}
}  // namespace

TEST_CASE("an op holds the inputs its backward pass reads, and no others") {
  const V trained = testing::random_var<float, B>(shape{4, 4}, 1);
  param<float, B> frozen_w(testing::random_var<float, B>(shape{4, 4}, 2, false).value().clone(), false);
  auto x = [] { return testing::random_var<float, B>(shape{4, 4}, 3); };
  CHECK(!kept_after(x(), [&](const V& v) { return add(v, trained); }));
  CHECK(!kept_after(x(), [&](const V& v) { return scale(v, 2.0f); }));
  CHECK(!kept_after(x(), [&](const V& v) { return columns(v, 1, 2); }));
  CHECK(!kept_after(x(), [&](const V& v) { return linear(v, frozen_w); }));   // dx reads the weight only
  CHECK(kept_after(x(), [&](const V& v) { return linear(v, trained); }));     // dW reads x
  CHECK(kept_after(x(), [&](const V& v) { return mul(v, trained); }));        // d trained reads x
  CHECK(!kept_after(x(), [&](const V& v) { return mul(v, frozen_w); }));      // nothing reads x
  CHECK(kept_after(x(), [&](const V& v) { return gelu(v); }));
}

TEST_CASE("gradients pass through freed intermediates unchanged") {
  param<float, B> w1(testing::random_var<float, B>(shape{6, 5}, 4).value().clone());
  param<float, B> w2(testing::random_var<float, B>(shape{3, 6}, 5).value().clone(), false);
  const V x = testing::random_var<float, B>(shape{7, 5}, 6, false);
  const V c = testing::random_var<float, B>(shape{7, 6}, 7, false);
  auto loss = [&](bool drop) {
    V h = linear(x, w1);
    V s = add(h, c);
    if (drop) h = V();  // only the tape holds what remains of h
    V out = linear(gelu(scale(s, 0.5f)), w2);
    return sum(out);
  };
  backward(loss(false));
  const auto reference = w1.grad().to_host();
  w1.zero_grad();
  backward(loss(true));
  CHECK(w1.grad().to_host() == reference);
}

TEST_CASE("a chain of recorded ops holds no more memory than its live values") {
  auto& cache = cpu_detail::block_cache::instance();
  param<float, B> bias(tensor<float, B>::zeros(shape{512}));
  const V x = testing::random_var<float, B>(shape{512, 512}, 8, false);  // 1 MiB
  const std::size_t before = cache.stats().in_use;
  V h = x;
  for (int i = 0; i < 16; ++i) h = add(h, bias);  // nothing reads the intermediate sums backwards
  CHECK(cache.stats().in_use - before < 3u << 20);
  backward(sum(h));
  CHECK(bias.grad().to_host()[0] == doctest::Approx(16 * 512));
}
