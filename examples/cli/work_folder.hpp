#pragma once
// The folder a resumable command writes into: ".NAME.partial" beside --out, renamed onto --out
// when the output is complete. Once the run has saved its state there (`has_state(work)`) the
// folder survives a kill, for --resume. Everything is checked here, before any work.
#include <filesystem>
#include <functional>
#include <string>

#include "vtrans/error.hpp"
#include "vtrans/io/atomic_file.hpp"

namespace vtrans::cli {

struct resumable_output {
  std::string out;                  // --out
  bool overwrite = false, resume = false;
  std::string state;                // what the state is called in messages ("training checkpoint")
  std::function<bool(const std::filesystem::path&)> has_state;  // a folder holds a state to resume
  bool extend_finished = false;     // --resume of a finished run continues from a copy of --out
};

inline std::filesystem::path work_path(const std::string& out) {
  std::filesystem::path target(out);
  if (target.filename().empty()) target = target.parent_path();
  return target.parent_path() / ("." + target.filename().string() + ".partial");
}

inline io::folder_writer work_folder(const resumable_output& r) {
  namespace fs = std::filesystem;
  fs::path target(r.out);
  if (target.filename().empty()) target = target.parent_path();
  const fs::path work = work_path(r.out);
  const bool interrupted = fs::is_directory(work);
  const bool resumable = interrupted && r.has_state(work);
  if (interrupted && !r.resume && resumable && !r.overwrite)
    throw usage_error("--out " + r.out + ": an interrupted run left its work in " + work.string() +
                      "; continue it with --resume or start again with --overwrite");
  if (interrupted && !(r.resume && resumable)) fs::remove_all(work);  // nothing there to resume, or replaced on request
  const bool extend = r.resume && !resumable && r.extend_finished && r.has_state(target);
  if (r.resume && !resumable && !extend)
    throw usage_error("--resume: no " + r.state + " in " + work.string() + (r.extend_finished ? " or " + target.string() : std::string()));
  io::folder_writer folder(r.out, r.overwrite || r.resume, "--out", work.string());
  if (r.resume && resumable) folder.keep_staging();
  if (extend) fs::copy(target, work, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  return folder;
}

}  // namespace vtrans::cli
