// The program refuses bad budgets, output paths, configs and inputs before any work, and
// publishes model folders whole. Each test checks the message and that nothing was written or
// damaged (a snapshot of every file under the folders involved).
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include "../data_sets/run_cli.hpp"
#include "../io/io_test_util.hpp"
#include "vtrans/prune/pruning_state.hpp"
#include "vtrans/tensor/cpu.hpp"

namespace fs = std::filesystem;
using vtrans_test::run_cli;

namespace {

const fs::path models = fs::path(VTRANS_TEST_DATA_DIR) / "models";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Every file under `dir` (names relative to it, hidden ones included) with its content.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  if (!fs::exists(dir)) return files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    files[fs::relative(e.path(), dir).string()] = e.is_regular_file() ? slurp(e.path()) : "<folder>";
  return files;
}

struct workspace {
  vtrans_test::temp_dir tmp;
  fs::path work = tmp.path() / "work";  // where outputs go (the captured streams stay outside it)
  mutable int edits = 0;
  workspace() { fs::create_directories(work); }
  vtrans_test::cli_result run(const std::string& args) const { return run_cli(tmp, args); }
  // A copy of a test model whose config.json has `key` set to `value`.
  fs::path edited_model(const std::string& model, const std::string& key, const nlohmann::json& value) const {
    const fs::path dir = tmp.path() / ("edited-" + std::to_string(edits++) + "-" + model);
    fs::copy(models / model, dir, fs::copy_options::recursive);
    nlohmann::json j = nlohmann::json::parse(slurp(dir / "config.json"));
    j[key] = value;
    tmp.write(fs::relative(dir / "config.json", tmp.path()).string(), j.dump());
    return dir;
  }
  // A two-label TSV task and a tiny model trained on it (seconds).
  fs::path tiny_teacher() const {
    std::string rows;
    for (int i = 0; i < 32; ++i) rows += std::string(i % 2 ? "a bad awful day " : "a fine good day ") + std::to_string(i % 5) + "\t" + (i % 2 ? "neg" : "pos") + "\n";
    const fs::path data = tmp.write("task.tsv", rows), teacher = tmp.path() / "teacher";
    const auto r = run("train --task tsv --data " + data.string() + " --out " + teacher.string() +
                       " --steps 4 --batch-size 8 --hidden 16 --layers 2 --heads 2 --ffn 32 --max-length 16 --vocab-size 60 --quiet");
    INFO(r.err);
    REQUIRE(r.status == 0);
    return teacher;
  }
};

std::string tiny_prune(const fs::path& teacher, const fs::path& out) {
  return "prune --model " + teacher.string() + " --data " + (teacher.parent_path() / "task.tsv").string() + " --out " + out.string() +
         " --budget params=0.8 --prune-steps 3 --max-extra-steps 0 --finetune-steps 1 --batch-size 8 --quiet";
}

}  // namespace

TEST_CASE("vtrans prune: budgets are refused before any work, saying what was understood") {
  workspace w;
  const std::string base = "prune --model " + (models / "bert-cls").string() + " --task tsv --data " + (w.tmp.path() / "never-read.tsv").string() +
                           " --out " + (w.work / "pruned").string() + " --budget ";
  const std::map<std::string, std::vector<std::string>> cases{
      {"params=1.5", {"budget \"params=1.5\": 1.5 is neither a fraction in (0, 1] nor a whole parameter count", "params=1.5M"}},
      {"params=5M", {"budget params=5000000 asks for 5000000 parameters, but the model has ", "embeddings included", "below the model's size"}},
      {"params=3", {"asks for 3 parameters, fewer than the ", "every layer removed"}},
      {"params=0.001", {"budget params=0.001000 asks for 23 parameters, fewer than the 148 left with every layer removed"}},
      {"params=0", {"must keep something"}},
      {"params=-0.5", {"must keep something"}},
      {"params=nan", {"\"nan\" is not a number"}},
      {"params=0.5x", {"unknown suffix \"x\""}},
      {"flops=1.5", {"flops takes the fraction of FLOPs kept, in (0, 1], not 1.5"}},
      {"flops=5M", {"flops takes the fraction"}},
      {"size=0.5", {"unknown measure \"size\""}}};
  for (const auto& [budget, parts] : cases) {
    const auto r = w.run(base + budget);
    INFO(budget << ": " << r.err);
    CHECK(r.status == 1);
    for (const auto& p : parts) CHECK(has(r.err, p));
    CHECK(snapshot(w.work).empty());  // no --out, no temporary
  }
}

TEST_CASE("vtrans prune and train: output paths are refused before any work") {
  workspace w;
  const fs::path file = w.tmp.write("work/a-file", "precious");
  fs::create_directories(w.work / "full");
  w.tmp.write("work/full/prune_report.json", "{\"old\": true}");
  const auto before = snapshot(w.work);
  const std::string prune = "prune --model " + (models / "bert-cls").string() + " --task tsv --data never-read.tsv --out ";
  const std::string train = "train --task tsv --data " + w.tmp.write("t.tsv", "a\tx\nb\ty\n").string() + " --quiet --out ";

  for (const std::string& cmd : {prune, train}) {
    auto r = w.run(cmd + file.string());
    INFO(r.err);
    CHECK(r.status == 1);
    CHECK(has(r.err, "--out " + file.string() + ": exists and is not a folder"));
    r = w.run(cmd + (w.work / "full").string());
    CHECK(r.status == 1);
    CHECK(has(r.err, "--out " + (w.work / "full").string() + ": folder is not empty (1 entry: prune_report.json); pass --overwrite"));
    CHECK(snapshot(w.work) == before);
  }
  const auto r = w.run("logits --model " + (models / "bert-cls").string() + " --ids-file " + (models / "bert-cls" / "input_ids.txt").string() +
                       " --output " + w.work.string());
  CHECK(r.status == 1);
  CHECK(has(r.err, "--output " + w.work.string() + ": is a folder, not a file name"));
  CHECK(snapshot(w.work) == before);
}

TEST_CASE("vtrans prune: the pruned folder appears whole, replaces an old one only with --overwrite, and clears killed runs' debris") {
  workspace w;
  const fs::path teacher = w.tiny_teacher(), out = w.work / "pruned";
  const fs::path stale = w.work / (".pruned.tmp-" + std::to_string(io_test::dead_pid()));
  w.tmp.write(fs::relative(stale / "model.safetensors", w.tmp.path()).string(), "half written by a killed run");

  auto r = w.run(tiny_prune(teacher, out));
  INFO(r.err);
  REQUIRE(r.status == 0);
  for (const char* f : {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "training_args.json", "prune_report.json",
                        "prune_report.md"})
    CHECK(fs::is_regular_file(out / f));
  CHECK(!fs::exists(stale));
  const auto first = snapshot(w.work);
  for (const auto& [name, content] : first) CHECK_MESSAGE(name.find(".tmp-") == std::string::npos, name);

  r = w.run(tiny_prune(teacher, out));
  CHECK(r.status == 1);
  CHECK(has(r.err, "folder is not empty"));
  CHECK(snapshot(w.work) == first);

  w.tmp.write("work/pruned/notes-from-an-old-run.txt", "old");
  r = w.run(tiny_prune(teacher, out) + " --overwrite");
  INFO(r.err);
  REQUIRE(r.status == 0);
  const auto second = snapshot(w.work);
  CHECK(second.count("pruned/prune_report.json") == 1);
  CHECK(second.count("pruned/notes-from-an-old-run.txt") == 0);  // the old folder went whole
  CHECK(second.size() == first.size());
}

TEST_CASE("vtrans train: a diverging loss stops the run naming step and term, and writes nothing") {
  workspace w;
  std::string rows;
  for (int i = 0; i < 32; ++i) rows += std::string(i % 2 ? "bad day " : "good day ") + "\t" + (i % 2 ? "neg" : "pos") + "\n";
  const fs::path data = w.tmp.write("task.tsv", rows);
  const auto r = w.run("train --task tsv --data " + data.string() + " --out " + (w.work / "m").string() +
                       " --steps 50 --batch-size 8 --lr 1e30 --max-grad-norm 0 --hidden 16 --layers 1 --heads 2 --ffn 32 --max-length 16 "
                       "--vocab-size 60 --quiet");
  INFO(r.err);
  CHECK(r.status == 1);
  CHECK(has(r.err, "training diverged at step "));
  CHECK(has(r.err, "the sequence_classification loss is "));  // nan or inf
  CHECK(has(r.err, "nothing was written to --out"));
  CHECK(snapshot(w.work).empty());
}

namespace {
// Starts the program in the background; returns its pid. Its stderr goes to `err`, and its exit
// status to `rc` when it ends.
pid_t start_cli(const workspace& w, const std::string& args, const fs::path& err, const fs::path& rc) {
  const fs::path pid_file = w.tmp.path() / "bg.pid";
  fs::remove(pid_file);
  const std::string inner = "OMP_NUM_THREADS=1 " + std::string(VTRANS_CLI_PATH) + " " + args + " >/dev/null 2>" + err.string() + " & echo $! >" +
                            pid_file.string() + "; wait $!; echo $? >" + rc.string();
  REQUIRE(std::system(("sh -c '" + inner + "' >/dev/null 2>&1 &").c_str()) == 0);
  std::error_code ec;
  for (int i = 0; i < 1000 && (!fs::exists(pid_file) || fs::file_size(pid_file, ec) == 0); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return pid_t(std::stol(slurp(pid_file)));
}

void wait_for(const fs::path& file) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(file) && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}
}  // namespace

TEST_CASE("vtrans train: a killed run leaves --out untouched and continues with --resume") {
  workspace w;
  std::string rows;
  for (int i = 0; i < 32; ++i) rows += std::string(i % 2 ? "bad day " : "good day ") + "\t" + (i % 2 ? "neg" : "pos") + "\n";
  const fs::path data = w.tmp.write("task.tsv", rows), out = w.work / "m", partial = w.work / ".m.partial";
  const std::string args = "train --task tsv --data " + data.string() + " --out " + out.string() +
                           " --batch-size 8 --checkpoint-every 2 --hidden 16 --layers 1 --heads 2 --ffn 32 --max-length 16 --vocab-size 60 --quiet";
  const fs::path rc = w.tmp.path() / "train.rc";
  const pid_t pid = start_cli(w, args + " --steps 1000000", w.tmp.path() / "train.err", rc);
  wait_for(partial / "checkpoint" / "trainer_state.json");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ::kill(pid, SIGKILL);
  wait_for(rc);
  REQUIRE(fs::exists(partial / "checkpoint" / "trainer_state.json"));
  CHECK(!fs::exists(out));

  auto r = w.run(args + " --steps 4");
  CHECK(r.status == 1);
  CHECK(has(r.err, "an interrupted run left its work in " + partial.string() + "; continue it with --resume or start again with --overwrite"));
  CHECK(!fs::exists(out));

  r = w.run(args + " --steps 4 --resume");
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(has(r.err, "resumed at step "));
  CHECK(fs::is_regular_file(out / "model.safetensors"));
  CHECK(fs::is_regular_file(out / "training_args.json"));
  CHECK(!fs::exists(partial));
}


TEST_CASE("vtrans prune: a killed or interrupted run continues with --resume to the same model, bit for bit") {
  workspace w;
  const fs::path teacher = w.tiny_teacher();
  const auto prune = [&](const fs::path& out) {
    return "prune --model " + teacher.string() + " --data " + (teacher.parent_path() / "task.tsv").string() + " --out " + out.string() +
           " --budget params=0.7 --prune-steps 300 --max-extra-steps 0 --finetune-steps 2 --batch-size 8 --checkpoint-every 2 --split none --quiet";
  };
  const fs::path whole = w.work / "whole";
  auto r = w.run(prune(whole));
  INFO(r.err);
  REQUIRE(r.status == 0);

  for (int sig : {SIGKILL, SIGINT}) {
    const fs::path out = w.work / (sig == SIGKILL ? "killed" : "stopped"), partial = w.work / ("." + out.filename().string() + ".partial");
    const fs::path err = w.tmp.path() / "bg.err", rc = w.tmp.path() / "bg.rc";
    fs::remove(rc);
    const pid_t pid = start_cli(w, prune(out), err, rc);
    wait_for(partial / "pruning_state" / "pruning_state.json");
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    ::kill(pid, sig);
    wait_for(rc);
    INFO("signal " << sig << ": " << slurp(err));
    REQUIRE(fs::exists(rc));
    CHECK(std::stoi(slurp(rc)) == (sig == SIGKILL ? 128 + SIGKILL : 130));
    if (sig == SIGINT) CHECK(has(slurp(err), "; its state is saved in " + (partial / "pruning_state").string() + "; continue with the same command and --resume"));
    REQUIRE(vtrans::prune::is_pruning_state((partial / "pruning_state").string()));
    CHECK(!fs::exists(out));

    r = w.run(prune(out));
    CHECK(r.status == 1);
    CHECK(has(r.err, "an interrupted run left its work in " + partial.string() + "; continue it with --resume or start again with --overwrite"));

    r = w.run(prune(out) + " --resume");
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(has(r.err, "resuming from the pruning state in "));
    CHECK(slurp(out / "model.safetensors") == slurp(whole / "model.safetensors"));
    CHECK(slurp(out / "config.json") == slurp(whole / "config.json"));
    CHECK(!fs::exists(out / "pruning_state"));
    CHECK(!fs::exists(partial));
  }
  r = w.run(prune(w.work / "never-started") + " --resume");
  CHECK(r.status == 1);
  CHECK(has(r.err, "--resume: no pruning state in " + (w.work / ".never-started.partial").string()));
}

TEST_CASE("vtrans logits / info: configs that disagree with their weights fail in milliseconds; ids are checked before the forward") {
  workspace w;
  const std::string ids = " --ids-file " + (models / "bert-cls" / "input_ids.txt").string() + " --output " + (w.work / "out.npy").string();
  const auto t0 = std::chrono::steady_clock::now();
  auto r = w.run("logits --model " + w.edited_model("bert-cls", "vocab_size", 10000000).string() + ids);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO(r.err);
  CHECK(r.status == 1);
  CHECK(has(r.err, "word_embeddings.weight has shape [120, 32], but "));
  CHECK(has(r.err, "(vocab_size 10000000, hidden_size 32) implies [10000000, 32]"));
  MESSAGE("vocab_size 10^7 refused in " << seconds << " s");
  CHECK(seconds < 3.0);  // the whole program run; the model of that size is never allocated

  r = w.run("logits --model " + w.edited_model("llama-gqa", "intermediate_size", 1099511627776).string() + ids);
  CHECK(r.status == 1);
  CHECK(has(r.err, "key \"intermediate_size\" is 1099511627776, above the limit of 1048576"));
  r = w.run("info --model " + w.edited_model("llama-gqa", "intermediate_size", 1 << 20).string());
  CHECK(r.status == 1);
  CHECK(has(r.err, "gate_proj.weight has shape [64, 32], but "));
  r = w.run("logits --model " + w.edited_model("bert-cls", "layer_norm_eps", -1e-12).string() + ids);
  CHECK(r.status == 1);
  CHECK(has(r.err, "key \"layer_norm_eps\" must be a positive finite number"));
  r = w.run("logits --model " + w.edited_model("bert-cls", "num_hidden_layers", 0).string() + ids);
  CHECK(r.status == 1);
  CHECK(has(r.err, "key \"num_hidden_layers\" must be at least 1, got 0"));

  std::string long_row;
  for (int i = 0; i < 16384; ++i) long_row += std::to_string(1 + i % 100) + " ";
  const fs::path long_ids = w.tmp.write("long.txt", long_row + "\n");
  r = w.run("logits --model " + (models / "llama-gqa").string() + " --ids-file " + long_ids.string() + " --output " + (w.work / "out.npy").string());
  CHECK(r.status == 1);
  CHECK(has(r.err, long_ids.string() + ": 16384 tokens, but the model takes at most 32 (max_position_embeddings 32)"));
  const fs::path big_id = w.tmp.write("big.txt", "1 2 999 4\n");
  r = w.run("logits --model " + (models / "llama-gqa").string() + " --ids-file " + big_id.string() + " --output " + (w.work / "out.npy").string());
  CHECK(r.status == 1);
  CHECK(has(r.err, big_id.string() + ": token id 999 (position 2) outside the vocabulary [0, 160)"));
  const fs::path types = w.tmp.write("types.txt", "0 1 2\n"), three = w.tmp.write("three.txt", "5 6 7\n");
  r = w.run("logits --model " + (models / "bert-cls").string() + " --ids-file " + three.string() + " --token-types-file " + types.string() +
            " --output " + (w.work / "out.npy").string());
  CHECK(r.status == 1);
  CHECK(has(r.err, "token type id 2 (position 2) outside [0, 2)"));
  CHECK(snapshot(w.work).empty());
}
