#pragma once
// Subcommands of the vtrans program register themselves here; main() dispatches by name.
#include <functional>
#include <map>
#include <string>

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

}  // namespace vtrans::cli
