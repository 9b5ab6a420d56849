#pragma once
// Evaluation metrics as GLUE reports them (transformers glue_compute_metrics -> scikit-learn /
// scipy): accuracy, F1 (binary, macro), Matthews correlation, Pearson, Spearman (average ranks
// for ties), token accuracy with an ignore index, perplexity. Degenerate cases return 0 the way
// scikit-learn does (no positive predictions, constant inputs) rather than NaN.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "vtrans/error.hpp"

namespace vtrans::train {

namespace detail {
template <class A, class B>
void check_sizes(const A& a, const B& b, const char* what) {
  if (a.size() != b.size())
    throw vtrans::usage_error(std::string("vtrans::train::") + what + ": " + std::to_string(a.size()) + " predictions vs " +
                                std::to_string(b.size()) + " references");
}
}  // namespace detail

// Fraction of equal positions; 0 for empty input.
template <class P, class G>
double accuracy(const P& pred, const G& gold) {
  detail::check_sizes(pred, gold, "accuracy");
  if (pred.size() == 0) return 0.0;
  std::size_t hit = 0;
  for (std::size_t i = 0; i < pred.size(); ++i) hit += static_cast<long long>(pred[i]) == static_cast<long long>(gold[i]);
  return static_cast<double>(hit) / static_cast<double>(pred.size());
}

// Accuracy over positions whose reference is not ignore (padding, non-first word pieces).
template <class P, class G>
double token_accuracy(const P& pred, const G& gold, long long ignore = -100) {
  detail::check_sizes(pred, gold, "token_accuracy");
  std::size_t hit = 0, n = 0;
  for (std::size_t i = 0; i < pred.size(); ++i) {
    if (static_cast<long long>(gold[i]) == ignore) continue;
    ++n;
    hit += static_cast<long long>(pred[i]) == static_cast<long long>(gold[i]);
  }
  return n ? static_cast<double>(hit) / static_cast<double>(n) : 0.0;
}

namespace detail {
inline double f1_from_counts(double tp, double fp, double fn) {
  const double denom = 2 * tp + fp + fn;
  return denom > 0 ? 2 * tp / denom : 0.0;
}
}  // namespace detail

// F1 of the positive class.
template <class P, class G>
double f1_binary(const P& pred, const G& gold, long long positive = 1) {
  detail::check_sizes(pred, gold, "f1_binary");
  double tp = 0, fp = 0, fn = 0;
  for (std::size_t i = 0; i < pred.size(); ++i) {
    const bool p = static_cast<long long>(pred[i]) == positive, g = static_cast<long long>(gold[i]) == positive;
    tp += p && g;
    fp += p && !g;
    fn += !p && g;
  }
  return detail::f1_from_counts(tp, fp, fn);
}

// Unweighted mean of per-class F1 over the classes seen in predictions or references
// (scikit-learn average="macro").
template <class P, class G>
double f1_macro(const P& pred, const G& gold) {
  detail::check_sizes(pred, gold, "f1_macro");
  std::set<long long> classes;
  for (std::size_t i = 0; i < pred.size(); ++i) {
    classes.insert(static_cast<long long>(pred[i]));
    classes.insert(static_cast<long long>(gold[i]));
  }
  if (classes.empty()) return 0.0;
  double sum = 0;
  for (long long c : classes) sum += f1_binary(pred, gold, c);
  return sum / static_cast<double>(classes.size());
}

// Matthews correlation, multi-class form (Gorodkin's R_K, as scikit-learn):
// (c*s - sum_k p_k t_k) / sqrt((s^2 - sum p_k^2)(s^2 - sum t_k^2)); equals the binary phi
// coefficient for two classes; 0 when a factor of the denominator is 0.
template <class P, class G>
double matthews_corrcoef(const P& pred, const G& gold) {
  detail::check_sizes(pred, gold, "matthews_corrcoef");
  std::map<long long, double> p_count, t_count;
  double correct = 0;
  const auto s = static_cast<double>(pred.size());
  for (std::size_t i = 0; i < pred.size(); ++i) {
    const auto p = static_cast<long long>(pred[i]), t = static_cast<long long>(gold[i]);
    p_count[p] += 1;
    t_count[t] += 1;
    correct += p == t;
  }
  double pt = 0, pp = 0, tt = 0;
  for (const auto& [k, v] : p_count) {
    pp += v * v;
    auto it = t_count.find(k);
    if (it != t_count.end()) pt += v * it->second;
  }
  for (const auto& [k, v] : t_count) tt += v * v;
  const double denom = std::sqrt(s * s - pp) * std::sqrt(s * s - tt);
  return denom > 0 ? (correct * s - pt) / denom : 0.0;
}

// Pearson correlation; 0 when either side is constant or the input is shorter than 2.
template <class X, class Y>
double pearson(const X& x, const Y& y) {
  detail::check_sizes(x, y, "pearson");
  const std::size_t n = x.size();
  if (n < 2) return 0.0;
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < n; ++i) {
    mx += static_cast<double>(x[i]);
    my += static_cast<double>(y[i]);
  }
  mx /= static_cast<double>(n);
  my /= static_cast<double>(n);
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double dx = static_cast<double>(x[i]) - mx, dy = static_cast<double>(y[i]) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : 0.0;
}

// 1-based ranks; tied values share the average of their ranks (scipy rankdata "average").
template <class X>
std::vector<double> average_ranks(const X& x) {
  const std::size_t n = x.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return static_cast<double>(x[a]) < static_cast<double>(x[b]); });
  std::vector<double> rank(n);
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j + 1 < n && static_cast<double>(x[order[j + 1]]) == static_cast<double>(x[order[i]])) ++j;
    const double r = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (std::size_t k = i; k <= j; ++k) rank[order[k]] = r;
    i = j + 1;
  }
  return rank;
}

// Spearman's rho: Pearson of the average ranks.
template <class X, class Y>
double spearman(const X& x, const Y& y) {
  detail::check_sizes(x, y, "spearman");
  return pearson(average_ranks(x), average_ranks(y));
}

// exp(total NLL / tokens); the pruning papers' protocol passes nsamples * seqlen as tokens.
inline double perplexity(double nll_sum, double token_count) {
  if (!(token_count > 0)) throw vtrans::usage_error("vtrans::train::perplexity: token_count must be positive");
  return std::exp(nll_sum / token_count);
}

// The GLUE metric set of a task by name (cola, sst2, mrpc, qqp, mnli, qnli, rte, wnli):
// {"accuracy"}, plus "f1" for mrpc/qqp, "mcc" for cola (transformers glue_compute_metrics).
template <class P, class G>
std::map<std::string, double> glue_classification_metrics(std::string_view task, const P& pred, const G& gold) {
  if (task == "cola") return {{"mcc", matthews_corrcoef(pred, gold)}};
  std::map<std::string, double> m{{"accuracy", accuracy(pred, gold)}};
  if (task == "mrpc" || task == "qqp") m["f1"] = f1_binary(pred, gold);
  return m;
}

// STS-B: {"pearson", "spearman"}.
template <class P, class G>
std::map<std::string, double> glue_regression_metrics(const P& pred, const G& gold) {
  return {{"pearson", pearson(pred, gold)}, {"spearman", spearman(pred, gold)}};
}

}  // namespace vtrans::train
