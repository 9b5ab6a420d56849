#pragma once
// Counts of host <-> device crossings of one backend: every upload and download (tensor::from_host,
// to_host, item and direct calls) and every value a kernel hands back to the host (dot). On a GPU
// each one is a synchronising round trip; a training step that keeps its data on the device shows
// zero of them after warm-up. Relaxed atomic counters: cheap, safe from any thread.
#include <atomic>
#include <cstdint>

namespace vtrans {

struct transfer_counts {
  std::uint64_t uploads = 0, downloads = 0;            // calls
  std::uint64_t upload_bytes = 0, download_bytes = 0;  // bytes moved
  std::uint64_t crossings() const { return uploads + downloads; }
};

class transfer_counter {
 public:
  void count_upload(std::uint64_t bytes) noexcept { add(uploads_, upload_bytes_, bytes); }
  void count_download(std::uint64_t bytes) noexcept { add(downloads_, download_bytes_, bytes); }
  transfer_counts read() const noexcept {
    transfer_counts c;
    c.uploads = uploads_.load(std::memory_order_relaxed);
    c.downloads = downloads_.load(std::memory_order_relaxed);
    c.upload_bytes = upload_bytes_.load(std::memory_order_relaxed);
    c.download_bytes = download_bytes_.load(std::memory_order_relaxed);
    return c;
  }
  // Returns the counts so far and starts again from zero.
  transfer_counts reset() noexcept {
    transfer_counts c;
    c.uploads = uploads_.exchange(0, std::memory_order_relaxed);
    c.downloads = downloads_.exchange(0, std::memory_order_relaxed);
    c.upload_bytes = upload_bytes_.exchange(0, std::memory_order_relaxed);
    c.download_bytes = download_bytes_.exchange(0, std::memory_order_relaxed);
    return c;
  }

 private:
  static void add(std::atomic<std::uint64_t>& calls, std::atomic<std::uint64_t>& total, std::uint64_t bytes) noexcept {
    calls.fetch_add(1, std::memory_order_relaxed);
    total.fetch_add(bytes, std::memory_order_relaxed);
  }
  std::atomic<std::uint64_t> uploads_{0}, downloads_{0}, upload_bytes_{0}, download_bytes_{0};
};

}  // namespace vtrans
