// The fuzzing contract (see fuzz_harness.hpp): the harness registry, the per-input checks, and
// heap accounting through replaced operator new/delete.
#include "fuzz_harness.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <iterator>
#include <new>
#include <sstream>
#include <typeinfo>

#include <malloc.h>
#include <unistd.h>

#include "vtrans/error.hpp"

namespace vtrans_fuzz {

namespace {

std::atomic<std::size_t> g_live{0}, g_peak{0}, g_cap{0}, g_base{0};

void* counted_alloc(std::size_t n, std::size_t align) {
  // One request above the cap is reported before it is attempted (it might succeed lazily).
  const std::size_t cap = g_cap.load(std::memory_order_relaxed);
  if (cap && n > cap) {
    std::fprintf(stderr, "fuzz contract: one allocation of %zu bytes exceeds the per-input cap of %zu bytes\n", n, cap);
    std::abort();
  }
  void* p = nullptr;
  if (align <= alignof(std::max_align_t)) p = std::malloc(n ? n : 1);
  else if (::posix_memalign(&p, align, n ? n : 1) != 0) p = nullptr;
  if (!p) throw std::bad_alloc();
  const std::size_t live = g_live.fetch_add(::malloc_usable_size(p), std::memory_order_relaxed) + ::malloc_usable_size(p);
  std::size_t peak = g_peak.load(std::memory_order_relaxed);
  while (live > peak && !g_peak.compare_exchange_weak(peak, live, std::memory_order_relaxed)) {
  }
  if (cap && live > g_base.load(std::memory_order_relaxed) + cap) {
    std::fprintf(stderr, "fuzz contract: live heap grew by more than the per-input cap of %zu bytes\n", cap);
    std::abort();
  }
  return p;
}

void counted_free(void* p) noexcept {
  if (!p) return;
  g_live.fetch_sub(::malloc_usable_size(p), std::memory_order_relaxed);
  std::free(p);
}

[[noreturn]] void violation(const harness& h, const std::string& what) {
  std::fprintf(stderr, "fuzz contract violated by harness %s: %s\n  the input's files are in %s\n", h.name.c_str(), what.c_str(),
               work_dir().c_str());
  std::abort();
}

std::string read_back(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// One line naming a file of the input (or the folder, for "folder: no tokenizer files").
void check_message(const harness& h, const files& fs, const std::string& msg) {
  if (msg.find('\n') != std::string::npos) violation(h, "error message spans several lines: " + msg);
  for (const auto& f : fs)
    if (msg.find((work_dir() / f.first).string()) != std::string::npos) return;
  if (msg.find(work_dir().string() + ":") != std::string::npos) return;
  violation(h, "error message names none of the input's files: " + msg);
}

}  // namespace

std::map<std::string, harness>& registry() {
  static std::map<std::string, harness> r;
  return r;
}

registrar::registrar(harness h) {
  const std::string name = h.name;
  registry().emplace(name, std::move(h));
}

const std::filesystem::path& work_dir() {
  static const std::filesystem::path dir = [] {
    const char* base = std::getenv("VTRANS_FUZZ_DIR");
    auto d = std::filesystem::path(base ? base : std::filesystem::temp_directory_path().string()) /
             ("vtrans_fuzz_" + std::to_string(::getpid()));
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

std::size_t live_bytes() { return g_live.load(); }
std::size_t peak_bytes() { return g_peak.load() - g_base.load(); }
void reset_peak() {
  g_base = g_live.load();
  g_peak = g_live.load();
}
void set_allocation_cap(std::size_t bytes) { g_cap = bytes; }

std::vector<std::string> split_parts(std::string_view input, std::string_view sep, std::size_t n) {
  std::vector<std::string> parts;
  while (parts.size() + 1 < n) {
    const auto at = input.find(sep);
    if (at == std::string_view::npos) break;
    parts.emplace_back(input.substr(0, at));
    input.remove_prefix(at + sep.size());
  }
  parts.emplace_back(input);
  parts.resize(n);
  return parts;
}

outcome run_one(const harness& h, std::string_view input, std::string* rejection_kind) {
  const auto& dir = work_dir();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) std::filesystem::remove_all(entry.path(), ec);
  const files fs = h.to_files(input);
  for (const auto& [name, bytes] : fs) {
    std::ofstream out(dir / name, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) violation(h, "cannot write the input file " + (dir / name).string());
  }
  reset_peak();
  outcome result = outcome::accepted;
  try {
    h.load(dir, input);
  } catch (const vtrans::error& e) {
    result = outcome::rejected;
    check_message(h, fs, e.what());
    if (rejection_kind) {
      *rejection_kind = dynamic_cast<const vtrans::resource_error*>(&e) ? "resource"
                        : dynamic_cast<const vtrans::file_error*>(&e)   ? "file"
                        : dynamic_cast<const vtrans::usage_error*>(&e)  ? "usage"
                                                                        : "format";
    }
  } catch (const std::bad_alloc&) {
    violation(h, "std::bad_alloc escaped the loader");
  } catch (const std::exception& e) {
    violation(h, std::string("an exception that is not a vtrans::error escaped the loader (") + typeid(e).name() + "): " + e.what());
  } catch (...) {
    violation(h, "a non-standard exception escaped the loader");
  }
  // Nothing written beside the inputs, nothing changed in them.
  std::size_t entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    (void)entry;
    ++entries;
  }
  if (entries != fs.size()) violation(h, "the loader created or removed files in the input folder");
  for (const auto& [name, bytes] : fs)
    if (read_back(dir / name) != bytes) violation(h, "the loader modified its input file " + name);
  return result;
}

}  // namespace vtrans_fuzz

// Heap accounting for the allocation cap: every C++ allocation of the process goes through here.
void* operator new(std::size_t n) { return vtrans_fuzz::counted_alloc(n, 0); }
void* operator new[](std::size_t n) { return vtrans_fuzz::counted_alloc(n, 0); }
void* operator new(std::size_t n, std::align_val_t a) { return vtrans_fuzz::counted_alloc(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return vtrans_fuzz::counted_alloc(n, static_cast<std::size_t>(a)); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return vtrans_fuzz::counted_alloc(n, 0);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return vtrans_fuzz::counted_alloc(n, 0);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { vtrans_fuzz::counted_free(p); }
void operator delete[](void* p) noexcept { vtrans_fuzz::counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { vtrans_fuzz::counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { vtrans_fuzz::counted_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { vtrans_fuzz::counted_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { vtrans_fuzz::counted_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { vtrans_fuzz::counted_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { vtrans_fuzz::counted_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { vtrans_fuzz::counted_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { vtrans_fuzz::counted_free(p); }
