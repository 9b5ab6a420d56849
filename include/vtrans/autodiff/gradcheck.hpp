#pragma once
// Finite-difference check of an op's backward pass, in double precision: compares the gradient
// of <f(inputs), r> (r a fixed random projection, so every output element counts) against
// central differences for every element of every input that requires a gradient.
#include <algorithm>
#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "vtrans/autodiff/ops_elementwise.hpp"
#include "vtrans/tensor/math.hpp"

namespace vtrans::autodiff {

struct gradcheck_result {
  bool ok = true;
  double max_abs_error = 0;
  std::string message;  // the worst element, when not ok
};

template <class B>
gradcheck_result gradcheck(const std::function<var<double, B>(const std::vector<var<double, B>>&)>& f,
                           const std::vector<var<double, B>>& inputs, double eps = 1e-6, double atol = 1e-6,
                           double rtol = 1e-5, std::uint64_t seed = 20240607) {
  using V = var<double, B>;
  auto& t = tape<double, B>::local();
  t.clear();
  for (const auto& in : inputs) in.zero_grad();

  // analytic: d <f(x), r> / dx
  V out = f(inputs);
  std::vector<double> r(static_cast<std::size_t>(out.numel()));
  for (std::size_t i = 0; i < r.size(); ++i) r[i] = math::normal(seed, i);
  V proj(tensor<double, B>::from_host(out.shape(), r));
  backward(sum(mul(out, proj)));

  auto projected = [&]() {
    no_record guard;
    V o = f(inputs);
    auto h = o.value().to_host();
    double s = 0;
    for (std::size_t i = 0; i < h.size(); ++i) s += h[i] * r[i];
    return s;
  };

  gradcheck_result res;
  double worst = -1;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    const V& in = inputs[k];
    if (!in.requires_grad()) continue;
    std::vector<double> analytic = in.has_grad() ? in.grad().to_host() : std::vector<double>(std::size_t(in.numel()), 0.0);
    std::vector<double> x = in.value().to_host();
    for (std::size_t j = 0; j < x.size(); ++j) {
      const double saved = x[j];
      auto set = [&](double v) { x[j] = v; B::upload(&x[j], 1, const_cast<V&>(in).value().data() + j); };
      set(saved + eps);
      const double plus = projected();
      set(saved - eps);
      const double minus = projected();
      set(saved);
      const double numeric = (plus - minus) / (2 * eps);
      const double err = std::abs(numeric - analytic[j]);
      res.max_abs_error = std::max(res.max_abs_error, err);
      const double excess = err - (atol + rtol * std::abs(numeric));
      if (excess > 0 && excess > worst) {
        worst = excess;
        res.ok = false;
        std::ostringstream m;
        m << "input " << k << " " << in.shape().str() << " element " << j << ": analytic " << analytic[j]
          << ", numeric " << numeric << ", error " << err;
        res.message = m.str();
      }
    }
  }
  return res;
}

}  // namespace vtrans::autodiff
