#pragma once
// Shared helpers for the io tests: a private temporary folder, raw file writing, and capture of the
// one-line error messages that the tests check for the file name and the offending tensor or key.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vtrans/io/errors.hpp"

namespace io_test {

namespace fs = std::filesystem;

struct temp_dir {
  fs::path path;
  temp_dir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("vtrans_io_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline std::string le64(std::uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

// A safetensors file from a header text and a data buffer, written without any checking.
inline std::string safetensors_bytes(const std::string& header, const std::string& buffer) {
  return le64(header.size()) + header + buffer;
}

// The message of the exception E that f throws; anything else, or nothing, fails the test.
template <class E, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL("expected another exception type, got: " << std::string(e.what()));
    return {};
  }
  FAIL("expected an exception, nothing was thrown");
  return {};
}

template <class F>
std::string format_error_of(F&& f) {
  return error_of<vtrans::format_error>(std::forward<F>(f));
}

// The id of a process that has exited and been reaped: temporaries named after it are stale.
inline long dead_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return long(child);
}

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The message must be one line naming every given part (file path, tensor, key...).
#define CHECK_ERROR_NAMES(msg, ...)                                            \
  do {                                                                         \
    const std::string m_ = (msg);                                              \
    CHECK_MESSAGE(m_.find('\n') == std::string::npos, m_);                     \
    for (const std::string& part_ : std::vector<std::string>{__VA_ARGS__})     \
      CHECK_MESSAGE(io_test::contains(m_, part_), "'" << part_ << "' not in: " << m_); \
  } while (0)

}  // namespace io_test
