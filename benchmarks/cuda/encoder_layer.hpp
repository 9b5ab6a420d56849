#pragma once
// A BERT encoder layer (post-norm: attention, add & layer norm, GELU FFN, add & layer norm) built
// from the autodiff ops, written once for any backend; and its forward+backward timing.
// No xtensor here: included by the nvcc translation unit too.
#include <chrono>
#include <cstdint>
#include <vector>

#include "vtrans/autodiff/autodiff.hpp"
#include "vtrans/tensor/math.hpp"

namespace vtrans::bench {

struct encoder_config {
  index batch = 8, seq = 128, hidden = 768, heads = 12, ffn = 3072;
  int warmup = 2, iters = 10;
};
struct encoder_timing {
  double ms_per_step = 0;  // forward + backward
  double checksum = 0;     // output and one weight gradient, projected (backends must roughly agree)
  const char* backend = "";
};

template <class T, class B>
struct encoder_layer {
  using V = autodiff::var<T, B>;
  V wq, bq, wk, bk, wv, bv, wo, bo, g1, b1, w1, c1, w2, c2, g2, b2;
  autodiff::attention_options opt;

  explicit encoder_layer(const encoder_config& c) {
    std::uint64_t seed = 1000;
    auto weight = [&](index out, index in) {
      std::vector<T> v(static_cast<std::size_t>(out * in));
      for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>(0.02 * math::normal(seed, i));
      ++seed;
      return V(tensor<T, B>::from_host(shape{out, in}, v), true);
    };
    auto filled = [&](index n, T value) { return V(tensor<T, B>::filled(shape{n}, value), true); };
    const index h = c.hidden;
    wq = weight(h, h); wk = weight(h, h); wv = weight(h, h); wo = weight(h, h);
    w1 = weight(c.ffn, h); w2 = weight(h, c.ffn);
    bq = filled(h, T(0.01)); bk = filled(h, T(0)); bv = filled(h, T(-0.01)); bo = filled(h, T(0));
    c1 = filled(c.ffn, T(0)); c2 = filled(h, T(0));
    g1 = filled(h, T(1)); b1 = filled(h, T(0)); g2 = filled(h, T(1)); b2 = filled(h, T(0));
    opt.heads = c.heads;
  }
  V forward(const V& x, const autodiff::id_tensor<B>* mask) const {
    using namespace autodiff;
    V a = attention(linear(x, wq, bq), linear(x, wk, bk), linear(x, wv, bv), mask, opt);
    V h1 = layer_norm(add(x, linear(a, wo, bo)), g1, b1, 1e-12);
    V f = linear(gelu(linear(h1, w1, c1)), w2, c2);
    return layer_norm(add(h1, f), g2, b2, 1e-12);
  }
};

// Times forward + backward of one layer on backend B (inputs, masks and weights built once).
template <class T, class B>
encoder_timing time_encoder(const encoder_config& c) {
  encoder_layer<T, B> layer(c);
  std::vector<T> xs(static_cast<std::size_t>(c.batch * c.seq * c.hidden));
  for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<T>(math::normal(7, i));
  autodiff::var<T, B> x(tensor<T, B>::from_host(shape{c.batch, c.seq, c.hidden}, xs), true);
  std::vector<std::int32_t> mask(static_cast<std::size_t>(c.batch * c.seq), 1);
  for (index b = 0; b < c.batch; ++b)  // some padding, as in real batches
    for (index s = c.seq - b * (c.seq / 16); s < c.seq; ++s) mask[std::size_t(b * c.seq + s)] = 0;
  auto m = autodiff::id_tensor<B>::from_host(shape{c.batch, c.seq}, mask);

  encoder_timing t;
  t.backend = B::name();
  auto step = [&] {
    auto y = layer.forward(x, &m);
    auto loss = autodiff::mean(y);
    autodiff::backward(loss);
    return y;
  };
  for (int i = 0; i < c.warmup; ++i) step();
  B::synchronize();
  const auto start = std::chrono::steady_clock::now();
  autodiff::var<T, B> y;
  for (int i = 0; i < c.iters; ++i) y = step();
  B::synchronize();
  const auto stop = std::chrono::steady_clock::now();
  t.ms_per_step = std::chrono::duration<double, std::milli>(stop - start).count() / (c.iters > 0 ? c.iters : 1);
  const std::vector<T> out = y.value().to_host(), grad = layer.wq.grad().to_host();
  for (std::size_t i = 0; i < out.size(); ++i) t.checksum += double(out[i]) * math::uniform(3, i);
  for (std::size_t i = 0; i < grad.size(); ++i) t.checksum += 1e3 * double(grad[i]) * math::uniform(4, i);
  return t;
}

// Defined in encoder_cpu.cpp (g++, vtrans::cpu) and encoder_cuda.cu (nvcc, vtrans::cuda).
encoder_timing time_encoder_cpu(const encoder_config& c);
encoder_timing time_encoder_cuda(const encoder_config& c, bool tf32);
bool cuda_device_available();

}  // namespace vtrans::bench
