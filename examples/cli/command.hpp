#pragma once
// Subcommands of the vtrans program register themselves here; main() dispatches by name.
#include <functional>
#include <iostream>
#include <map>
#include <string>

#include <boost/program_options.hpp>

#include "device.hpp"

namespace vtrans::cli {

struct command {
  std::string summary;
  std::function<int(int argc, char** argv)> run;  // argv[0] is the subcommand's name
};

inline std::map<std::string, command>& commands() {
  static std::map<std::string, command> table;
  return table;
}

// static const bool registered = vtrans::cli::add("name", "what it does", run);
inline bool add(const std::string& name, const std::string& summary, std::function<int(int, char**)> run) {
  commands()[name] = command{summary, std::move(run)};
  return true;
}

// Parses a subcommand's options; on --help prints `usage` and the options and returns false (the
// command then exits 0). Missing required options throw after --help has had its chance.
inline bool parse_options(int argc, char** argv, const boost::program_options::options_description& opts,
                          boost::program_options::variables_map& vm, const std::string& usage = "") {
  boost::program_options::store(boost::program_options::parse_command_line(argc, argv, opts), vm);
  if (vm.count("help")) {
    std::cout << usage << opts << "\n";
    return false;
  }
  boost::program_options::notify(vm);
  return true;
}

// --device, --tf32 and --half-gemm of the commands that run a model (device.hpp).
inline void add_device_options(boost::program_options::options_description& opts, device_args& d) {
  opts.add_options()("device", boost::program_options::value(&d.name)->default_value(d.name), device_help)(
      "tf32", boost::program_options::bool_switch(&d.tf32), tf32_help)("half-gemm", boost::program_options::bool_switch(&d.half_gemm), half_gemm_help);
}

}  // namespace vtrans::cli
