// Task plumbing of vtrans train / eval on valid input that once failed: a --regression model
// trains on its scores and evaluates; a RoBERTa pair task gives every token segment type 0.
#include <doctest/doctest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "run_cli.hpp"
#include "vtrans/io/checkpoint_reader.hpp"

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

TEST_CASE("vtrans train --init: a pre-trained model's weights start the new task, a head it lacks is new") {
  vtrans_test::temp_dir tmp;
  std::string three, two;
  for (int i = 0; i < 24; ++i) {
    three += std::string(i % 3 == 0 ? "red apple pie" : i % 3 == 1 ? "blue sky day" : "green grass field") + "\t" + std::to_string(i % 3) + "\n";
    two += std::string(i % 2 ? "blue apple day" : "green sky pie") + "\t" + (i % 2 ? "yes" : "no") + "\n";
  }
  const auto first = tmp.write("three.tsv", three), second = tmp.write("two.tsv", two);
  const auto pre = tmp.path() / "pre", tuned = tmp.path() / "tuned";
  auto r = run_cli(tmp, "train --task tsv --data " + first.string() + " --out " + pre.string() + tiny);
  INFO(r.err);
  REQUIRE(r.status == 0);

  // learning rate 0: the fine-tuned model is its initialisation, so the copy can be compared bit for bit
  r = run_cli(tmp, "train --task tsv --data " + second.string() + " --init " + pre.string() + " --out " + tuned.string() +
                       " --max-length 16 --steps 1 --batch-size 8 --lr 0 --quiet");
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.err.find("new: classifier.weight, classifier.bias") != std::string::npos);
  const vtrans::io::checkpoint_reader a(pre.string()), b(tuned.string());
  std::size_t same = 0;
  for (const auto& name : a.names()) {
    CAPTURE(name);
    REQUIRE(b.has(name));
    const auto x = a.raw(name), y = b.raw(name);
    if (name.rfind("classifier.", 0) == 0) {
      CHECK(b.info(name).shape[0] == 2);  // two labels now, three before
      continue;
    }
    REQUIRE(x.size == y.size);
    CHECK(std::memcmp(x.data, y.data, x.size) == 0);
    ++same;
  }
  CHECK(same >= 10);  // embeddings, the layer, the pooler
  const auto text = [](const std::filesystem::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  CHECK(text(tuned / "vocab.txt") == text(pre / "vocab.txt"));

  r = run_cli(tmp, "train --task tsv --data " + second.string() + " --init " + pre.string() + " --out " + (tmp.path() / "x").string() +
                       " --hidden 32 --steps 1 --quiet");
  CHECK(r.status != 0);
  CHECK(r.err.find("--hidden cannot be given with --init: the model in " + pre.string() + " decides it") != std::string::npos);
  r = run_cli(tmp, "train --task tsv --data " + second.string() + " --init " + pre.string() + " --out " + (tmp.path() / "x").string() +
                       " --max-length 64 --steps 1 --quiet");
  CHECK(r.status != 0);
  CHECK(r.err.find("--max-length 64 is longer than the 16 positions of the model in " + pre.string()) != std::string::npos);
}
