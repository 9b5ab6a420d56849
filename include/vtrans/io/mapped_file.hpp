#pragma once
// A whole file mapped read-only into memory (POSIX mmap), so large checkpoints are paged in on demand
// instead of being copied into the heap; and whole-file reads with a size cap.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vtrans/io/errors.hpp"

namespace vtrans::io {

class mapped_file {
 public:
  mapped_file() = default;

  explicit mapped_file(const std::string& path) : path_(path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) detail::fail_os("cannot open", path, errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      int e = errno;
      ::close(fd);
      detail::fail_os("cannot stat", path, e);
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      throw file_error("cannot map " + path + ": not a regular file");
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ > 0) {  // mmap of length 0 is an error; an empty file simply has no bytes
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        int e = errno;
        ::close(fd);
        detail::fail_os("cannot mmap", path, e);
      }
      data_ = static_cast<const unsigned char*>(p);
    }
    ::close(fd);  // the mapping stays valid without the descriptor
  }

  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;
  mapped_file(mapped_file&& o) noexcept
      : path_(std::move(o.path_)), data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  mapped_file& operator=(mapped_file&& o) noexcept {
    if (this != &o) {
      unmap();
      path_ = std::move(o.path_);
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  ~mapped_file() { unmap(); }

  const unsigned char* data() const { return data_; }
  std::size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  void unmap() {
    if (data_) ::munmap(const_cast<unsigned char*>(data_), size_);
    data_ = nullptr;
    size_ = 0;
  }

  std::string path_;
  const unsigned char* data_ = nullptr;
  std::size_t size_ = 0;
};

// The bytes of a file as a string; a file larger than max_bytes is refused before it is read.
inline std::string read_whole_file(const std::string& path, std::uint64_t max_bytes) {
  const mapped_file map(path);
  if (map.size() > max_bytes) detail::fail_limit(path, "file size", map.size(), max_bytes);
  try {
    return std::string(reinterpret_cast<const char*>(map.data()), map.size());
  } catch (const std::bad_alloc&) {
    throw resource_error(path + ": " + std::to_string(map.size()) + " bytes do not fit in memory");
  }
}

}  // namespace vtrans::io
