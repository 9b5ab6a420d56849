#pragma once
// Runs the vtrans program (VTRANS_CLI_PATH) in a temporary folder and captures its exit status,
// standard output and standard error.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <sys/wait.h>

#include "temp_dir.hpp"

namespace vtrans_test {

struct cli_result {
  int status = -1;
  std::string out, err;
};

inline cli_result run_cli(const temp_dir& tmp, const std::string& args) {
  const auto out = tmp.path() / "stdout.txt", err = tmp.path() / "stderr.txt";
  const std::string cmd = std::string("OMP_NUM_THREADS=1 ") + VTRANS_CLI_PATH + " " + args + " >" + out.string() + " 2>" + err.string();
  const int rc = std::system(cmd.c_str());
  auto slurp = [](const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, slurp(out), slurp(err)};
}

}  // namespace vtrans_test
