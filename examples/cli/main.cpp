// vtrans: the command-line program. Subcommands live in cmd_*.cpp beside this file.
#include <exception>
#include <iostream>
#include <new>
#include <string>

#include <nlohmann/json.hpp>

#include "command.hpp"
#include "vtrans/tensor/openblas_runtime.hpp"
#include "vtrans/version.hpp"

namespace {

void print_help(std::ostream& out) {
  out << "vtrans " VTRANS_VERSION_STRING " - structured pruning of transformers with VIB masks\n\n"
      << "usage: vtrans <command> [options]     (vtrans <command> --help for a command's options)\n"
      << "       vtrans --help | --version\n\ncommands:\n";
  for (const auto& [name, cmd] : vtrans::cli::commands()) out << "  " << name << std::string(12 - std::min<std::size_t>(11, name.size()), ' ') << cmd.summary << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  vtrans::blas::ensure_fast_kernels(argv);
  if (argc < 2) {
    print_help(std::cerr);
    return 2;
  }
  const std::string first = argv[1];
  if (first == "--help" || first == "-h" || first == "help") {
    print_help(std::cout);
    return 0;
  }
  if (first == "--version" || first == "-V") {
    std::cout << "vtrans " VTRANS_VERSION_STRING "\n";
    return 0;
  }
  auto it = vtrans::cli::commands().find(first);
  if (it == vtrans::cli::commands().end()) {
    std::cerr << "vtrans: unknown command '" << first << "' (see vtrans --help)\n";
    return 2;
  }
  // Loaders throw vtrans::error with the file and field; these catches are the last resort for
  // what escapes elsewhere.
  try {
    return it->second.run(argc - 1, argv + 1);
  } catch (const std::bad_alloc&) {
    std::cerr << "vtrans " << first << ": out of memory (a size in the input is larger than this machine can hold)\n";
  } catch (const nlohmann::json::exception& e) {
    std::cerr << "vtrans " << first << ": unexpected JSON content: " << e.what() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "vtrans " << first << ": " << e.what() << "\n";
  }
  return 1;
}
