#pragma once
// The CPU backend: xtensor storage, OpenBLAS GEMM, OpenMP loops around the shared row and element
// functions of tensor/kernels/ (the same ones thrust_backend runs), and vectorised fp32 GELU and exp.
//
// A backend is a type with static functions over raw pointers into its own storage; tensors,
// autodiff ops and models are written once against this set (see backend.hpp for the contract).
// Kernels whose name ends in _backward accumulate (+=) into their gradient outputs, and a null
// gradient pointer means "not needed".
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <new>
#include <type_traits>
#include <vector>

#include <omp.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "vtrans/tensor/blas.hpp"
#include "vtrans/tensor/half.hpp"
#include "vtrans/tensor/kernel_args.hpp"
#include "vtrans/tensor/kernels/adamw.hpp"
#include "vtrans/tensor/kernels/attention.hpp"
#include "vtrans/tensor/kernels/loss.hpp"
#include "vtrans/tensor/kernels/norm.hpp"
#include "vtrans/tensor/kernels/rank.hpp"
#include "vtrans/tensor/kernels/reduce.hpp"
#include "vtrans/tensor/kernels/rope.hpp"
#include "vtrans/tensor/kernels/softmax.hpp"
#include "vtrans/tensor/math.hpp"
#include "vtrans/tensor/transfers.hpp"
#include "vtrans/tensor/xtensor.hpp"

namespace vtrans {

namespace cpu_detail {

// A caching allocator for tensor storage. Every op allocates its outputs and every backward
// pass its gradients; fresh large blocks come from mmap and cost a page fault (and a kernel
// zero-fill) per 4 KiB page on first touch, which on a virtual machine can take longer than the
// op itself. So memory for blocks of 64 KiB and more is taken from the system in segments that
// are kept: a request is served by the best-fitting free block (split when 64 KiB or more would
// be left over), and a freed block merges with the free blocks next to it in its segment. A
// training loop repeats the same requests every step, so after the first step it touches no new
// page; and since free space of any size can serve any smaller request, what is reserved stays
// close to the peak in use. Fully free segments go back to the system on release(), before the
// system is asked for memory it cannot give, and while more than VTRANS_CPU_CACHE_MB MiB are
// free (default: no limit). Segments are 2 MiB-aligned and offered to transparent huge pages
// (Linux, THP in "madvise" or "always" mode): a first touch then faults in 2 MiB at once instead
// of 512 pages, which is most of the cost of loading a checkpoint into fresh memory
// (VTRANS_CPU_HUGEPAGES=0: not offered).
class block_cache {
 public:
  static constexpr std::size_t alignment = 64;
  static constexpr std::size_t min_cached = 64 * 1024;  // smaller blocks: plain aligned new
  static constexpr std::size_t page = 4096;             // block sizes are whole pages
  static constexpr std::size_t segment_granularity = 2 * 1024 * 1024;
  // Small requests share segments of this size, so that their free space can merge into blocks
  // for larger ones (untouched pages of a segment cost no memory).
  static constexpr std::size_t min_segment = 64 * 1024 * 1024;

  struct statistics {
    std::size_t in_use = 0, peak_in_use = 0;  // bytes of blocks handed out
    std::size_t reserved = 0;                 // bytes of segments held (in use or free)
    std::size_t segments_allocated = 0;       // segments ever taken from the system
  };

  static block_cache& instance() {
    static block_cache* cache = new block_cache;  // never destroyed: tensors may outlive statics
    return *cache;
  }

  void* allocate(std::size_t bytes) {
    if (bytes < min_cached) return ::operator new(bytes ? bytes : 1, std::align_val_t(alignment));
    const std::size_t size = round_up(bytes, page);
    std::lock_guard<std::mutex> lock(mutex_);
    auto fit = free_.lower_bound(size);  // best fit
    if (fit == free_.end()) fit = add_segment(size);
    const auto it = blocks_.find(fit->second);
    free_.erase(fit);
    block& b = it->second;
    b.free = false;
    free_bytes_ -= b.size;
    if (b.size - size >= min_cached) {  // split: the rest stays free
      add_free(it->first + size, b.size - size, b.segment);
      b.size = size;
    }
    stats_.in_use += b.size;
    stats_.peak_in_use = std::max(stats_.peak_in_use, stats_.in_use);
    return it->first;
  }

  void deallocate(void* p, std::size_t bytes) noexcept {
    if (!p) return;
    if (bytes < min_cached) { ::operator delete(p, std::align_val_t(alignment)); return; }
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = blocks_.find(static_cast<char*>(p));
    if (it == blocks_.end() || it->second.free) std::abort();  // not ours, or freed twice: memory is corrupt
    stats_.in_use -= it->second.size;
    // merge with the free neighbours in the same segment
    char* start = it->first;
    std::size_t size = it->second.size;
    char* const segment = it->second.segment;
    const auto next = std::next(it);
    if (next != blocks_.end() && next->second.free && next->second.segment == segment) {
      size += next->second.size;
      remove_free(next);
    }
    if (it != blocks_.begin()) {
      const auto prev = std::prev(it);
      if (prev->second.free && prev->second.segment == segment) {
        start = prev->first;
        size += prev->second.size;
        remove_free(prev);
      }
    }
    blocks_.erase(static_cast<char*>(p));
    if (start == segment && size == segments_.at(segment) && free_bytes_ + size > limit_) {
      release_segment(segment);  // wholly free, and more is free than the limit allows
      return;
    }
    add_free(start, size, segment);
  }

  // Returns every wholly free segment to the system.
  void release() noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    release_free_segments();
  }
  std::size_t cached_bytes() {
    std::lock_guard<std::mutex> lock(mutex_);
    return free_bytes_;
  }
  statistics stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

 private:
  struct block {
    std::size_t size = 0;
    char* segment = nullptr;  // base of the segment holding the block
    bool free = false;
    std::multimap<std::size_t, char*>::iterator where;  // its entry in free_, when free
  };

  block_cache() {
    const char* env = std::getenv("VTRANS_CPU_CACHE_MB");
    limit_ = env ? std::strtoull(env, nullptr, 10) << 20 : std::numeric_limits<std::size_t>::max();
    const char* huge = std::getenv("VTRANS_CPU_HUGEPAGES");
    huge_pages_ = !(huge && huge[0] == '0');
  }
  static void offer_huge_pages([[maybe_unused]] void* base, [[maybe_unused]] std::size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    madvise(base, bytes, MADV_HUGEPAGE);  // advice only: where THP is off, nothing changes
#endif
  }
  static std::size_t round_up(std::size_t bytes, std::size_t to) { return (bytes + to - 1) / to * to; }

  void add_free(char* start, std::size_t size, char* segment) {
    block& b = blocks_[start];
    b.size = size;
    b.segment = segment;
    b.free = true;
    b.where = free_.emplace(size, start);
    free_bytes_ += size;
  }
  void remove_free(std::map<char*, block>::iterator it) {
    free_.erase(it->second.where);
    free_bytes_ -= it->second.size;
    blocks_.erase(it);
  }
  // A new segment for a request of `size` bytes, entered as one free block; returns its free_ entry.
  std::multimap<std::size_t, char*>::iterator add_segment(std::size_t size) {
    const std::size_t bytes = std::max(min_segment, round_up(size, segment_granularity));
    void* base = nullptr;
    try {
      base = ::operator new(bytes, std::align_val_t(segment_granularity));
    } catch (const std::bad_alloc&) {
      release_free_segments();
      base = ::operator new(bytes, std::align_val_t(segment_granularity));
    }
    if (huge_pages_) offer_huge_pages(base, bytes);
    char* segment = static_cast<char*>(base);
    segments_.emplace(segment, bytes);
    stats_.reserved += bytes;
    ++stats_.segments_allocated;
    add_free(segment, bytes, segment);
    return blocks_.at(segment).where;
  }
  void release_segment(char* segment) {
    stats_.reserved -= segments_.at(segment);
    segments_.erase(segment);
    ::operator delete(segment, std::align_val_t(segment_granularity));
  }
  void release_free_segments() noexcept {
    for (auto it = segments_.begin(); it != segments_.end();) {
      const auto b = blocks_.find(it->first);
      char* segment = it->first;
      ++it;
      if (b->second.free && b->second.size == segments_.at(segment)) {
        remove_free(b);
        release_segment(segment);
      }
    }
  }

  std::mutex mutex_;
  std::map<char*, block> blocks_;              // every block of every segment, by address
  std::multimap<std::size_t, char*> free_;     // free blocks by size
  std::map<char*, std::size_t> segments_;      // segment base -> bytes
  std::size_t free_bytes_ = 0, limit_ = 0;
  bool huge_pages_ = true;
  statistics stats_;
};

// std-style allocator over block_cache, for the xtensor storage of cpu tensors.
template <class T>
struct caching_allocator {
  using value_type = T;
  caching_allocator() noexcept = default;
  template <class U>
  caching_allocator(const caching_allocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(block_cache::instance().allocate(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept { block_cache::instance().deallocate(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const caching_allocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const caching_allocator<U>&) const noexcept { return false; }
};

}  // namespace cpu_detail

struct cpu {
  static const char* name() { return "cpu"; }

  // 1-d xtensor whose memory comes from the block cache (cpu_detail::block_cache)
  template <class T>
  using storage = xt::xtensor<T, 1, xt::layout_type::row_major, cpu_detail::caching_allocator<T>>;

  // Loops shorter than this stay on one thread: forking costs more than it saves.
  static constexpr index parallel_grain = 16384;

  // ---- storage and host boundaries -------------------------------------------------------
  template <class T>
  static storage<T> allocate(index n) { return storage<T>::from_shape({static_cast<std::size_t>(n)}); }
  template <class T>
  static T* data(storage<T>& s) { return s.data(); }
  template <class T>
  static const T* data(const storage<T>& s) { return s.data(); }
  // Host memory is the backend's memory, but crossings are counted as on any backend, so code
  // tested here shows the transfers it would make on a GPU.
  template <class T>
  static void upload(const T* host, index n, T* dst) {
    if (n <= 0) return;
    transfers().count_upload(sizeof(T) * static_cast<std::uint64_t>(n));
    std::memcpy(dst, host, sizeof(T) * static_cast<std::size_t>(n));
  }
  template <class T>
  static void download(const T* src, index n, T* host) {
    if (n <= 0) return;
    transfers().count_download(sizeof(T) * static_cast<std::uint64_t>(n));
    std::memcpy(host, src, sizeof(T) * static_cast<std::size_t>(n));
  }
  static void synchronize() {}
  static transfer_counter& transfers() {
    static transfer_counter counter;
    return counter;
  }
  // Hands the cached free blocks of tensor storage back to the system.
  static void release_cached_memory() { cpu_detail::block_cache::instance().release(); }

  // ---- element-wise ----------------------------------------------------------------------
  template <class T>
  static void fill(index n, T value, T* y) {
#pragma omp parallel for schedule(static) if (n > parallel_grain)
    for (index i = 0; i < n; ++i) y[i] = value;
  }
  // y = alpha * x + beta * y (beta == 0 overwrites without reading y)
  template <class T>
  static void axpby(index n, T alpha, const T* x, T beta, T* y) {
    if (beta == T(0)) {
#pragma omp parallel for schedule(static) if (n > parallel_grain)
      for (index i = 0; i < n; ++i) y[i] = alpha * x[i];
    } else {
#pragma omp parallel for schedule(static) if (n > parallel_grain)
      for (index i = 0; i < n; ++i) y[i] = alpha * x[i] + beta * y[i];
    }
  }
  // y = T(x) for a 16-bit storage type (half.hpp): frozen 16-bit weights widened for a product
  template <class H, class T>
  static void widen(index n, const H* x, T* y) {
    parallel_ranges(n, parallel_grain, [=](index b, index e) { vtrans::widen(std::size_t(e - b), x + b, y + b); });
  }
  // y[r, :cols] = x[r, :cols] + beta * y[r, :cols], both with their own row strides.
  template <class T>
  static void copy_2d(index rows, index cols, const T* x, index ldx, T* y, index ldy, T beta) {
#pragma omp parallel for schedule(static) if (rows * cols > parallel_grain)
    for (index r = 0; r < rows; ++r) {
      const T* xr = x + r * ldx;
      T* yr = y + r * ldy;
      if (beta == T(0)) for (index c = 0; c < cols; ++c) yr[c] = xr[c];
      else for (index c = 0; c < cols; ++c) yr[c] = xr[c] + beta * yr[c];
    }
  }
  // y[a, c, b, d] = x[a, b, c, d] + beta * y[a, c, b, d]   (split/merge attention heads)
  template <class T>
  static void permute_0213(index d0, index d1, index d2, index d3, const T* x, T* y, T beta) {
#pragma omp parallel for collapse(2) schedule(static) if (d0 * d1 * d2 * d3 > parallel_grain)
    for (index a = 0; a < d0; ++a)
      for (index b = 0; b < d1; ++b)
        for (index c = 0; c < d2; ++c) {
          const T* xs = x + ((a * d1 + b) * d2 + c) * d3;
          T* ys = y + ((a * d2 + c) * d1 + b) * d3;
          if (beta == T(0)) for (index d = 0; d < d3; ++d) ys[d] = xs[d];
          else for (index d = 0; d < d3; ++d) ys[d] = xs[d] + beta * ys[d];
        }
  }
  // fp32 GELU(erf) runs a vectorisable erf/exp (a few ulp, like PyTorch's vectorised GELU);
  // every other case evaluates math.hpp's formulas exactly.
  template <class T>
  static void unary(math::unary_op op, index n, const T* x, T* y) {
    if constexpr (std::is_same_v<T, float>) {
      if (op == math::unary_op::gelu) {
        parallel_ranges(n, parallel_grain / 4, [=](index b, index e) { gelu_f32(e - b, x + b, y + b); });
        return;
      }
    }
#pragma omp parallel for schedule(static) if (n > parallel_grain / 4)
    for (index i = 0; i < n; ++i) y[i] = math::apply(op, x[i]);
  }
  // dx += dy * f'(x)
  template <class T>
  static void unary_backward(math::unary_op op, index n, const T* x, const T* y, const T* dy, T* dx) {
    if constexpr (std::is_same_v<T, float>) {
      if (op == math::unary_op::gelu) {
        parallel_ranges(n, parallel_grain / 4, [=](index b, index e) { gelu_backward_f32(e - b, x + b, dy + b, dx + b); });
        return;
      }
    }
#pragma omp parallel for schedule(static) if (n > parallel_grain / 4)
    for (index i = 0; i < n; ++i) dx[i] += dy[i] * math::derivative(op, x[i], y[i]);
  }
  // y = a (op) broadcast(b), a and y of shape [rows, cols]
  template <class T>
  static void binary(math::binary_op op, index rows, index cols, const T* a, const T* b, broadcast mode, T* y) {
    switch (op) {  // one vectorisable loop per (op, broadcast mode)
      case math::binary_op::add:
        broadcast_loop(rows, cols, b, mode, [=](index i, T bv) { y[i] = a[i] + bv; }); return;
      case math::binary_op::sub:
        broadcast_loop(rows, cols, b, mode, [=](index i, T bv) { y[i] = a[i] - bv; }); return;
      case math::binary_op::mul:
        broadcast_loop(rows, cols, b, mode, [=](index i, T bv) { y[i] = a[i] * bv; }); return;
    }
  }
  // da[r, c] += alpha * dy[r, c] * broadcast(b)[r, c]   (b null: 1)
  template <class T>
  static void accumulate(index rows, index cols, T alpha, const T* dy, const T* b, broadcast mode, T* da) {
    if (!b) {
      const T one = T(1);
      broadcast_loop(rows, cols, &one, broadcast::scalar, [=](index i, T bv) { da[i] += alpha * dy[i] * bv; });
      return;
    }
    broadcast_loop(rows, cols, b, mode, [=](index i, T bv) { da[i] += alpha * dy[i] * bv; });
  }
  // db += alpha * (dy * a) summed down to the shape that `mode` broadcasts from   (a null: 1)
  template <class T>
  static void accumulate_reduced(index rows, index cols, T alpha, const T* dy, const T* a, broadcast mode, T* db) {
    auto term = [&](index i) { return dy[i] * (a ? a[i] : T(1)); };
    switch (mode) {
      case broadcast::none: accumulate(rows, cols, alpha, dy, a, broadcast::none, db); return;
      case broadcast::column:
#pragma omp parallel for schedule(static) if (rows * cols > parallel_grain)
        for (index r = 0; r < rows; ++r)
          db[r] += alpha * static_cast<T>(kernels::row_sum(cols, dy + r * cols, a ? a + r * cols : nullptr));
        return;
      case broadcast::row: {
        // per-thread partial sums, combined in thread order so results do not depend on timing
        std::vector<std::vector<double>> parts(static_cast<std::size_t>(omp_get_max_threads()));
#pragma omp parallel if (rows * cols > parallel_grain)
        {
          auto& part = parts[static_cast<std::size_t>(omp_get_thread_num())];
          part.assign(static_cast<std::size_t>(cols), 0.0);
          double* pd = part.data();
#pragma omp for schedule(static)
          for (index r = 0; r < rows; ++r) {
            const T* dr = dy + r * cols;
            const T* ar = a ? a + r * cols : nullptr;
            if (ar) {
#pragma omp simd
              for (index c = 0; c < cols; ++c) pd[c] += dr[c] * ar[c];
            } else {
#pragma omp simd
              for (index c = 0; c < cols; ++c) pd[c] += dr[c];
            }
          }
        }
        for (index c = 0; c < cols; ++c) {
          double s = 0;
          for (auto& part : parts) if (!part.empty()) s += part[static_cast<std::size_t>(c)];
          db[c] += alpha * static_cast<T>(s);
        }
        return;
      }
      case broadcast::scalar:
        db[0] += alpha * static_cast<T>(ordered_sum(rows * cols, term));
        return;
    }
  }
  // out[0] = alpha * sum(x)   (result stays in backend memory)
  template <class T>
  static void reduce_sum(index n, const T* x, T alpha, T* out) {
    out[0] = alpha * static_cast<T>(dot_impl(n, x, static_cast<const T*>(nullptr)));
  }
  // Host value of sum(x * y) (y null: sum(x)), accumulated in double (a download of one double).
  template <class T>
  static double dot(index n, const T* x, const T* y) {
    transfers().count_download(sizeof(double));
    return dot_impl(n, x, y);
  }
  // dx += scalar[0] * factor   (gradient of a sum or mean)
  template <class T>
  static void add_scalar(index n, const T* scalar, T factor, T* dx) {
    const T v = scalar[0] * factor;
#pragma omp parallel for schedule(static) if (n > parallel_grain)
    for (index i = 0; i < n; ++i) dx[i] += v;
  }

  // ---- matrix products -------------------------------------------------------------------
  template <class T>
  static void gemm(bool trans_a, bool trans_b, index m, index n, index k, T alpha, const T* a, index lda,
                   const T* b, index ldb, T beta, T* c, index ldc) {
    blas::gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  // batch independent products at fixed strides; small batches of large products use threaded
  // BLAS, otherwise one single-threaded product per OpenMP thread.
  template <class T>
  static void gemm_batched(bool trans_a, bool trans_b, index m, index n, index k, T alpha, const T* a, index lda,
                           index stride_a, const T* b, index ldb, index stride_b, T beta, T* c, index ldc,
                           index stride_c, index batch) {
    if (batch >= omp_get_max_threads() && batch > 1) {
#pragma omp parallel for schedule(dynamic)
      for (index i = 0; i < batch; ++i)
        blas::gemm(trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta,
                   c + i * stride_c, ldc);
    } else {
      for (index i = 0; i < batch; ++i)
        blas::gemm(trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta,
                   c + i * stride_c, ldc);
    }
  }

  // ---- softmax family (over the last axis of [rows, cols]) -------------------------------
  template <class T>
  static void softmax(index rows, index cols, const T* x, T* y) {
#pragma omp parallel for schedule(static) if (rows * cols > parallel_grain)
    for (index r = 0; r < rows; ++r) kernels::softmax_row(cols, x + r * cols, y + r * cols, fast_exp{});
  }
  // dx += y * (dy - sum(dy * y))
  template <class T>
  static void softmax_backward(index rows, index cols, const T* y, const T* dy, T* dx) {
#pragma omp parallel for schedule(static) if (rows * cols > parallel_grain)
    for (index r = 0; r < rows; ++r) kernels::softmax_backward_row(cols, y + r * cols, dy + r * cols, dx + r * cols);
  }
  template <class T>
  static void log_softmax(index rows, index cols, const T* x, T* y) {
#pragma omp parallel for schedule(static) if (rows * cols > parallel_grain)
    for (index r = 0; r < rows; ++r) kernels::log_softmax_row(cols, x + r * cols, y + r * cols);
  }
  // dx += dy - exp(y) * sum(dy)
  template <class T>
  static void log_softmax_backward(index rows, index cols, const T* y, const T* dy, T* dx) {
#pragma omp parallel for schedule(static) if (rows * cols > parallel_grain)
    for (index r = 0; r < rows; ++r) kernels::log_softmax_backward_row(cols, y + r * cols, dy + r * cols, dx + r * cols);
  }
  // loss[r] = -logp[r, target[r]], or 0 where target[r] == ignore
  template <class T>
  static void nll(index rows, index cols, const T* logp, const std::int32_t* target, std::int32_t ignore, T* loss) {
#pragma omp parallel for schedule(static) if (rows > parallel_grain)
    for (index r = 0; r < rows; ++r) loss[r] = kernels::nll_row(logp + r * cols, target[r], ignore);
  }
  // dlogp[r, target[r]] -= scalar[0] * factor, where target[r] != ignore
  template <class T>
  static void nll_backward(index rows, index cols, const std::int32_t* target, std::int32_t ignore, const T* scalar,
                           T factor, T* dlogp) {
    const T v = scalar[0] * factor;
    for (index r = 0; r < rows; ++r) kernels::nll_backward_row(target[r], ignore, v, dlogp + r * cols);
  }

  // ---- normalisation ---------------------------------------------------------------------
  // y = (x - mean) * rstd * gamma + beta per row; gamma/beta may be null; saves mean and rstd.
  template <class T>
  static void layer_norm(index rows, index cols, const T* x, const T* gamma, const T* beta, double eps, T* y,
                         T* mean, T* rstd) {
#pragma omp parallel for schedule(static) if (rows * cols > parallel_grain)
    for (index r = 0; r < rows; ++r) kernels::layer_norm_row(cols, x + r * cols, gamma, beta, eps, y + r * cols, mean[r], rstd[r]);
  }
  template <class T>
  static void layer_norm_backward(index rows, index cols, const T* x, const T* gamma, const T* mean, const T* rstd,
                                  const T* dy, T* dx, T* dgamma, T* dbeta) {
    norm_backward(rows, cols, x, gamma, mean, rstd, dy, dx, dgamma, dbeta);
  }
  // y = x * rstd * gamma with rstd = 1 / sqrt(mean(x^2) + eps); saves rstd.
  template <class T>
  static void rms_norm(index rows, index cols, const T* x, const T* gamma, double eps, T* y, T* rstd) {
#pragma omp parallel for schedule(static) if (rows * cols > parallel_grain)
    for (index r = 0; r < rows; ++r) kernels::rms_norm_row(cols, x + r * cols, gamma, eps, y + r * cols, rstd[r]);
  }
  template <class T>
  static void rms_norm_backward(index rows, index cols, const T* x, const T* gamma, const T* rstd, const T* dy,
                                T* dx, T* dgamma) {
    norm_backward(rows, cols, x, gamma, static_cast<const T*>(nullptr), rstd, dy, dx, dgamma, static_cast<T*>(nullptr));
  }

  // ---- embeddings --------------------------------------------------------------------------
  template <class T>
  static void gather_rows(index n, index cols, const T* table, const std::int32_t* ids, T* y) {
#pragma omp parallel for schedule(static) if (n * cols > parallel_grain)
    for (index i = 0; i < n; ++i) std::memcpy(y + i * cols, table + index(ids[i]) * cols, sizeof(T) * std::size_t(cols));
  }
  // dtable[ids[i], :] += dy[i, :]; threads split the columns so repeated ids never race.
  template <class T>
  static void scatter_add_rows(index n, index cols, const T* dy, const std::int32_t* ids, T* dtable) {
#pragma omp parallel if (n * cols > parallel_grain)
    {
      const index nt = omp_get_num_threads(), t = omp_get_thread_num();
      const index c0 = cols * t / nt, c1 = cols * (t + 1) / nt;
      for (index i = 0; i < n; ++i) {
        T* dst = dtable + index(ids[i]) * cols; const T* src = dy + i * cols;
        for (index c = c0; c < c1; ++c) dst[c] += src[c];
      }
    }
  }

  // ---- attention -------------------------------------------------------------------------
  // out = softmax(scale * q k^T + masks) v per (batch, head), without copying heads apart.
  // key_mask [batch, k_len] (null: all keys valid) zeroes padded keys; probs [batch, heads,
  // q_len, k_len] is kept for the backward pass and for attention probing.
  template <class T>
  static void attention_forward(const attention_dims& d, const T* q, const T* k, const T* v,
                                const std::int32_t* key_mask, T* probs, T* out) {
    const index pairs = d.batch * d.heads, D = d.head_dim;
#pragma omp parallel for schedule(dynamic)
    for (index p = 0; p < pairs; ++p) {
      const index b = p / d.heads, h = p % d.heads, g = h / d.group();
      const T* qh = q + b * d.q_len * d.ldq + h * D;
      const T* kg = k + b * d.k_len * d.ldk + g * D;
      const T* vg = v + b * d.k_len * d.ldv + g * D;
      T* P = probs + p * d.q_len * d.k_len;
      blas::gemm(false, true, d.q_len, d.k_len, D, static_cast<T>(d.scale), qh, d.ldq, kg, d.ldk, T(0), P, d.k_len);
      const std::int32_t* km = key_mask ? key_mask + b * d.k_len : nullptr;
      for (index i = 0; i < d.q_len; ++i) kernels::attention_softmax_row(d, i, km, P + i * d.k_len, fast_exp{});
      blas::gemm(false, false, d.q_len, D, d.k_len, T(1), P, d.k_len, vg, d.ldv, T(0), out + b * d.q_len * d.ldo + h * D, d.ldo);
    }
  }
  // dq, dk, dv accumulate; threads own one (batch, kv head) each so GQA groups never race.
  template <class T>
  static void attention_backward(const attention_dims& d, const T* q, const T* k, const T* v, const T* probs,
                                 const T* dout, T* dq, T* dk, T* dv) {
    const index pairs = d.batch * d.kv_heads, D = d.head_dim, G = d.group();
#pragma omp parallel
    {
      std::vector<T> dP(static_cast<std::size_t>(d.q_len * d.k_len));
#pragma omp for schedule(dynamic)
      for (index p = 0; p < pairs; ++p) {
        const index b = p / d.kv_heads, g = p % d.kv_heads;
        const T* kg = k + b * d.k_len * d.ldk + g * D;
        const T* vg = v + b * d.k_len * d.ldv + g * D;
        for (index h = g * G; h < (g + 1) * G; ++h) {
          const T* P = probs + (b * d.heads + h) * d.q_len * d.k_len;
          const T* qh = q + b * d.q_len * d.ldq + h * D;
          const T* gh = dout + b * d.q_len * d.ldo + h * D;
          if (dv) blas::gemm(true, false, d.k_len, D, d.q_len, T(1), P, d.k_len, gh, d.ldo, T(1), dv + b * d.k_len * d.ldv + g * D, d.ldv);
          if (!dq && !dk) continue;
          blas::gemm(false, true, d.q_len, d.k_len, D, T(1), gh, d.ldo, vg, d.ldv, T(0), dP.data(), d.k_len);
          for (index i = 0; i < d.q_len; ++i)
            kernels::attention_scores_grad_row(d.k_len, static_cast<T>(d.scale), P + i * d.k_len, dP.data() + i * d.k_len);
          if (dq) blas::gemm(false, false, d.q_len, D, d.k_len, T(1), dP.data(), d.k_len, kg, d.ldk, T(1), dq + b * d.q_len * d.ldq + h * D, d.ldq);
          if (dk) blas::gemm(true, false, d.k_len, D, d.q_len, T(1), dP.data(), d.k_len, qh, d.ldq, T(1), dk + b * d.k_len * d.ldk + g * D, d.ldk);
        }
      }
    }
  }

  // ---- rotary positions --------------------------------------------------------------------
  // y = R(pos) x (inverse: R(-pos) x, the backward pass), plus beta * y.
  template <class T>
  static void rope(const rope_dims& d, const T* x, const std::int32_t* positions, bool inverse, T beta, T* y) {
    const index half = d.rotary_dim / 2;
#pragma omp parallel for schedule(static) if (d.rows * d.heads * d.head_dim > parallel_grain)
    for (index r = 0; r < d.rows; ++r)
      for (index h = 0; h < d.heads; ++h) {
        const T* xh = x + r * d.ldx + h * d.head_dim;
        T* yh = y + r * d.ldy + h * d.head_dim;
        for (index i = 0; i < half; ++i) kernels::rope_pair(d, xh, positions[r], i, inverse, beta, yh);
        for (index i = d.rotary_dim; i < d.head_dim; ++i) kernels::rope_pass(xh, i, beta, yh);
      }
  }

  // ---- noisy masks (VIB: a sample mu + eps * sigma per row, times x) ---------------------
  // y[r, c] = x[r, c] * (eps[r, c] * sigma[c] + mu[c])
  template <class T>
  static void noisy_scale(index rows, index cols, const T* x, const T* eps, const T* mu, const T* sigma, T* y) {
#pragma omp parallel for schedule(static) if (rows * cols > parallel_grain)
    for (index r = 0; r < rows; ++r) {
      const T* xr = x + r * cols; const T* er = eps + r * cols; T* yr = y + r * cols;
#pragma omp simd
      for (index c = 0; c < cols; ++c) yr[c] = xr[c] * (er[c] * sigma[c] + mu[c]);
    }
  }
  // Its backward pass in one sweep: dx = dy * (eps * sigma + mu) + beta * dx (beta 0 overwrites),
  // dmu[c] += sum_r dy * x, dsigma[c] += sum_r dy * x * eps; a null output is skipped.
  template <class T>
  static void noisy_scale_backward(index rows, index cols, const T* x, const T* eps, const T* mu, const T* sigma, const T* dy, T beta,
                                   T* dx, T* dmu, T* dsigma) {
    const bool sums = dmu || dsigma;
    // per-thread partial sums, combined in thread order so results do not depend on timing
    std::vector<std::vector<double>> parts(static_cast<std::size_t>(omp_get_max_threads()));
#pragma omp parallel if (rows * cols > parallel_grain)
    {
      auto& part = parts[static_cast<std::size_t>(omp_get_thread_num())];
      part.assign(sums ? 2 * static_cast<std::size_t>(cols) : 0, 0.0);
      double* pm = part.data();
      double* ps = pm + (sums ? cols : 0);
#pragma omp for schedule(static)
      for (index r = 0; r < rows; ++r) {
        const T* xr = x + r * cols; const T* er = eps + r * cols; const T* gr = dy + r * cols;
        if (dx) {
          T* dr = dx + r * cols;
          if (beta == T(0)) {
#pragma omp simd
            for (index c = 0; c < cols; ++c) dr[c] = gr[c] * (er[c] * sigma[c] + mu[c]);
          } else {
#pragma omp simd
            for (index c = 0; c < cols; ++c) dr[c] += gr[c] * (er[c] * sigma[c] + mu[c]);
          }
        }
        if (sums) {
#pragma omp simd
          for (index c = 0; c < cols; ++c) {
            const T t = gr[c] * xr[c];
            pm[c] += t;
            ps[c] += t * er[c];
          }
        }
      }
    }
    for (index c = 0; c < cols && sums; ++c) {
      double sm = 0, ss = 0;
      for (auto& part : parts)
        if (!part.empty()) sm += part[std::size_t(c)], ss += part[std::size_t(cols + c)];
      if (dmu) dmu[c] += static_cast<T>(sm);
      if (dsigma) dsigma[c] += static_cast<T>(ss);
    }
  }

  // ---- random numbers (counter-based: same numbers on every backend) -------------------
  // ---- ranking (CoFi's keep rule) --------------------------------------------------------
  // y[i] = 0 for the round(n - kept[0]) lowest scores (equal scores: the lower index first), else
  // 1 (kernels/rank.hpp); kept is in backend memory, so the decision needs no host read. Here
  // by a stable sort, n log n: a unit's place in it is the count the per-unit rule makes (n^2,
  // 121 million comparisons for one of LLaMA-7B's FFN layers). NaN scores, which a sort cannot
  // order, take the per-unit rule.
  template <class T>
  static void keep_highest(index n, const T* score, const T* kept, T* y) {
    const index drop = kernels::drop_count(n, double(kept[0]));
    if (std::any_of(score, score + n, [](T v) { return v != v; })) {
#pragma omp parallel for schedule(static) if (n * n > parallel_grain)
      for (index i = 0; i < n; ++i) y[i] = kernels::kept_after_dropping_lowest(n, score, i, drop);
      return;
    }
    std::vector<index> order(static_cast<std::size_t>(n));
    for (index i = 0; i < n; ++i) order[std::size_t(i)] = i;
    std::stable_sort(order.begin(), order.end(), [score](index a, index b) { return score[a] < score[b]; });
    for (index r = 0; r < n; ++r) y[order[std::size_t(r)]] = r < drop ? T(0) : T(1);
  }

  template <class T>
  static void random_uniform(index n, std::uint64_t seed, std::uint64_t offset, T* y) {
#pragma omp parallel for schedule(static) if (n > parallel_grain)
    for (index i = 0; i < n; ++i) y[i] = static_cast<T>(math::uniform(seed, offset + std::uint64_t(i)));
  }
  template <class T>
  static void random_normal(index n, std::uint64_t seed, std::uint64_t offset, T* y) {
    if (n <= 0) return;
    // whole Box-Muller pairs k cover draws 2k and 2k+1; the first and last may lie half outside
    const std::uint64_t mixed = math::mix64(seed);
    const index first = index(offset / 2), last = index((offset + std::uint64_t(n) - 1) / 2);
    const index blocks = (last - first + 4) / 4;  // four pairs at a time
#pragma omp parallel for schedule(static) if (n > parallel_grain / 8)
    for (index b = 0; b < blocks; ++b) {
      const index k0 = first + 4 * b;
      float even[4], odd[4];
      normal_pairs_x4(mixed, std::uint64_t(k0), even, odd);
      for (index j = 0; j < 4 && k0 + j <= last; ++j) {
        const index i = 2 * (k0 + j) - index(offset);
        if (i >= 0) y[i] = static_cast<T>(even[j]);
        if (i + 1 < n) y[i + 1] = static_cast<T>(odd[j]);
      }
    }
  }
  // y = 1[u >= p] / (1 - p): the scaled keep mask of inverted dropout
  template <class T>
  static void dropout_mask(index n, double p, std::uint64_t seed, std::uint64_t offset, T* y) {
    const T keep = static_cast<T>(1.0 / (1.0 - p));
#pragma omp parallel for schedule(static) if (n > parallel_grain)
    for (index i = 0; i < n; ++i) y[i] = math::dropout_value(p, keep, seed, offset + std::uint64_t(i));
  }

  // ---- optimiser -------------------------------------------------------------------------
  // One AdamW step (decoupled weight decay): m, v moments; bias corrections c1 = 1 - beta1^t, c2 = 1 - beta2^t.
  template <class T>
  static void adamw(index n, T* param, const T* grad, T* m, T* v, double lr, double beta1, double beta2, double eps,
                    double weight_decay, double c1, double c2) {
    const kernels::adamw_step step{lr, beta1, beta2, eps, weight_decay, c1, c2};
#pragma omp parallel for schedule(static) if (n > parallel_grain)
    for (index i = 0; i < n; ++i) step(param[i], grad[i], m[i], v[i]);
  }

 private:
  // f(i, b_value) for every element i of [rows, cols], b spread by `mode`: one straight loop per
  // mode, so the compiler vectorises each (f must only touch element i).
  template <class T, class F>
  static void broadcast_loop(index rows, index cols, const T* b, broadcast mode, F f) {
    const index n = rows * cols;
    switch (mode) {
      case broadcast::none:
#pragma omp parallel for simd schedule(static) if (n > parallel_grain)
        for (index i = 0; i < n; ++i) f(i, b[i]);
        return;
      case broadcast::scalar: {
        const T bv = b[0];
#pragma omp parallel for simd schedule(static) if (n > parallel_grain)
        for (index i = 0; i < n; ++i) f(i, bv);
        return;
      }
      case broadcast::row:
#pragma omp parallel for schedule(static) if (n > parallel_grain)
        for (index r = 0; r < rows; ++r) {
          const index base = r * cols;
#pragma omp simd
          for (index c = 0; c < cols; ++c) f(base + c, b[c]);
        }
        return;
      case broadcast::column:
#pragma omp parallel for schedule(static) if (n > parallel_grain)
        for (index r = 0; r < rows; ++r) {
          const index base = r * cols;
          const T bv = b[r];
#pragma omp simd
          for (index c = 0; c < cols; ++c) f(base + c, bv);
        }
        return;
    }
  }

  // ---- fp32 elementary functions, 4 lanes at a time ----------------------------------------
  // The build targets baseline x86-64 / aarch64 with IEEE trapping semantics, under which GCC
  // will not auto-vectorise the clamps these need, so they are written with GCC/Clang vector
  // extensions (SSE2 / NEON registers); other compilers get the libm functions.
#if defined(__GNUC__)
  typedef float f32x4 __attribute__((vector_size(16)));
  typedef std::int32_t i32x4 __attribute__((vector_size(16)));
  // exp(x) for x <= 88 (callers pass x <= 0): 2^n * p(r), Cephes' expf polynomial, within 2 ulp
  // of expf; results below FLT_MIN flush to 0. NaN propagates.
  static inline f32x4 exp_f32x4(f32x4 x) {
    const f32x4 hi = f32x4{} + 88.0f, lo = f32x4{} - 87.33654475f, magic = f32x4{} + 12582912.0f;
    f32x4 xc = x > hi ? hi : x;
    xc = xc < lo ? lo : xc;
    const f32x4 fn = (xc * 1.44269504088896341f + magic) - magic;  // round to nearest integer
    f32x4 r = xc - fn * 0.693359375f;
    r = r - fn * -2.12194440e-4f;
    const f32x4 r2 = r * r;
    f32x4 p = f32x4{} + 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r2 + r + 1.0f;
    i32x4 bits = (__builtin_convertvector(fn, i32x4) + 127) << 23;
    bits = x < lo ? i32x4{} : bits;
    return p * (f32x4)bits;
  }
  // erf(x): rational minimax approximation on [-4, 4] (Eigen's fast erf, |error| < 2e-7), +-1
  // beyond, where erf rounds to +-1 in fp32 anyway.
  static inline f32x4 erf_f32x4(f32x4 x) {
    const f32x4 four = f32x4{} + 4.0f, minus_four = f32x4{} - 4.0f;
    f32x4 a = x < minus_four ? minus_four : x;
    a = a > four ? four : a;
    const f32x4 x2 = a * a;
    f32x4 p = f32x4{} - 2.72614225801306e-10f;
    p = p * x2 + 2.77068142495902e-08f;
    p = p * x2 + -2.10102402082508e-06f;
    p = p * x2 + -5.69250639462346e-05f;
    p = p * x2 + -7.34990630326855e-04f;
    p = p * x2 + -2.95459980854025e-03f;
    p = p * x2 + -1.60960333262415e-02f;
    f32x4 q = f32x4{} - 1.45660718464996e-05f;
    q = q * x2 + -2.13374055278905e-04f;
    q = q * x2 + -1.68282697438203e-03f;
    q = q * x2 + -7.37332916720468e-03f;
    q = q * x2 + -1.42647390514189e-02f;
    return a * p / q;
  }
  static inline f32x4 gelu_f32x4(f32x4 x) { return 0.5f * x * (1.0f + erf_f32x4(x * 0.70710678118654752440f)); }
  static inline f32x4 gelu_derivative_f32x4(f32x4 x) {
    return 0.5f * (1.0f + erf_f32x4(x * 0.70710678118654752440f)) +
           x * 0.39894228040143267794f * exp_f32x4(-0.5f * x * x);
  }
  // out[i] = f(in[i]) over n floats, 4 at a time, the tail padded with zeros
  template <class F>
  static void map_f32x4(index n, const float* in, float* out, F f) {
    index i = 0;
    for (; i + 4 <= n; i += 4) {
      f32x4 v;
      std::memcpy(&v, in + i, sizeof v);
      v = f(v);
      std::memcpy(out + i, &v, sizeof v);
    }
    if (i < n) {
      f32x4 v{};
      const std::size_t bytes = sizeof(float) * static_cast<std::size_t>(n - i);
      std::memcpy(&v, in + i, bytes);
      v = f(v);
      std::memcpy(out + i, &v, bytes);
    }
  }
  typedef std::uint32_t u32x4 __attribute__((vector_size(16)));
  // math::bulk_normal_pair for pairs k0 .. k0 + 3, the polynomials 4 lanes at a time: the same
  // operations per lane as the scalar code, so the same bits as every other backend.
  static void normal_pairs_x4(std::uint64_t mixed, std::uint64_t k0, float* even, float* odd) {
    f32x4 u1, u2;
    for (int j = 0; j < 4; ++j) math::normal_uniforms(mixed, k0 + std::uint64_t(j), u1[j], u2[j]);
    const f32x4 l = math::log_unit<f32x4, u32x4>(u1);
    f32x4 r, c, s;
    for (int j = 0; j < 4; ++j) r[j] = std::sqrt(-2.0f * l[j]);
    math::cos_sin(6.28318531f * u2 - 3.14159265f, c, s);
    const f32x4 e = r * c, o = r * s;
    std::memcpy(even, &e, sizeof e);
    std::memcpy(odd, &o, sizeof o);
  }
  static void exp_inplace_f32(index n, float* x) { map_f32x4(n, x, x, [](f32x4 v) { return exp_f32x4(v); }); }
  static void gelu_f32(index n, const float* x, float* y) { map_f32x4(n, x, y, [](f32x4 v) { return gelu_f32x4(v); }); }
  static void gelu_backward_f32(index n, const float* x, const float* dy, float* dx) {
    constexpr index chunk = 256;
    float d[chunk];
    for (index i0 = 0; i0 < n; i0 += chunk) {
      const index m = std::min(chunk, n - i0);
      map_f32x4(m, x + i0, d, [](f32x4 v) { return gelu_derivative_f32x4(v); });
#pragma omp simd
      for (index i = 0; i < m; ++i) dx[i0 + i] += dy[i0 + i] * d[i];
    }
  }
#else
  static void normal_pairs_x4(std::uint64_t mixed, std::uint64_t k0, float* even, float* odd) {
    for (int j = 0; j < 4; ++j) math::bulk_normal_pair(mixed, k0 + std::uint64_t(j), even[j], odd[j]);
  }
  static void exp_inplace_f32(index n, float* x) { for (index i = 0; i < n; ++i) x[i] = std::exp(x[i]); }
  static void gelu_f32(index n, const float* x, float* y) {
    for (index i = 0; i < n; ++i) y[i] = math::apply(math::unary_op::gelu, x[i]);
  }
  static void gelu_backward_f32(index n, const float* x, const float* dy, float* dx) {
    for (index i = 0; i < n; ++i) dx[i] += dy[i] * math::derivative(math::unary_op::gelu, x[i], x[i]);
  }
#endif
  // v[j] = exp(v[j] - shift): the 4-lane exp for fp32, libm for double (the exponential the
  // shared softmax rows of tensor/kernels/ call on this backend)
  struct fast_exp {
    void operator()(index n, float* v, float shift) const {
#pragma omp simd
      for (index j = 0; j < n; ++j) v[j] -= shift;
      exp_inplace_f32(n, v);
    }
    void operator()(index n, double* v, double shift) const { kernels::exp_shifted{}(n, v, shift); }
  };
  // Element ranges of at least `grain` for a parallel loop over n elements.
  template <class F>
  static void parallel_ranges(index n, index grain, F f) {
    const index chunks = std::max<index>(1, std::min<index>(omp_get_max_threads() * 4, n / grain));
#pragma omp parallel for schedule(static) if (chunks > 1)
    for (index c = 0; c < chunks; ++c) {
      const index b = n * c / chunks, e = n * (c + 1) / chunks;
      // keep range starts on 4-float boundaries so every range but the last runs full vectors
      const index b4 = c == 0 ? 0 : b - b % 4, e4 = c == chunks - 1 ? n : e - e % 4;
      if (e4 > b4) f(b4, e4);
    }
  }

  // Sum of f(i) in double, with per-thread partials added in thread order: the same bits on
  // every run with the same thread count (OpenMP's reduction clause leaves the order open).
  template <class F>
  static double ordered_sum(index n, F f) {
    std::vector<double> parts(static_cast<std::size_t>(omp_get_max_threads()), 0.0);
#pragma omp parallel if (n > parallel_grain)
    {
      double s = 0;
#pragma omp for schedule(static)
      for (index i = 0; i < n; ++i) s += f(i);
      parts[static_cast<std::size_t>(omp_get_thread_num())] = s;
    }
    double total = 0;
    for (double p : parts) total += p;
    return total;
  }
  template <class T>
  static double dot_impl(index n, const T* x, const T* y) {
    return ordered_sum(n, [&](index i) { return double(x[i]) * (y ? double(y[i]) : 1.0); });
  }
  // Backward of layer norm (mean given) and RMS norm (mean null): dx row by row; dgamma and dbeta
  // as per-thread partial sums over the thread's rows, combined in thread order (deterministic for
  // a given thread count).
  template <class T>
  static void norm_backward(index rows, index cols, const T* x, const T* gamma, const T* mean, const T* rstd,
                            const T* dy, T* dx, T* dgamma, T* dbeta) {
    const std::size_t ng = dgamma ? std::size_t(cols) : 0, nb = dbeta ? std::size_t(cols) : 0;
    std::vector<std::vector<double>> parts_g(static_cast<std::size_t>(omp_get_max_threads()));
    std::vector<std::vector<double>> parts_b(parts_g.size());
#pragma omp parallel if (rows * cols > parallel_grain)
    {
      auto& pg = parts_g[std::size_t(omp_get_thread_num())];
      auto& pb = parts_b[std::size_t(omp_get_thread_num())];
      pg.assign(ng, 0.0); pb.assign(nb, 0.0);
      double* pgd = dgamma ? pg.data() : nullptr;
      double* pbd = dbeta ? pb.data() : nullptr;
#pragma omp for schedule(static)
      for (index r = 0; r < rows; ++r) {
        const T* m = mean ? mean + r : nullptr;
        if (pgd || pbd) kernels::norm_param_grads_add_row(cols, x + r * cols, m, rstd[r], dy + r * cols, pgd, pbd);
        if (dx) kernels::norm_backward_row(cols, x + r * cols, gamma, m, rstd[r], dy + r * cols, dx + r * cols);
      }
    }
    for (std::size_t c = 0; c < ng; ++c) {
      double s = 0;
      for (auto& p : parts_g) if (!p.empty()) s += p[c];
      dgamma[c] += static_cast<T>(s);
    }
    for (std::size_t c = 0; c < nb; ++c) {
      double s = 0;
      for (auto& p : parts_b) if (!p.empty()) s += p[c];
      dbeta[c] += static_cast<T>(s);
    }
  }
};

}  // namespace vtrans
