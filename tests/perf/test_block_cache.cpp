// The CPU backend's caching allocator: reuse without new memory from the system, splitting and
// merging of free space, release, and no overlap between live blocks.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "vtrans/tensor/cpu.hpp"
#include "vtrans/tensor/math.hpp"

using vtrans::cpu_detail::block_cache;

namespace {
constexpr std::size_t MiB = 1 << 20;
std::size_t segments_taken() { return block_cache::instance().stats().segments_allocated; }
}  // namespace

TEST_CASE("freed space serves later requests of other sizes: merged, then split") {
  auto& cache = block_cache::instance();
  std::vector<void*> quarters;
  for (int i = 0; i < 4; ++i) quarters.push_back(cache.allocate(3 * MiB));
  for (void* p : quarters) cache.deallocate(p, 3 * MiB);
  const std::size_t before = segments_taken();
  void* whole = cache.allocate(12 * MiB);  // the four freed neighbours merge (or other free space fits)
  CHECK(segments_taken() == before);
  cache.deallocate(whole, 12 * MiB);
  for (int i = 0; i < 4; ++i) quarters[std::size_t(i)] = cache.allocate(3 * MiB);  // split again
  CHECK(segments_taken() == before);
  for (void* p : quarters) cache.deallocate(p, 3 * MiB);
}

TEST_CASE("a repeated sequence of requests takes no new memory after its first run") {
  auto& cache = block_cache::instance();
  const std::size_t sizes[] = {3 * MiB, 12 * MiB, 100 * 1024, 6 * MiB + 4096, 3 * MiB, 12 * MiB, 700 * 1024, 1 * MiB};
  auto run = [&] {
    std::vector<std::pair<void*, std::size_t>> live;
    for (int round = 0; round < 3; ++round) {
      for (std::size_t s : sizes) live.emplace_back(cache.allocate(s), s);
      // free every other block (a forward pass dropping intermediates), keep the rest until the end
      for (std::size_t i = live.size() - std::size(sizes); i < live.size(); i += 2) cache.deallocate(live[i].first, live[i].second), live[i].first = nullptr;
    }
    for (auto& [p, s] : live) if (p) cache.deallocate(p, s);
  };
  run();
  const std::size_t before = segments_taken();
  const auto in_use = cache.stats().in_use;
  for (int i = 0; i < 3; ++i) run();
  CHECK(segments_taken() == before);
  CHECK(cache.stats().in_use == in_use);
}

TEST_CASE("live blocks never overlap, whatever the order of requests and frees") {
  auto& cache = block_cache::instance();
  struct live_block { unsigned char* p; std::size_t size; unsigned char tag; };
  std::vector<live_block> live;
  for (std::uint64_t i = 0; i < 400; ++i) {
    const std::uint64_t r = vtrans::math::mix64(i);
    if (!live.empty() && r % 3 == 0) {  // free a random live block after checking its contents
      const std::size_t k = std::size_t(r >> 8) % live.size();
      const auto b = live[k];
      CHECK(std::all_of(b.p, b.p + b.size, [&](unsigned char c) { return c == b.tag; }));
      cache.deallocate(b.p, b.size);
      live.erase(live.begin() + std::ptrdiff_t(k));
    } else {
      const std::size_t size = 64 * 1024 + std::size_t(r >> 16) % (5 * MiB);
      auto* p = static_cast<unsigned char*>(cache.allocate(size));
      CHECK(reinterpret_cast<std::uintptr_t>(p) % block_cache::alignment == 0);
      const auto tag = static_cast<unsigned char>(i);
      std::memset(p, tag, size);
      live.push_back({p, size, tag});
    }
  }
  for (const auto& b : live) {
    CHECK(std::all_of(b.p, b.p + b.size, [&](unsigned char c) { return c == b.tag; }));
    cache.deallocate(b.p, b.size);
  }
}

TEST_CASE("release hands wholly free segments back; small blocks bypass the cache") {
  auto& cache = block_cache::instance();
  cache.release();  // so that the next request takes a segment of its own
  void* big = cache.allocate(64 * MiB);
  const std::size_t reserved = cache.stats().reserved;
  cache.deallocate(big, 64 * MiB);
  CHECK(cache.cached_bytes() >= 64 * MiB);
  cache.release();
  CHECK(cache.stats().reserved <= reserved - 64 * MiB);
  const std::size_t taken = segments_taken();
  void* small = cache.allocate(1000);
  CHECK(segments_taken() == taken);
  cache.deallocate(small, 1000);
}
