#pragma once
// Atomic file replacement: bytes go to a temporary file in the destination's folder, which is
// fsync'ed and then renamed over the destination. Readers see the old file or the complete new
// one, never a half-written file; on any failure the temporary file is removed. A whole folder
// (a model with its side files) is published the same way by folder_writer. Temporaries are
// named ".NAME.tmp-PID[-N]", so those of a killed process are recognised and removed later.
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vtrans/error.hpp"
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

namespace detail {

// The process id in a temporary's name ".NAME.tmp-PID" or ".NAME.tmp-PID-N"; 0 for any other name.
inline long temporary_owner(const std::string& name) {
  const auto at = name.rfind(".tmp-");
  if (name.empty() || name[0] != '.' || at == std::string::npos || at == 0) return 0;
  std::size_t i = at + 5, digits = 0;
  long pid = 0;
  for (; i < name.size() && name[i] >= '0' && name[i] <= '9' && digits < 10; ++i, ++digits) pid = pid * 10 + (name[i] - '0');
  if (digits == 0) return 0;
  if (i < name.size()) {  // an optional "-N" counter, nothing else
    if (name[i] != '-' || i + 1 == name.size()) return 0;
    for (++i; i < name.size(); ++i)
      if (name[i] < '0' || name[i] > '9') return 0;
  }
  return pid;
}

inline bool process_alive(long pid) { return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

inline void sync_folder(const std::string& dir) {
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {  // best effort: some filesystems refuse fsync on folders
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace detail

// Removes the temporaries (files or folders) in `dir` left by processes that no longer run, so a
// killed run's debris disappears on the next run; a live process's temporaries are left alone.
// Returns how many were removed. A folder that cannot be listed is left as it is.
inline std::size_t remove_stale_temporaries(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> stale;
  for (fs::directory_iterator it(dir.empty() ? "." : dir, ec), end; !ec && it != end; it.increment(ec)) {
    const long pid = detail::temporary_owner(it->path().filename().string());
    if (pid > 0 && pid != long(::getpid()) && !detail::process_alive(pid)) stale.push_back(it->path());
  }
  std::size_t removed = 0;
  for (const auto& p : stale) removed += fs::remove_all(p, ec) > 0 && !ec;
  return removed;
}

// Checks, before any work, that a file can be written at `path` by atomic_writer: not a folder,
// inside an existing folder this process may write to. `label` names it in messages ("--output").
inline void check_output_file(const std::string& path, const std::string& label = "output") {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path p(path);
  if (p.filename().empty() || fs::is_directory(p, ec)) throw usage_error(label + " " + path + ": is a folder, not a file name");
  const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  if (!fs::is_directory(dir, ec)) throw usage_error(label + " " + path + ": folder " + dir.string() + " does not exist");
  if (::access(dir.c_str(), W_OK) != 0) detail::fail_os("cannot write into the folder of", label + " " + path, errno);
  remove_stale_temporaries(dir.string());
}

// Creates a folder that files are written into one by one (atomic_writer each), after checking
// it is not a file, and clears killed runs' temporaries from it. For a folder whose files belong
// together (a model), use folder_writer instead.
inline void make_output_folder(const std::string& path, const std::string& label = "output folder") {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(path, ec) && !fs::is_directory(path, ec)) throw usage_error(label + " " + path + ": exists and is not a folder");
  fs::create_directories(path, ec);
  if (ec) detail::fail_os("cannot create", label + " " + path, ec.value());
  remove_stale_temporaries(path);
}

// An output folder assembled in a temporary folder beside it (".NAME.tmp-PID", or a given
// staging folder) and published whole by commit(): readers see the old folder or the complete
// new one, never a mix. The destination is checked when the writer is made, before any work:
// it must not be a file, and an existing non-empty folder is replaced only when `replace` is
// set. Destroying the writer without commit() removes the staging folder unless keep_staging().
class folder_writer {
 public:
  // `label` names the folder in messages ("--out"); `staging` defaults to ".NAME.tmp-PID".
  folder_writer(const std::string& target, bool replace, const std::string& label = "output folder", std::string staging = "")
      : target_(target), label_(label), replace_(replace) {
    namespace fs = std::filesystem;
    fs::path t(target_);
    if (t.filename().empty() || t.filename() == "." || t.filename() == "..") t = fs::absolute(t).lexically_normal();
    if (t.filename().empty()) t = t.parent_path();
    if (t.filename().empty()) throw usage_error(label_ + " " + target_ + ": not a folder name that can be replaced");
    target_ = t.string();
    check_target();
    const fs::path parent = t.parent_path();
    std::error_code ec;
    if (!parent.empty()) {
      fs::create_directories(parent, ec);
      if (ec || !fs::is_directory(parent)) detail::fail_os("cannot create the folder of", label_ + " " + target_, ec ? ec.value() : ENOTDIR);
    }
    remove_stale_temporaries(parent.string());
    remove_stale_temporaries(target_);
    staging_ = staging.empty() ? (parent / ("." + t.filename().string() + ".tmp-" + std::to_string(::getpid()))).string() : staging;
    if (staging.empty()) fs::remove_all(staging_, ec);  // this process's own leftover from an earlier writer
    else remove_stale_temporaries(staging_);             // a kept staging folder (a resumable run): its killed writes
    if (!fs::is_directory(staging_) && ::mkdir(staging_.c_str(), 0777) != 0)
      detail::fail_os("cannot create a temporary folder for", label_ + " " + target_, errno);
  }

  folder_writer(folder_writer&& o) noexcept
      : target_(std::move(o.target_)), label_(std::move(o.label_)), staging_(std::move(o.staging_)), replace_(o.replace_),
        committed_(o.committed_), keep_(o.keep_) {
    o.keep_ = true;  // the moved-from writer no longer owns the staging folder
  }
  folder_writer(const folder_writer&) = delete;
  folder_writer& operator=(const folder_writer&) = delete;
  folder_writer& operator=(folder_writer&&) = delete;

  ~folder_writer() {
    if (committed_ || keep_) return;
    std::error_code ec;
    std::filesystem::remove_all(staging_, ec);
  }

  // Where the folder's files are written until commit().
  const std::string& path() const { return staging_; }
  const std::string& target() const { return target_; }
  // Leave the staging folder in place if the writer is abandoned (a run that can be resumed).
  void keep_staging() { keep_ = true; }

  // Publishes the staging folder under the target's name. An old folder is swapped out in one
  // rename (RENAME_EXCHANGE) and then removed.
  void commit() {
    namespace fs = std::filesystem;
    check_target();
    detail::sync_folder(staging_);
    std::error_code ec;
    const bool old_exists = fs::exists(target_, ec);
    if (!old_exists || fs::is_empty(target_, ec)) {
      if (old_exists) fs::remove(target_, ec);
      if (::rename(staging_.c_str(), target_.c_str()) != 0) detail::fail_os("cannot rename the temporary folder onto", target_, errno);
    } else if (::renameat2(AT_FDCWD, staging_.c_str(), AT_FDCWD, target_.c_str(), RENAME_EXCHANGE) == 0) {
      fs::remove_all(staging_, ec);  // now the old folder
    } else {
      // A filesystem without RENAME_EXCHANGE: move the old folder aside, then the new one in.
      const fs::path t(target_);
      const std::string aside_path = (t.parent_path() / ("." + t.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-0")).string();
      if (::rename(target_.c_str(), aside_path.c_str()) != 0) detail::fail_os("cannot move aside the old folder", target_, errno);
      if (::rename(staging_.c_str(), target_.c_str()) != 0) {
        const int err = errno;
        ::rename(aside_path.c_str(), target_.c_str());
        detail::fail_os("cannot rename the temporary folder onto", target_, err);
      }
      fs::remove_all(aside_path, ec);
    }
    committed_ = true;
    detail::sync_folder(fs::path(target_).parent_path().string());
  }

 private:
  void check_target() const {
    namespace fs = std::filesystem;
    std::error_code ec;
    const auto st = fs::status(target_, ec);
    if (!fs::exists(st)) return;
    if (!fs::is_directory(st)) throw usage_error(label_ + " " + target_ + ": exists and is not a folder");
    if (replace_) return;
    std::size_t n = 0;
    std::string first;
    for (fs::directory_iterator it(target_, ec), end; !ec && it != end; it.increment(ec))
      if (detail::temporary_owner(it->path().filename().string()) == 0 && n++ == 0) first = it->path().filename().string();
    if (n > 0)
      throw usage_error(label_ + " " + target_ + ": folder is not empty (" + std::to_string(n) + (n == 1 ? " entry: " : " entries, e.g. ") +
                        first + "); pass --overwrite to replace it");
  }

  std::string target_, label_, staging_;
  bool replace_ = false, committed_ = false, keep_ = false;
};

}  // namespace vtrans::io
