// A deterministic mutation fuzzer for the harnesses (no libFuzzer needed): starting from the
// committed seeds, each input is a seed (or an earlier accepted mutant) with 1-8 random edits
// (bit flips, interesting bytes and numbers, dictionary tokens, deleted, duplicated or repeated
// ranges, splices, truncation), drawn from a seeded std::mt19937_64, so a run is reproducible
// from its seed and count. Each input runs under the contract of fuzz_harness.hpp plus a time cap.
//
//   fuzz_driver HARNESS --seeds DIR [--runs N] [--seconds S] [--seed K] [--max-len BYTES]
//               [--time-cap S] [--alloc-cap MIB] [--keep-going]
//   fuzz_driver HARNESS --replay FILE...     (run given inputs, e.g. a saved failure)
//   fuzz_driver --list
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include "fuzz_harness.hpp"

namespace {

using vtrans_fuzz::harness;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// ---- the time cap -------------------------------------------------------------------------

char g_timeout_message[512];

extern "C" void on_timeout(int) {
  // Only async-signal-safe calls here.
  const ssize_t ignored = ::write(2, g_timeout_message, std::strlen(g_timeout_message));
  (void)ignored;
  std::abort();
}

void arm_timer(double seconds) {
  itimerval t{};
  t.it_value.tv_sec = static_cast<time_t>(seconds);
  t.it_value.tv_usec = static_cast<suseconds_t>((seconds - static_cast<double>(t.it_value.tv_sec)) * 1e6);
  ::setitimer(ITIMER_REAL, &t, nullptr);
}

// ---- mutations ----------------------------------------------------------------------------

class mutator {
 public:
  mutator(std::uint64_t seed, const std::vector<std::string>& dictionary) : rng_(seed), dict_(dictionary) {}

  std::uint64_t below(std::uint64_t n) { return n ? rng_() % n : 0; }

  std::string mutate(std::string s, const std::vector<std::string>& corpus, std::size_t max_len) {
    const std::size_t edits = 1 + below(8);
    for (std::size_t e = 0; e < edits; ++e) edit(s, corpus);
    if (s.size() > max_len) s.resize(max_len);
    return s;
  }

 private:
  void edit(std::string& s, const std::vector<std::string>& corpus) {
    static const char interesting_bytes[] = {'\0', '\x01', '\x7f', '\x80', '\xff', '"', '\\', '{', '}', '[', ']', ',', ':',
                                             '\n', '\r', '\t', ' ', '0', '9', '-', '.', 'e'};
    static const char* const numbers[] = {"0", "-1", "1", "255", "65536", "2147483647", "2147483648", "4294967295", "4294967301",
                                          "9223372036854775807", "9223372036854775808", "18446744073709551615",
                                          "99999999999999999999", "1e999", "-0", "1.5", "1e-999", "100000000"};
    static const std::uint64_t interesting_u64[] = {0, 1, 7, 8, 0x7f, 0xff, 0xffff, 0x7fffffff, 0xffffffff, 0x100000000,
                                                    100000000, 100000001, ~std::uint64_t{0}, std::uint64_t{1} << 63};
    const std::size_t n = s.size();
    const std::size_t pos = below(n + 1);
    switch (below(12)) {
      case 0:  // flip a bit
        if (n) s[below(n)] ^= static_cast<char>(1 << below(8));
        break;
      case 1:  // an interesting byte
        if (n) s[below(n)] = interesting_bytes[below(sizeof interesting_bytes)];
        break;
      case 2: {  // delete a range
        if (!n) break;
        const std::size_t len = 1 + below(below(2) ? 8 : std::max<std::size_t>(1, n / 4));
        s.erase(below(n), len);
        break;
      }
      case 3:  // insert random bytes
        for (std::size_t k = 0, m = 1 + below(8); k < m; ++k) s.insert(s.begin() + static_cast<std::ptrdiff_t>(pos), static_cast<char>(rng_()));
        break;
      case 4: {  // copy a range elsewhere
        if (!n) break;
        const std::size_t from = below(n), len = 1 + below(std::min<std::size_t>(n - from, 64));
        s.insert(pos, s.substr(from, len));
        break;
      }
      case 5:
      case 6:  // a dictionary token
        if (!dict_.empty()) s.insert(pos, dict_[below(dict_.size())]);
        break;
      case 7: {  // replace a number with an interesting one
        const std::size_t start = s.find_first_of("0123456789", below(n + 1));
        if (start == std::string::npos) break;
        const std::size_t end = s.find_first_not_of("0123456789.eE+-", start);
        s.replace(start, (end == std::string::npos ? n : end) - start, numbers[below(sizeof numbers / sizeof *numbers)]);
        break;
      }
      case 8: {  // splice with another corpus entry
        const std::string& other = corpus[below(corpus.size())];
        s = s.substr(0, pos) + other.substr(std::min(other.size(), below(other.size() + 1)));
        break;
      }
      case 9:  // truncate
        s.resize(below(n + 1));
        break;
      case 10: {  // a little-endian integer at a random offset (sizes in binary headers)
        const std::uint64_t v = interesting_u64[below(sizeof interesting_u64 / sizeof *interesting_u64)];
        const std::size_t width = below(2) ? 8 : 4;
        const std::size_t at = below(2) ? 0 : below(n + 1);
        for (std::size_t k = 0; k < width && at + k < s.size(); ++k) s[at + k] = static_cast<char>(v >> (8 * k));
        break;
      }
      case 11: {  // repeat a range many times (many entries, deep nesting)
        if (!n) break;
        const std::size_t from = below(n), len = 1 + below(std::min<std::size_t>(n - from, 32));
        const std::string chunk = s.substr(from, len);
        std::string rep;
        for (std::size_t k = 0, m = 2 + below(200); k < m; ++k) rep += chunk;
        s.insert(from, rep);
        break;
      }
    }
  }

  std::mt19937_64 rng_;
  const std::vector<std::string>& dict_;
};

// ---- the run ------------------------------------------------------------------------------

struct options {
  std::string harness, seeds;
  std::vector<std::string> replay;
  std::uint64_t runs = 0, seed = 1;
  double seconds = 0, time_cap = 10;
  std::size_t max_len = 1 << 16, alloc_cap_mib = 512;
  bool keep_going = false;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "fuzz_driver: %s\nusage: fuzz_driver HARNESS --seeds DIR [--runs N] [--seconds S] [--seed K] [--max-len BYTES]\n"
               "                   [--time-cap S] [--alloc-cap MIB]\n       fuzz_driver HARNESS --replay FILE...\n"
               "       fuzz_driver --list\n",
               why);
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value after " + a).c_str());
      return argv[++i];
    };
    if (a == "--seeds") o.seeds = value();
    else if (a == "--runs") o.runs = std::stoull(value());
    else if (a == "--seconds") o.seconds = std::stod(value());
    else if (a == "--seed") o.seed = std::stoull(value());
    else if (a == "--max-len") o.max_len = std::stoull(value());
    else if (a == "--time-cap") o.time_cap = std::stod(value());
    else if (a == "--alloc-cap") o.alloc_cap_mib = std::stoull(value());
    else if (a == "--replay") {
      while (i + 1 < argc) o.replay.push_back(argv[++i]);
    } else if (a.rfind("--", 0) == 0) usage(("unknown option " + a).c_str());
    else o.harness = a;
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "--list") {
    for (const auto& [name, h] : vtrans_fuzz::registry()) std::printf("%-16s %s\n", name.c_str(), h.about.c_str());
    return 0;
  }
  const options o = parse(argc, argv);
  auto it = vtrans_fuzz::registry().find(o.harness);
  if (it == vtrans_fuzz::registry().end()) usage(("no harness named '" + o.harness + "' (see --list)").c_str());
  const harness& h = it->second;
  vtrans_fuzz::set_allocation_cap(o.alloc_cap_mib << 20);
  std::snprintf(g_timeout_message, sizeof g_timeout_message,
                "fuzz contract violated by harness %s: one input ran longer than %.1f s (a hang)\n  the input's files are in %s\n",
                h.name.c_str(), o.time_cap, vtrans_fuzz::work_dir().c_str());
  ::signal(SIGALRM, on_timeout);

  if (h.setup) h.setup();
  std::vector<std::string> corpus;
  if (!o.replay.empty()) {
    for (const auto& f : o.replay) {
      const auto r = vtrans_fuzz::run_one(h, read_file(f));
      std::printf("%s: %s\n", f.c_str(), r == vtrans_fuzz::outcome::accepted ? "accepted" : "rejected");
    }
    return 0;
  }
  if (o.seeds.empty()) usage("--seeds DIR is required");
  std::vector<std::filesystem::path> seed_files;
  for (const auto& e : std::filesystem::directory_iterator(o.seeds))
    if (e.is_regular_file()) seed_files.push_back(e.path());
  std::sort(seed_files.begin(), seed_files.end());
  for (const auto& f : seed_files) corpus.push_back(read_file(f));
  if (corpus.empty()) usage("no seed files");
  if (o.runs == 0 && o.seconds <= 0) usage("give --runs or --seconds");

  mutator mut(o.seed, h.dictionary);
  std::map<std::string, std::uint64_t> rejected;
  std::uint64_t accepted = 0, done = 0;
  double slowest = 0;
  std::size_t peak = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  const std::size_t seed_count = corpus.size();
  for (; (o.runs == 0 || done < o.runs) && (o.seconds <= 0 || elapsed() < o.seconds); ++done) {
    // The seeds themselves first, then mutants.
    const std::string input = done < seed_count ? corpus[done] : mut.mutate(corpus[mut.below(corpus.size())], corpus, o.max_len);
    std::string kind;
    const auto t0 = std::chrono::steady_clock::now();
    arm_timer(o.time_cap);
    const auto r = vtrans_fuzz::run_one(h, input, &kind);
    arm_timer(0);
    slowest = std::max(slowest, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    peak = std::max(peak, vtrans_fuzz::peak_bytes());
    if (r == vtrans_fuzz::outcome::accepted) {
      ++accepted;
      // Accepted mutants become parents: deeper exploration of valid structure.
      if (done >= seed_count && corpus.size() < 4096 && mut.below(4) == 0) corpus.push_back(input);
    } else {
      ++rejected[kind];
    }
  }
  std::uint64_t rejected_total = 0;
  std::string kinds;
  for (const auto& [k, v] : rejected) rejected_total += v, kinds += (kinds.empty() ? "" : ", ") + std::to_string(v) + " " + k;
  std::printf("fuzz %s: %llu inputs in %.1f s without a contract violation (%llu accepted, %llu rejected: %s); "
              "slowest input %.3f s, largest heap growth %.1f MiB; seed %llu\n",
              h.name.c_str(), static_cast<unsigned long long>(done), elapsed(), static_cast<unsigned long long>(accepted),
              static_cast<unsigned long long>(rejected_total), kinds.empty() ? "none" : kinds.c_str(), slowest,
              static_cast<double>(peak) / (1 << 20), static_cast<unsigned long long>(o.seed));
  std::error_code ec;
  std::filesystem::remove_all(vtrans_fuzz::work_dir(), ec);
  if (done == 0) return 1;
  return 0;
}
