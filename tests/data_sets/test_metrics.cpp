#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "vtrans/train/metrics.hpp"

using namespace vtrans::train;

// Expected values computed by hand / with plain Python from the textbook formulas; they match
// scikit-learn and scipy (e.g. sklearn's matthews_corrcoef doc example -0.333…, and
// scipy.stats.pearsonr([1,2,3,4,5],[2,4,5,4,5]) = 0.7745966692414834).

TEST_CASE("metrics: accuracy and token accuracy") {
  CHECK(accuracy(std::vector<int>{1, 0, 1, 1}, std::vector<int>{1, 1, 1, 0}) == doctest::Approx(0.5));
  CHECK(accuracy(std::vector<int>{}, std::vector<int>{}) == 0.0);
  CHECK_THROWS(accuracy(std::vector<int>{1}, std::vector<int>{}));
  CHECK(token_accuracy(std::vector<int>{3, 9, 4, 5}, std::vector<int>{3, -100, 4, 6}) == doctest::Approx(2.0 / 3.0));
  CHECK(token_accuracy(std::vector<int>{1}, std::vector<int>{-100}) == 0.0);
}

TEST_CASE("metrics: F1") {
  // tp 3, fp 1, fn 1 -> 2*3 / (6+1+1) = 0.75
  std::vector<int> p{1, 1, 0, 1, 0, 0, 1, 0}, g{1, 0, 0, 1, 0, 1, 1, 0};
  CHECK(f1_binary(p, g) == doctest::Approx(0.75));
  CHECK(f1_binary(std::vector<int>{0, 0}, std::vector<int>{0, 0}) == 0.0);  // no positives: 0 as sklearn
  // per class 0.8, 0.4, 0.5
  std::vector<int> mp{0, 2, 1, 0, 2, 1, 1}, mg{0, 1, 1, 0, 2, 2, 0};
  CHECK(f1_macro(mp, mg) == doctest::Approx(0.5666666666666668));
}

TEST_CASE("metrics: Matthews correlation") {
  // tp 3, tn 3, fp 1, fn 1 -> (9-1)/sqrt(4*4*4*4) = 0.5
  CHECK(matthews_corrcoef(std::vector<int>{1, 1, 0, 1, 0, 0, 1, 0}, std::vector<int>{1, 0, 0, 1, 0, 1, 1, 0}) == doctest::Approx(0.5));
  CHECK(matthews_corrcoef(std::vector<int>{1, -1, 1, 1}, std::vector<int>{1, 1, 1, -1}) == doctest::Approx(-1.0 / 3.0));
  CHECK(matthews_corrcoef(std::vector<int>{0, 2, 1, 0, 2, 1, 1}, std::vector<int>{0, 1, 1, 0, 2, 2, 0}) == doctest::Approx(0.375));
  CHECK(matthews_corrcoef(std::vector<int>{1, 1, 1}, std::vector<int>{0, 1, 1}) == 0.0);  // constant prediction
  CHECK(matthews_corrcoef(std::vector<int>{0, 1, 2}, std::vector<int>{0, 1, 2}) == doctest::Approx(1.0));
}

TEST_CASE("metrics: Pearson and Spearman") {
  CHECK(pearson(std::vector<double>{1, 2, 3, 4, 5}, std::vector<double>{2, 4, 5, 4, 5}) == doctest::Approx(0.7745966692414834));
  CHECK(pearson(std::vector<float>{1, 2, 3}, std::vector<float>{3, 2, 1}) == doctest::Approx(-1.0));
  CHECK(pearson(std::vector<double>{1, 1, 1}, std::vector<double>{1, 2, 3}) == 0.0);
  const std::vector<double> x{1, 2, 2, 3, 5, 4}, y{1, 3, 2, 3, 4, 6};
  CHECK(average_ranks(x) == std::vector<double>{1, 2.5, 2.5, 4, 6, 5});
  CHECK(average_ranks(y) == std::vector<double>{1, 3.5, 2, 3.5, 5, 6});
  CHECK(spearman(x, y) == doctest::Approx(0.8970588235294118));
  CHECK(spearman(std::vector<double>{1, 2, 3, 4}, std::vector<double>{1, 4, 9, 16}) == doctest::Approx(1.0));
}

TEST_CASE("metrics: perplexity and GLUE sets") {
  CHECK(perplexity(0.0, 10) == doctest::Approx(1.0));
  CHECK(perplexity(10 * std::log(50.0), 10) == doctest::Approx(50.0));
  CHECK_THROWS(perplexity(1.0, 0));
  std::vector<int> p{1, 1, 0, 1, 0, 0, 1, 0}, g{1, 0, 0, 1, 0, 1, 1, 0};
  auto m = glue_classification_metrics("mrpc", p, g);
  CHECK(m.at("accuracy") == doctest::Approx(0.75));
  CHECK(m.at("f1") == doctest::Approx(0.75));
  CHECK(glue_classification_metrics("cola", p, g).at("mcc") == doctest::Approx(0.5));
  CHECK(glue_classification_metrics("rte", p, g).count("f1") == 0);
  auto r = glue_regression_metrics(std::vector<double>{1, 2, 3, 4, 5}, std::vector<double>{2, 4, 5, 4, 5});
  CHECK(r.at("pearson") == doctest::Approx(0.7745966692414834));
}
