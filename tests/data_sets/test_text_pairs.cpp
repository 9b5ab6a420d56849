#include <doctest/doctest.h>

#include <string>

#include "temp_dir.hpp"
#include "vtrans/data/text_pairs.hpp"

using namespace vtrans::data;
using vtrans_test::temp_dir;

TEST_CASE("label_vocab") {
  label_vocab v;
  CHECK(v.add("pos") == 0);
  CHECK(v.add("neg") == 1);
  CHECK(v.add("pos") == 0);
  CHECK(v.find("neg") == 1);
  CHECK_FALSE(v.find("x"));
  auto remap = v.sort();
  CHECK(v.names() == std::vector<std::string>{"neg", "pos"});
  CHECK(remap == std::vector<int>{1, 0});
  label_vocab n({"10", "2", "-1"});
  n.sort();
  CHECK(n.names() == std::vector<std::string>{"-1", "2", "10"});
}

TEST_CASE("text pairs: TSV") {
  temp_dir d;
  d.write("train.tsv", "text\tlabel\ngood movie\tpos\nbad \"film\tneg\n\nfine\tpos\n");
  text_pairs_options opt;
  opt.has_header = true;
  auto tr = read_text_pairs_tsv(d.path() / "train.tsv", opt);
  REQUIRE(tr.examples.size() == 3);
  CHECK(tr.labels.names() == std::vector<std::string>{"neg", "pos"});  // sorted, not first-seen
  CHECK(tr.examples[0].label == 1);
  CHECK(tr.examples[1].label == 0);
  CHECK(tr.examples[1].text_a == "bad \"film");
  CHECK(tr.examples[2].id == "2");

  d.write("dev.tsv", "meh\tneutral\n");
  text_pairs_options frozen;
  frozen.freeze_labels = true;
  try {
    read_text_pairs_tsv(d.path() / "dev.tsv", frozen, tr.labels);
    FAIL("no throw");
  } catch (const data_error& e) {
    CHECK(std::string(e.what()).find("dev.tsv:1") != std::string::npos);
  }
  d.write("dev2.tsv", "ok\tpos\n");
  auto dev = read_text_pairs_tsv(d.path() / "dev2.tsv", frozen, tr.labels);
  CHECK(dev.examples.at(0).label == 1);

  d.write("pairs.tsv", "a\tb\t0.5\nc\td\n");
  text_pairs_options pr;
  pr.pair = true;
  pr.regression = true;
  try {
    read_text_pairs_tsv(d.path() / "pairs.tsv", pr);
    FAIL("no throw");
  } catch (const data_error& e) {
    CHECK(std::string(e.what()).find("pairs.tsv:2") != std::string::npos);
  }
  d.write("pairs2.tsv", "a\tb\t0.5\n");
  auto p = read_text_pairs_tsv(d.path() / "pairs2.tsv", pr);
  CHECK(p.examples.at(0).text_b == "b");
  CHECK(p.examples.at(0).score.value() == doctest::Approx(0.5f));
}

TEST_CASE("text pairs: JSONL") {
  temp_dir d;
  d.write("a.jsonl", "{\"text\": \"x\", \"label\": 2}\n{\"text\": \"y\", \"text_pair\": \"z\", \"label\": 10, \"id\": \"q7\"}\n\n"
                     "{\"text\": \"w\", \"label\": 2}\n");
  auto a = read_text_pairs_jsonl(d.path() / "a.jsonl");
  REQUIRE(a.examples.size() == 3);
  CHECK(a.labels.names() == std::vector<std::string>{"2", "10"});
  CHECK(a.examples[0].label == 0);
  CHECK(a.examples[1].label == 1);
  CHECK(a.examples[1].text_b == "z");
  CHECK(a.examples[1].id == "q7");
  CHECK(a.examples[2].id == "2");

  d.write("bad.jsonl", "{\"text\": \"x\", \"label\": \"a\"}\n{\"text\": 3, \"label\": \"a\"}\n");
  try {
    read_text_pairs_jsonl(d.path() / "bad.jsonl");
    FAIL("no throw");
  } catch (const data_error& e) {
    CHECK(std::string(e.what()).find("bad.jsonl:2") != std::string::npos);
  }
  d.write("bad2.jsonl", "{\"text\": \"x\"\n");
  CHECK_THROWS_AS(read_text_pairs_jsonl(d.path() / "bad2.jsonl"), data_error);

  d.write("reg.jsonl", "{\"text\": \"x\", \"label\": 0.25}\n");
  text_pairs_options reg;
  reg.regression = true;
  CHECK(read_text_pairs_jsonl(d.path() / "reg.jsonl", reg).examples.at(0).score.value() == doctest::Approx(0.25f));
  d.write("unl.jsonl", "{\"text\": \"x\"}\n");
  text_pairs_options unl;
  unl.labelled = false;
  CHECK_FALSE(read_text_pairs_jsonl(d.path() / "unl.jsonl", unl).examples.at(0).has_target());
  CHECK_THROWS_AS(read_text_pairs_jsonl(d.path() / "unl.jsonl"), data_error);
}
