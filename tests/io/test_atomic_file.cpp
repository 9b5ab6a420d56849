#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include "io_test_util.hpp"
#include "vtrans/io/atomic_file.hpp"

using namespace vtrans::io;
using io_test::temp_dir;
namespace fs = std::filesystem;

static std::size_t entries(const fs::path& dir) {
  std::size_t n = 0;
  for (auto it = fs::directory_iterator(dir); it != fs::directory_iterator(); ++it) ++n;
  return n;
}

TEST_CASE("atomic_file: writes, replaces, and leaves no temporary behind") {
  temp_dir d;
  const std::string p = d.file("out.bin");
  write_file_atomic(p, std::string("first"));
  CHECK(io_test::read_bytes(p) == "first");
  write_file_atomic(p, std::string("second, longer"));
  CHECK(io_test::read_bytes(p) == "second, longer");
  write_file_atomic(p, std::string());
  CHECK(io_test::read_bytes(p).empty());
  CHECK(entries(d.path) == 1);
}

TEST_CASE("atomic_file: large writes bypass the buffer intact") {
  temp_dir d;
  const std::string p = d.file("big.bin");
  std::string big(3u << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 % 251);
  {
    atomic_writer w(p);
    w.write("head", 4);
    w.write(big);
    w.write("tail", 4);
    w.commit();
  }
  CHECK(io_test::read_bytes(p) == "head" + big + "tail");
}

TEST_CASE("atomic_file: an abandoned writer removes its temporary and keeps the old file") {
  temp_dir d;
  const std::string p = d.file("keep.txt");
  write_file_atomic(p, std::string("old"));
  {
    atomic_writer w(p);
    w.write(std::string("new but never committed"));
    CHECK(fs::exists(w.temp_path()));
    CHECK(fs::path(w.temp_path()).parent_path() == d.path);  // same folder, so rename is atomic
  }
  CHECK(io_test::read_bytes(p) == "old");
  CHECK(entries(d.path) == 1);
}

TEST_CASE("atomic_file: a failing rename removes the temporary and names the path") {
  temp_dir d;
  const std::string target = d.file("a_folder");
  fs::create_directories(fs::path(target) / "child");  // a non-empty folder cannot be replaced by a file
  try {
    write_file_atomic(target, std::string("x"));
    FAIL("expected file_error");
  } catch (const file_error& e) {
    CHECK(io_test::contains(e.what(), target));
  }
  CHECK(entries(d.path) == 1);
}

TEST_CASE("atomic_file: a missing folder gives file_error naming the path") {
  temp_dir d;
  const std::string p = d.file("no/such/folder/file.bin");
  try {
    write_file_atomic(p, std::string("x"));
    FAIL("expected file_error");
  } catch (const file_error& e) {
    CHECK(io_test::contains(e.what(), p));
  }
}

namespace {
std::string listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  std::string s;
  for (const auto& n : names) s += n + " ";
  return s;
}
}  // namespace

TEST_CASE("atomic_file: temporaries of dead processes are removed, those of live ones kept") {
  temp_dir d;
  const std::string dead = std::to_string(io_test::dead_pid()), live = std::to_string(::getppid());
  fs::create_directories(d.path / (".model.tmp-" + dead) / "inner");
  io_test::write_bytes(d.file(".config.json.tmp-" + dead + "-7"), "half");
  io_test::write_bytes(d.file(".config.json.tmp-" + live + "-7"), "in progress");
  io_test::write_bytes(d.file("model.tmp-" + dead), "not hidden: not ours");
  io_test::write_bytes(d.file(".notes.tmp-x" + dead), "not a pid");
  CHECK(remove_stale_temporaries(d.path.string()) == 2);
  CHECK(listing(d.path) == ".config.json.tmp-" + live + "-7 .notes.tmp-x" + dead + " model.tmp-" + dead + " ");
}

TEST_CASE("folder_writer: a folder appears whole, only on commit") {
  temp_dir d;
  const fs::path target = d.path / "sub" / "model";
  {
    folder_writer w(target.string(), false, "--out");
    CHECK(fs::path(w.path()).parent_path() == target.parent_path());  // same filesystem: the rename is atomic
    write_file_atomic((fs::path(w.path()) / "config.json").string(), std::string("{}"));
    CHECK(!fs::exists(target));
    w.commit();
  }
  CHECK(io_test::read_bytes((target / "config.json").string()) == "{}");
  CHECK(listing(target.parent_path()) == "model ");
  {
    folder_writer w((d.path / "abandoned").string(), false);
    write_file_atomic((fs::path(w.path()) / "weights").string(), std::string("w"));
  }
  CHECK(listing(d.path) == "sub ");  // neither the folder nor its staging folder
}

TEST_CASE("folder_writer: an existing folder is refused, or replaced whole with replace") {
  temp_dir d;
  const fs::path target = d.path / "out";
  fs::create_directories(target);
  io_test::write_bytes((target / "prune_report.json").string(), "old report");
  io_test::write_bytes((target / "model.safetensors").string(), "old weights");
  const std::string before = listing(target);
  const std::string m = io_test::error_of<vtrans::usage_error>([&] { folder_writer w(target.string(), false, "--out"); });
  CHECK_ERROR_NAMES(m, "--out", target.string(), "not empty", "2 entries", "--overwrite");
  CHECK(listing(target) == before);
  CHECK(listing(d.path) == "out ");  // no staging folder was left
  {
    folder_writer w(target.string(), true, "--out");
    io_test::write_bytes((fs::path(w.path()) / "model.safetensors").string(), "new weights");
    CHECK(io_test::read_bytes((target / "model.safetensors").string()) == "old weights");  // untouched until commit
    w.commit();
  }
  CHECK(listing(target) == "model.safetensors ");  // the old report went with the old folder
  CHECK(io_test::read_bytes((target / "model.safetensors").string()) == "new weights");
  CHECK(listing(d.path) == "out ");

  fs::create_directories(d.path / "empty");
  {
    folder_writer w((d.path / "empty").string(), false);  // an empty folder is no loss
    w.commit();
  }
  CHECK(fs::is_directory(d.path / "empty"));
}

TEST_CASE("folder_writer and check_output_file: a file where a folder belongs (and the reverse) fails at once") {
  temp_dir d;
  io_test::write_bytes(d.file("model"), "a file");
  std::string m = io_test::error_of<vtrans::usage_error>([&] { folder_writer w(d.file("model"), true, "--out"); });
  CHECK_ERROR_NAMES(m, "--out", d.file("model"), "not a folder");
  CHECK(io_test::read_bytes(d.file("model")) == "a file");
  CHECK(listing(d.path) == "model ");
  m = io_test::error_of<vtrans::usage_error>([&] { make_output_folder(d.file("model"), "--out"); });
  CHECK_ERROR_NAMES(m, "--out", "not a folder");

  m = io_test::error_of<vtrans::usage_error>([&] { check_output_file(d.path.string(), "--output"); });
  CHECK_ERROR_NAMES(m, "--output", "is a folder");
  m = io_test::error_of<vtrans::usage_error>([&] { check_output_file(d.file("missing/x.npy"), "--output"); });
  CHECK_ERROR_NAMES(m, "--output", "does not exist");
  CHECK_NOTHROW(check_output_file(d.file("x.npy"), "--output"));
  CHECK(listing(d.path) == "model ");
}

TEST_CASE("folder_writer: a killed run's staging folder is cleared by the next run") {
  temp_dir d;
  const fs::path stale = d.path / (".model.tmp-" + std::to_string(io_test::dead_pid()));
  fs::create_directories(stale);
  io_test::write_bytes((stale / "model.safetensors").string(), "half written");
  {
    folder_writer w((d.path / "model").string(), false);
    CHECK(!fs::exists(stale));
    w.commit();
  }
  CHECK(listing(d.path) == "model ");
}
