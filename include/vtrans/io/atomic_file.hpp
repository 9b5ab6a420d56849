#pragma once
// Atomic file replacement: bytes go to a temporary file in the destination's folder, which is
// fsync'ed and then renamed over the destination. Readers see the old file or the complete new
// one, never a half-written file; on any failure the temporary file is removed.
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vtrans/io/errors.hpp"

namespace vtrans::io {

// Streams bytes into a temporary file; commit() publishes it under the final name.
// Destroying the writer without commit() removes the temporary file.
class atomic_writer {
 public:
  explicit atomic_writer(std::string path) : path_(std::move(path)) {
    namespace fs = std::filesystem;
    fs::path target(path_);
    fs::path dir = target.parent_path();
    std::string base = target.filename().string();
    if (base.empty()) throw file_error("cannot write " + path_ + ": not a file name");
    static std::atomic<unsigned> counter{0};
    // O_EXCL: never clobber another writer's temporary; retry with a new suffix if one exists.
    for (int attempt = 0; attempt < 100; ++attempt) {
      std::string name = "." + base + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
      tmp_ = (dir.empty() ? fs::path(name) : dir / name).string();
      fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd_ >= 0) break;
      if (errno != EEXIST) detail::fail_os("cannot create temporary file for", path_, errno);
    }
    if (fd_ < 0) detail::fail_os("cannot create temporary file for", path_, EEXIST);
    buffer_.reserve(buffer_size);
  }

  atomic_writer(const atomic_writer&) = delete;
  atomic_writer& operator=(const atomic_writer&) = delete;

  ~atomic_writer() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_ && !tmp_.empty()) ::unlink(tmp_.c_str());
  }

  void write(const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    if (buffer_.size() + n > buffer_size) flush_buffer();
    if (n >= buffer_size) {
      write_all(p, n);  // large blocks bypass the buffer
    } else {
      buffer_.insert(buffer_.end(), p, p + n);
    }
  }
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }

  // Flush, fsync, close and rename over the destination; then fsync the folder so the rename is durable.
  void commit() {
    flush_buffer();
    if (::fsync(fd_) != 0) detail::fail_os("cannot fsync temporary file for", path_, errno);
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) detail::fail_os("cannot close temporary file for", path_, errno);
    if (::rename(tmp_.c_str(), path_.c_str()) != 0) detail::fail_os("cannot rename temporary file onto", path_, errno);
    committed_ = true;
    std::string dir = std::filesystem::path(path_).parent_path().string();
    int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {  // best effort: some filesystems refuse fsync on folders
      ::fsync(dfd);
      ::close(dfd);
    }
  }

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return tmp_; }

 private:
  static constexpr std::size_t buffer_size = std::size_t{1} << 20;

  void flush_buffer() {
    if (!buffer_.empty()) write_all(buffer_.data(), buffer_.size());
    buffer_.clear();
  }

  void write_all(const unsigned char* p, std::size_t n) {
    while (n > 0) {
      ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        detail::fail_os("cannot write temporary file for", path_, errno);
      }
      p += w;
      n -= static_cast<std::size_t>(w);
    }
  }

  std::string path_;
  std::string tmp_;
  int fd_ = -1;
  bool committed_ = false;
  std::vector<unsigned char> buffer_;
};

inline void write_file_atomic(const std::string& path, const void* data, std::size_t size) {
  atomic_writer w(path);
  w.write(data, size);
  w.commit();
}

inline void write_file_atomic(const std::string& path, std::string_view bytes) {
  write_file_atomic(path, bytes.data(), bytes.size());
}

}  // namespace vtrans::io
