#pragma once
// Distillation from the unpruned teacher: logit KD with a temperature, and layer distillation
// (CoFi): chosen teacher layers are matched to student layers by the smallest MSE after a
// learned projection, in order (a later teacher layer never maps below an earlier one's match).
#include <limits>
#include <vector>

#include "vtrans/autodiff/autodiff.hpp"

namespace vtrans::prune {

struct distill_options {
  double kd_weight = 1.0;      // tau^2 KL(teacher || student) on the logits
  double temperature = 2.0;
  double task_weight = 1.0;    // the task's own loss on the labels
  double layer_weight = 0.0;   // hidden-state distillation (CoFi: 0.9 with kd 0.1 and no task loss)
};

// Teacher layers to distil from: four spread over the depth (CoFi: 3, 6, 9, 12 of 12), 0-based.
inline std::vector<index> distilled_teacher_layers(index layers) {
  std::vector<index> out;
  for (index k = 1; k <= 4; ++k) {
    const index l = std::max<index>(0, (layers * k + 3) / 4 - 1);
    if (out.empty() || out.back() != l) out.push_back(l);
  }
  return out;
}

// CoFi's matching: from the last teacher layer backwards, the student layer with the least MSE
// whose index is below the previous match. mse[j][m]: teacher layer j vs student layer m.
inline std::vector<index> match_layers(const std::vector<std::vector<double>>& mse) {
  std::vector<index> match(mse.size(), 0);
  index bound = mse.empty() ? 0 : index(mse[0].size());
  for (std::size_t jj = mse.size(); jj-- > 0;) {
    double best = std::numeric_limits<double>::infinity();
    index pick = -1;
    for (index m = 0; m < bound; ++m)
      if (mse[jj][std::size_t(m)] < best) best = mse[jj][std::size_t(m)], pick = m;
    if (pick < 0) pick = std::max<index>(0, bound - 1);
    match[jj] = pick;
    bound = std::max<index>(1, pick);
  }
  return match;
}

// Sum over the distilled teacher layers (distilled_teacher_layers(), in that order) of
// MSE(teacher_j, student_m(j) W^T + b), all as [rows, D] on the same rows.
template <class T, class B>
autodiff::var<T, B> layer_distillation(const std::vector<autodiff::var<T, B>>& teacher_layers, const std::vector<autodiff::var<T, B>>& student_layers,
                                       const autodiff::var<T, B>& proj_w, const autodiff::var<T, B>& proj_b) {
  using V = autodiff::var<T, B>;
  const std::size_t J = teacher_layers.size(), M = student_layers.size();
  std::vector<std::vector<double>> mse(J, std::vector<double>(M, 0.0));
  {
    // every pair's MSE gathered on the device, then read in one transfer (the match picks the graph)
    autodiff::no_record guard;
    tensor<T, B> all(shape{index(J * M)});
    for (std::size_t m = 0; m < M; ++m) {
      const V p = autodiff::linear(student_layers[m], proj_w, proj_b);
      for (std::size_t j = 0; j < J; ++j) B::axpby(1, T(1), autodiff::mse(p, teacher_layers[j]).value().data(), T(0), all.data() + j * M + m);
    }
    const auto host = all.to_host();
    for (std::size_t j = 0; j < J; ++j)
      for (std::size_t m = 0; m < M; ++m) mse[j][m] = double(host[j * M + m]);
  }
  const auto match = match_layers(mse);
  V total;
  for (std::size_t j = 0; j < teacher_layers.size(); ++j) {
    const V term = autodiff::mse(autodiff::linear(student_layers[std::size_t(match[j])], proj_w, proj_b), teacher_layers[j]);
    total = total.defined() ? autodiff::add(total, term) : term;
  }
  return total;
}

}  // namespace vtrans::prune
