// libFuzzer entry point of one harness (chosen at compile time by VTRANS_FUZZ_TARGET), for
// clang builds: fuzz_<name> -max_total_time=60 -timeout=10 -rss_limit_mb=2048 CORPUS_DIR SEEDS_DIR
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_harness.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  vtrans_fuzz::set_allocation_cap(std::size_t{512} << 20);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const vtrans_fuzz::harness& h = [] () -> const vtrans_fuzz::harness& {
    const auto& found = vtrans_fuzz::registry().at(VTRANS_FUZZ_TARGET);
    if (found.setup) found.setup();
    return found;
  }();
  vtrans_fuzz::run_one(h, std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
