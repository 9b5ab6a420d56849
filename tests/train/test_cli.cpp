// The vtrans train / eval commands: errors name the bad file and line; a tiny run writes a folder
// that eval and info read back.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <sys/wait.h>

#include "../data_sets/temp_dir.hpp"
#include "vtrans/tensor/cpu.hpp"
#include "vtrans/train/jsonl_log.hpp"

#ifdef VTRANS_CLI_PATH
#include "../data_sets/run_cli.hpp"

namespace {
using vtrans_test::run_cli;

std::string tiny_sizes() { return " --hidden 16 --layers 1 --heads 2 --ffn 32 --max-length 16 --vocab-size 60 --quiet"; }
}  // namespace

TEST_CASE("vtrans train: bad rows are reported with file and line") {
  vtrans_test::temp_dir tmp;
  const auto tsv = tmp.write("bad.tsv", "good text\tpos\nother text\tneg\nno label column here\n");
  auto r = run_cli(tmp, "train --task tsv --data " + tsv.string() + " --out " + (tmp.path() / "m").string() + tiny_sizes());
  CHECK(r.status == 1);
  CHECK(r.err.find("bad.tsv:3: row has 1 columns, expected 2") != std::string::npos);

  const auto jsonl = tmp.write("bad.jsonl", "{\"text\": \"a b\", \"label\": \"x\"}\n{\"text\": \"c d\", \"label\": \"y\"}\n{\"text\": 5}\n");
  r = run_cli(tmp, "train --task jsonl --data " + jsonl.string() + " --out " + (tmp.path() / "m").string() + tiny_sizes());
  CHECK(r.status == 1);
  CHECK(r.err.find("bad.jsonl:3: missing string field \"text\"") != std::string::npos);

  r = run_cli(tmp, "train --task brown-genre --data " + (tmp.path() / "missing").string() + " --out " + (tmp.path() / "m").string());
  CHECK(r.status == 1);
  CHECK(r.err.find("missing: Brown corpus folder not found") != std::string::npos);

  r = run_cli(tmp, "train --task nonsense --data x --out y");
  CHECK(r.status == 1);
  CHECK(r.err.find("unknown task 'nonsense'") != std::string::npos);

  r = run_cli(tmp, "train --family gpt2 --task brown-mlm --data x --out y");
  CHECK(r.status == 1);
  CHECK(r.err.find("needs --family bert or roberta") != std::string::npos);
}

TEST_CASE("vtrans train -> eval / info on a tiny TSV task, and --resume extends the run") {
  vtrans_test::temp_dir tmp;
  std::string train, dev;
  for (int i = 0; i < 48; ++i) {
    const bool pos = i % 2 == 0;
    (i < 32 ? train : dev) += std::string(pos ? "a fine good day " : "a bad awful day ") + std::to_string(i % 5) + "\t" + (pos ? "pos" : "neg") + "\n";
  }
  const auto tr = tmp.write("train.tsv", train), dv = tmp.write("dev.tsv", dev);
  const auto out = tmp.path() / "model";
  auto r = run_cli(tmp, "train --task tsv --data " + tr.string() + " --eval-data " + dv.string() + " --out " + out.string() +
                            " --steps 4 --batch-size 8 --lr 3e-3 --log-every 2" + tiny_sizes());
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("dev: accuracy") != std::string::npos);
  for (const char* f : {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "training_args.json", "train_log.jsonl",
                        "checkpoint/optimizer.safetensors", "checkpoint/trainer_state.json"})
    CHECK(std::filesystem::is_regular_file(out / f));
  auto log = vtrans::train::read_jsonl(out / "train_log.jsonl");
  REQUIRE(log.size() >= 4);
  CHECK(log.front()["event"] == "start");
  CHECK(log[1]["event"] == "train");
  CHECK(log[1]["step"] == 2);
  CHECK(log.back()["event"] == "end");

  r = run_cli(tmp, "eval --model " + out.string() + " --data " + dv.string() + " --baseline --train-data " + tr.string() + " --quiet");
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("model:") != std::string::npos);
  CHECK(r.out.find("accuracy") != std::string::npos);
  CHECK(r.out.find("baseline:  accuracy 0.5000") != std::string::npos);  // 8 pos, 8 neg in dev
  CHECK(r.out.find("bag_of_words_accuracy 1.0000") != std::string::npos);  // the words decide the label

  r = run_cli(tmp, "info --model " + out.string());
  INFO(r.err);
  CHECK(r.status == 0);

  r = run_cli(tmp, "train --task tsv --data " + tr.string() + " --out " + out.string() + " --steps 6 --batch-size 8 --lr 3e-3 --resume" +
                       tiny_sizes());
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.err.find("resumed at step 4 of 6") != std::string::npos);
  r = run_cli(tmp, "train --task tsv --data " + tr.string() + " --out " + out.string() + " --steps 8 --batch-size 4 --resume" + tiny_sizes());
  CHECK(r.status == 1);
  CHECK(r.err.find("option batch_size was 8") != std::string::npos);
}
#endif
