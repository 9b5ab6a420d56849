#include <doctest/doctest.h>

#include <map>

#include "vtrans/data/subset.hpp"

using namespace vtrans::data;

TEST_CASE("stratified subset: 3% with at least one per label") {
  std::vector<int> labels;
  for (int i = 0; i < 900; ++i) labels.push_back(0);
  for (int i = 0; i < 95; ++i) labels.push_back(1);
  for (int i = 0; i < 5; ++i) labels.push_back(2);
  auto s = stratified_subset(labels, 0.03, 1);
  std::map<int, int> per;
  for (auto i : s) ++per[labels[i]];
  // floor: 27, 2, 0->1 (=30); the target round(30) is met.
  CHECK(per[0] == 27);
  CHECK(per[1] == 2);
  CHECK(per[2] == 1);
  CHECK(s.size() == 30);
  CHECK(std::is_sorted(s.begin(), s.end()));
  CHECK(s == stratified_subset(labels, 0.03, 1));
  CHECK(s != stratified_subset(labels, 0.03, 2));
  CHECK(stratified_subset(labels, 0.0, 1).empty());
  CHECK(stratified_subset(labels, 1.0, 1).size() == 1000);
  CHECK_THROWS(stratified_subset(labels, 1.5, 1));

  // Largest remainders fill up to round(f * n).
  std::vector<int> l2{0, 0, 0, 0, 0, 1, 1, 1, 1, 1};  // 0.3 * 5 = 1.5 each; target 3
  auto s2 = stratified_subset(l2, 0.3, 9);
  CHECK(s2.size() == 3);
}

TEST_CASE("random subset and example subsets") {
  auto r = random_subset(100, 0.1, 4);
  CHECK(r.size() == 10);
  CHECK(r == random_subset(100, 0.1, 4));
  std::vector<example> ex;
  for (int i = 0; i < 40; ++i) ex.push_back({std::to_string(i), "t", std::nullopt, i < 38 ? 0 : 1, std::nullopt, ""});
  auto sub = subset_examples(ex, 0.05, 3);
  int ones = 0;
  for (const auto& e : sub) ones += *e.label == 1;
  CHECK(ones == 1);
  CHECK(sub.size() == 2);
  for (auto& e : ex) {
    e.label.reset();
    e.score = 1.0f;
  }
  CHECK(subset_examples(ex, 0.05, 3).size() == 2);
}
