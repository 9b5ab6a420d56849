// Task plumbing of vtrans train / eval on valid input that once failed: a --regression model
// trains on its scores and evaluates; a RoBERTa pair task gives every token segment type 0.
#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "run_cli.hpp"

namespace {

using vtrans_test::run_cli;

const std::string tiny = " --hidden 16 --layers 1 --heads 2 --ffn 32 --max-length 16 --vocab-size 60 --steps 2 --batch-size 8 --quiet";

}  // namespace

TEST_CASE("vtrans train / eval --regression: the model is trained and evaluated on its scores") {
  vtrans_test::temp_dir tmp;
  std::string rows;
  for (int i = 0; i < 24; ++i) rows += std::string(i % 2 ? "good fine day " : "bad awful day ") + std::to_string(i % 3) + "\t" +
                                       std::to_string(i % 2 ? 4.5 - 0.1 * (i % 3) : 0.5 + 0.1 * (i % 3)) + "\n";
  const auto tsv = tmp.write("scores.tsv", rows);
  const auto model = tmp.path() / "m";
  auto r = run_cli(tmp, "train --task tsv --regression --data " + tsv.string() + " --eval-data " + tsv.string() + " --out " +
                            model.string() + tiny);
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("dev: mse") != std::string::npos);
  CHECK(r.out.find("pearson") != std::string::npos);

  r = run_cli(tmp, "eval --model " + model.string() + " --data " + tsv.string() + " --quiet --json");
  INFO(r.err);
  REQUIRE(r.status == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["model"]["examples"] == 24);
  CHECK(j["model"].contains("spearman"));
  CHECK(j["model"]["mse"].get<double>() > 0);
}

TEST_CASE("vtrans train --family roberta --pair: one segment type, as RoBERTa has") {
  vtrans_test::temp_dir tmp;
  std::string rows;
  for (int i = 0; i < 16; ++i) rows += std::string(i % 2 ? "a good day\tfine" : "a bad day\tawful") + "\t" + (i % 2 ? "yes" : "no") + "\n";
  const auto tsv = tmp.write("pairs.tsv", rows);
  const auto model = tmp.path() / "m";
  auto r = run_cli(tmp, "train --family roberta --task tsv --pair --data " + tsv.string() + " --eval-data " + tsv.string() + " --out " +
                            model.string() + tiny);
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("dev: accuracy") != std::string::npos);
  r = run_cli(tmp, "eval --model " + model.string() + " --data " + tsv.string() + " --quiet");
  INFO(r.err);
  CHECK(r.status == 0);
  CHECK(r.out.find("accuracy") != std::string::npos);
}
