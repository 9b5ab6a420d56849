#pragma once
// The contract every loader is fuzzed against, shared by the libFuzzer entry point and the
// deterministic mutation driver:
//   * no crash and no undefined behaviour (the harnesses are built with ASan and UBSan);
//   * no hang: each input runs under a time cap;
//   * no allocation blow-up: live heap bytes during one input stay under a cap;
//   * every rejection is a vtrans::error whose one-line message names the file (or, for a
//     folder of files, one of them), and the input files are left as they were.
// A harness turns the input bytes into files in a private folder, calls a loader, and uses what
// it loaded (reads every tensor, encodes text) so that accepted inputs are exercised too.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vtrans_fuzz {

// Files of one input: name -> bytes, written into the harness's folder before the call.
using files = std::vector<std::pair<std::string, std::string>>;

struct harness {
  std::string name;
  std::string about;                      // what is loaded, for --list
  std::function<files(std::string_view)> to_files;  // input bytes -> files
  // Loads from the folder (the input is passed too, for options that are not file content);
  // throws on rejection, returns normally when the input was accepted.
  std::function<void(const std::filesystem::path& dir, std::string_view input)> load;
  std::vector<std::string> dictionary;    // tokens the mutator splices in
  std::function<void()> setup = {};       // run once before the first input (not timed)
};

std::map<std::string, harness>& registry();

struct registrar {
  explicit registrar(harness h);
};

// What one input did.
enum class outcome { accepted, rejected };

// Runs one input through a harness under the contract; a violation prints what went wrong and
// aborts (so libFuzzer and the driver both see a crash). rejection_kind gets the error class.
outcome run_one(const harness& h, std::string_view input, std::string* rejection_kind = nullptr);

// The folder the current process writes its inputs into (one per process).
const std::filesystem::path& work_dir();

// Live heap bytes (operator new/delete) and the peak since reset_peak(); the cap aborts.
std::size_t live_bytes();
std::size_t peak_bytes();
void reset_peak();
void set_allocation_cap(std::size_t bytes);  // 0: no cap

// Splits "a<sep>b<sep>c" into up to n parts (the last one takes the rest); missing parts are empty.
std::vector<std::string> split_parts(std::string_view input, std::string_view sep, std::size_t n);

}  // namespace vtrans_fuzz

#define VTRANS_FUZZ_CONCAT2(a, b) a##b
#define VTRANS_FUZZ_CONCAT(a, b) VTRANS_FUZZ_CONCAT2(a, b)
// Registers a harness from a translation unit: VTRANS_FUZZ_HARNESS({...});
#define VTRANS_FUZZ_HARNESS(...) \
  static const ::vtrans_fuzz::registrar VTRANS_FUZZ_CONCAT(vtrans_fuzz_registrar_, __LINE__)(::vtrans_fuzz::harness __VA_ARGS__)
