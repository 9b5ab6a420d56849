#include <doctest/doctest.h>

#include <string>

#include "temp_dir.hpp"
#include "vtrans/data/lm_text.hpp"

using namespace vtrans::data;
using vtrans_test::temp_dir;

namespace {
// One id per byte: enough to check the protocol's text handling exactly.
std::vector<std::int32_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }
}  // namespace

TEST_CASE("wikitext: rows as the HF loader yields them") {
  temp_dir d;
  const auto f = d.write("wiki.test.raw", " \n = Robert Boulter = \n \n Robert Boulter is an actor . \n");
  const auto rows = read_wikitext_rows(f);
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].empty());
  CHECK(rows[1] == " = Robert Boulter = \n");
  CHECK(rows[2].empty());
  CHECK(rows[3] == " Robert Boulter is an actor . \n");
  CHECK(wikitext_eval_text(rows) == "\n\n = Robert Boulter = \n\n\n\n\n Robert Boulter is an actor . \n");
  CHECK(wikitext_calibration_text(rows) == "  = Robert Boulter = \n   Robert Boulter is an actor . \n");
  // A last line without a newline is a row as well.
  CHECK(read_wikitext_rows(d.write("x.raw", "a\nb")) == std::vector<std::string>{"a\n", "b"});
}

TEST_CASE("lm windows: non-overlapping evaluation, seeded calibration") {
  std::vector<std::int32_t> ids(23);
  for (int i = 0; i < 23; ++i) ids[static_cast<std::size_t>(i)] = i;
  auto w = eval_windows(ids, 5);
  REQUIRE(w.size() == 4);  // 23 / 5, the tail of 3 dropped
  CHECK(w.window(1) == std::vector<std::int32_t>{5, 6, 7, 8, 9});
  CHECK(w.token_count() == 20);
  CHECK(eval_windows({1, 2}, 5).size() == 0);
  CHECK_THROWS(eval_windows(ids, 0));

  auto c1 = calibration_windows(ids, 5, 50, 7);
  auto c2 = calibration_windows(ids, 5, 50, 7);
  auto c3 = calibration_windows(ids, 5, 50, 8);
  CHECK(c1.starts == c2.starts);
  CHECK(c1.starts != c3.starts);
  bool low = false, high = false;
  for (auto s : c1.starts) {
    CHECK(s >= 0);
    CHECK(s <= 23 - 5 - 1);
    low = low || s == 0;
    high = high || s == 17;
  }
  CHECK(low);
  CHECK(high);
  CHECK(c1.window(0).size() == 5);
  CHECK_THROWS(calibration_windows(ids, 23, 1, 0));
}

TEST_CASE("wikitext: file protocol tokenizes once") {
  temp_dir d;
  const auto f = d.write("wiki.test.raw", " = A = \n \n b c \n");
  int calls = 0;
  tokenize_fn tok = [&](const std::string& s) {
    ++calls;
    return bytes(s);
  };
  auto w = wikitext_eval_windows(f, tok, 4);
  CHECK(calls == 1);
  const std::string text = " = A = \n\n\n\n b c \n";
  CHECK(w.size() == text.size() / 4);
  CHECK(w.window(0) == bytes(" = A"));
  auto c = wikitext_calibration_windows(f, tok, 4, 3, 1);
  CHECK(c.size() == 3);
  CHECK(calls == 2);
}
