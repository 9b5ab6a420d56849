#include <doctest/doctest.h>

#include <string>

#include "temp_dir.hpp"
#include "vtrans/data/glue.hpp"

using namespace vtrans::data;
using vtrans_test::temp_dir;

TEST_CASE("glue: task names") {
  CHECK(parse_glue_task("CoLA") == glue_task::cola);
  CHECK(parse_glue_task("SST-2") == glue_task::sst2);
  CHECK(parse_glue_task("sts-b") == glue_task::stsb);
  CHECK(parse_glue_task("stsb") == glue_task::stsb);
  CHECK(parse_glue_task("mnli") == glue_task::mnli);
  CHECK_THROWS(parse_glue_task("squad"));
  CHECK(glue_info(glue_task::stsb).regression());
  CHECK_FALSE(glue_info(glue_task::cola).pair());
  CHECK(glue_info(glue_task::rte).pair());
  CHECK(glue_info(glue_task::mnli).labels.size() == 3);
}

TEST_CASE("glue: CoLA (no header in train/dev, header in test), BOM, no quote handling") {
  temp_dir d;
  d.write("CoLA/train.tsv", "\xEF\xBB\xBFgj04\t1\t\tOur friends won't buy this analysis, let alone the next one we propose.\n"
                            "gj04\t0\t*\t\"They drank the pub.\n"
                            "\n");
  d.write("CoLA/test.tsv", "index\tsentence\n0\tBill whistled past the house.\n1\tThe car honked its way.\n");
  auto tr = load_glue(glue_task::cola, d.path() / "CoLA", "train");
  REQUIRE(tr.examples.size() == 2);
  CHECK(tr.examples[0].label == 1);
  CHECK(tr.examples[0].text_a == "Our friends won't buy this analysis, let alone the next one we propose.");
  CHECK(tr.examples[0].id == "0");
  CHECK(tr.examples[1].label == 0);
  CHECK(tr.examples[1].text_a == "\"They drank the pub.");  // the quote is kept as is
  CHECK_FALSE(tr.examples[0].text_b);
  auto te = load_glue(glue_task::cola, d.path() / "CoLA", "test");
  CHECK(te.test);
  REQUIRE(te.examples.size() == 2);
  CHECK(te.examples[1].id == "1");
  CHECK(te.examples[1].text_a == "The car honked its way.");
  CHECK_FALSE(te.examples[1].has_target());
}

TEST_CASE("glue: SST-2, MRPC, STS-B, MNLI, QNLI, RTE, WNLI layouts") {
  temp_dir d;
  d.write("sst.tsv", "sentence\tlabel\nhide new secretions \t0\nthe greatest musicians \t1\n");
  auto sst = read_glue_tsv(glue_task::sst2, d.path() / "sst.tsv", false);
  REQUIRE(sst.examples.size() == 2);
  CHECK(sst.examples[0].text_a == "hide new secretions ");
  CHECK(sst.examples[1].label == 1);

  d.write("mrpc.tsv", "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t702876\t702977\tAmrozi accused.\tReferring to him.\n0\t2108705\t2108831\tYucaipa.\tYucaipa bought.\n");
  auto mrpc = read_glue_tsv(glue_task::mrpc, d.path() / "mrpc.tsv", false);
  REQUIRE(mrpc.examples.size() == 2);
  CHECK(mrpc.examples[0].text_a == "Amrozi accused.");
  CHECK(mrpc.examples[0].text_b == "Referring to him.");
  CHECK(mrpc.examples[0].label == 1);
  CHECK(mrpc.examples[1].label == 0);

  d.write("stsb.tsv", "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
                      "0\tmain-captions\tMSRvid\t2012test\t0001\tnone\tnone\tA plane is taking off.\tAn air plane is taking off.\t5.000\n"
                      "1\tmain-captions\tMSRvid\t2012test\t0004\tnone\tnone\tA man plays.\tA man plays a flute.\t3.800\n");
  auto sts = read_glue_tsv(glue_task::stsb, d.path() / "stsb.tsv", false);
  REQUIRE(sts.examples.size() == 2);
  CHECK(sts.examples[1].score.value() == doctest::Approx(3.8));
  CHECK_FALSE(sts.examples[1].label);
  CHECK(sts.examples[1].text_b == "A man plays a flute.");
  CHECK(sts.examples[1].id == "1");
  d.write("stsb_test.tsv", "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\n"
                           "0\tmain-captions\tMSRvid\t2012test\t0024\tnone\tnone\tA girl.\tA boy.\n");
  auto sts_t = read_glue_tsv(glue_task::stsb, d.path() / "stsb_test.tsv", true);
  CHECK_FALSE(sts_t.examples.at(0).has_target());
  CHECK(sts_t.examples.at(0).text_b == "A boy.");

  std::string mnli_head = "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\tsentence2_parse\tsentence1\tsentence2\tlabel1\tgold_label\n";
  d.write("MNLI/dev_matched.tsv", mnli_head + "0\t1\t1n\tgov\t(a)\t(b)\t(A)\t(B)\tPremise one.\tHypo one.\tneutral\tneutral\n"
                                              "1\t2\t2e\tgov\t(a)\t(b)\t(A)\t(B)\tPremise two.\tHypo two.\tentailment\tcontradiction\n");
  auto mnli = load_glue(glue_task::mnli, d.path() / "MNLI", "dev_matched");
  REQUIRE(mnli.examples.size() == 2);
  CHECK(mnli.examples[0].label == 2);
  CHECK(mnli.examples[1].label == 0);  // gold_label, the last column
  CHECK(mnli.examples[1].text_a == "Premise two.");
  CHECK(mnli.examples[1].text_b == "Hypo two.");
  CHECK_THROWS(load_glue(glue_task::mnli, d.path() / "MNLI", "dev"));

  d.write("qnli.tsv", "index\tquestion\tsentence\tlabel\n7\tWhat?\tThat.\tnot_entailment\n");
  auto qnli = read_glue_tsv(glue_task::qnli, d.path() / "qnli.tsv", false);
  CHECK(qnli.examples.at(0).label == 1);
  CHECK(qnli.examples.at(0).id == "7");
  auto rte = read_glue_tsv(glue_task::rte, d.path() / "qnli.tsv", false);
  CHECK(rte.examples.at(0).label == 1);
  d.write("wnli.tsv", "index\tsentence1\tsentence2\tlabel\n0\tI stuck a pin.\tThe pin had a hole.\t1\n");
  CHECK(read_glue_tsv(glue_task::wnli, d.path() / "wnli.tsv", false).examples.at(0).label == 1);
  d.write("wnli_test.tsv", "index\tsentence1\tsentence2\n0\tA.\tB.\n");
  auto wt = read_glue_tsv(glue_task::wnli, d.path() / "wnli_test.tsv", true);
  CHECK(wt.examples.at(0).text_b == "B.");
  CHECK_FALSE(wt.examples.at(0).label);
}

TEST_CASE("glue: QQP skips short rows and counts them") {
  temp_dir d;
  d.write("QQP/train.tsv", "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n"
                           "133273\t213221\t213222\tHow is the life?\tHow is life?\t0\n"
                           "402555\t536040\t536041\tHow do I learn\n"
                           "360472\t364011\t490273\tWhat causes stool color?\tWhat causes poop color?\t1\n");
  auto q = load_glue(glue_task::qqp, d.path() / "QQP", "train");
  CHECK(q.skipped_rows == 1);
  REQUIRE(q.examples.size() == 2);
  CHECK(q.examples[1].id == "360472");
  CHECK(q.examples[1].label == 1);
  CHECK(q.examples[1].text_b == "What causes poop color?");
  d.write("QQP/test.tsv", "id\tquestion1\tquestion2\n0\tWhy?\tWhy not?\n");
  auto t = load_glue(glue_task::qqp, d.path() / "QQP", "test");
  CHECK(t.examples.at(0).text_a == "Why?");
  CHECK(t.examples.at(0).text_b == "Why not?");
}

TEST_CASE("glue: malformed rows name file and line") {
  temp_dir d;
  d.write("RTE/train.tsv", "index\tsentence1\tsentence2\tlabel\n0\tA.\tB.\tentailment\n1\tA only\n");
  try {
    load_glue(glue_task::rte, d.path() / "RTE", "train");
    FAIL("no throw");
  } catch (const data_error& e) {
    CHECK(std::string(e.what()).find("train.tsv:3") != std::string::npos);
  }
  d.write("RTE/dev.tsv", "index\tsentence1\tsentence2\tlabel\n0\tA.\tB.\tmaybe\n");
  try {
    load_glue(glue_task::rte, d.path() / "RTE", "dev");
    FAIL("no throw");
  } catch (const data_error& e) {
    CHECK(std::string(e.what()).find("dev.tsv:2") != std::string::npos);
    CHECK(std::string(e.what()).find("maybe") != std::string::npos);
  }
  d.write("STS-B/dev.tsv", "h\n0\tg\tf\ty\to\ts1\ts2\tA.\tB.\tfive\n");
  CHECK_THROWS_AS(load_glue(glue_task::stsb, d.path() / "STS-B", "dev"), data_error);
  CHECK_THROWS_AS(load_glue(glue_task::stsb, d.path() / "STS-B", "train"), vtrans::file_error);  // missing file
}
