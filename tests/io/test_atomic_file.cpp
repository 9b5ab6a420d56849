#include <doctest/doctest.h>

#include <filesystem>
#include <string>

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
