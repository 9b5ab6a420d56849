// bf16 and f16: exact widening of every bit pattern, and narrowing that rounds to nearest even.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "vtrans/io/dtype.hpp"
#include "vtrans/tensor/half.hpp"
#include "vtrans/tensor/math.hpp"

using namespace vtrans;

namespace {
bool same(float a, float b) { return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof a) == 0; }

// The representable value nearest to x (ties to the even bit pattern), by search over all 65536.
template <class H>
std::uint16_t nearest(float x, const std::vector<float>& values) {
  std::uint16_t best = 0;
  double best_err = std::numeric_limits<double>::infinity();
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const float v = values[b];
    if (std::isnan(v) || std::isinf(v)) continue;
    const double err = std::abs(double(v) - double(x));
    if (err < best_err || (err == best_err && (b & 1) == 0 && std::signbit(v) == std::signbit(x))) best = std::uint16_t(b), best_err = err;
  }
  return best;
}

template <class H>
void check_narrowing(float (*reference)(std::uint16_t), double max_finite) {
  std::vector<float> values(65536);
  for (std::uint32_t b = 0; b < 65536; ++b) values[b] = reference(std::uint16_t(b));
  // every finite value survives a round trip; NaN stays NaN
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const H h = H::from_float(values[b]);
    if (std::isnan(values[b])) CHECK(std::isnan(h.to_float()));
    else CHECK(h.bits == b);
  }
  // midpoints between neighbours round to the even one; anything else to the nearest
  for (std::uint32_t b = 0; b + 1 < 0x7c00; b += 7) {
    const double lo = values[b], hi = values[b + 1];
    if (std::isinf(hi) || std::isnan(hi)) break;
    const float mid = float((lo + hi) / 2);
    if (double(mid) == (lo + hi) / 2) CHECK(H::from_float(mid).bits == ((b & 1) ? b + 1 : b));
  }
  for (std::uint64_t i = 0; i < 1000; ++i) {
    const double u = math::uniform(7, i), scale = std::ldexp(1.0, int(math::uniform(8, i) * 60) - 40);
    const float x = float((u - 0.5) * scale);
    if (std::abs(double(x)) >= max_finite) continue;
    CHECK(H::from_float(x).bits == nearest<H>(x, values));
  }
  CHECK(std::isinf(H::from_float(float(max_finite * 1.01)).to_float()));
  CHECK(std::isinf(H::from_float(std::numeric_limits<float>::infinity()).to_float()));
}
}  // namespace

TEST_CASE("widening is exact for every bf16 and f16 bit pattern") {
  std::vector<bf16> b(65536);
  std::vector<f16> h(65536);
  for (std::uint32_t i = 0; i < 65536; ++i) b[i].bits = h[i].bits = std::uint16_t(i);
  std::vector<float> wb(65536), wh(65536);
  std::vector<double> wd(65536);
  widen(b.size(), b.data(), wb.data());
  widen(h.size(), h.data(), wh.data());
  widen(h.size(), h.data(), wd.data());
  for (std::uint32_t i = 0; i < 65536; ++i) {
    CHECK(same(wb[i], io::bf16_to_float(std::uint16_t(i))));
    CHECK(same(wh[i], io::f16_to_float(std::uint16_t(i))));
    CHECK(same(float(wd[i]), wh[i]));
  }
}

TEST_CASE("bf16 narrowing rounds to nearest even") {
  // the largest finite bf16 is (2 - 2^-7) 2^127; values from half an ulp above it overflow
  check_narrowing<bf16>(io::bf16_to_float, std::ldexp(2.0 - std::ldexp(1.0, -8), 127));
}

TEST_CASE("f16 narrowing rounds to nearest even, subnormals and overflow included") {
  check_narrowing<f16>(io::f16_to_float, 65520.0);
  CHECK(f16::from_float(std::ldexp(1.0f, -25)).bits == 0);              // half the smallest subnormal: ties to 0
  CHECK(f16::from_float(std::ldexp(1.5f, -25)).bits == 1);              // above half: the smallest subnormal
  CHECK(f16::from_float(-std::ldexp(3.0f, -25)).bits == (0x8000 | 2));  // tie between 1 and 2 steps: even
  CHECK(f16::from_float(65519.0f).bits == 0x7bff);                      // just below the overflow threshold
}
