#pragma once
// What every benchmark measures the same way: a clock (wall, or with --cpu-clock the process CPU
// time of all threads, which other processes' load on a shared machine disturbs far less), the
// median of repeated timings, and this process's memory from /proc/self/status.
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace vtrans_bench {

inline bool& use_cpu_clock() {
  static bool on = false;
  return on;
}
inline double wall_now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
inline double now() {
  if (!use_cpu_clock()) return wall_now();
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// VmHWM / VmRSS in MiB; writing 5 to clear_refs resets the high-water mark to the current RSS.
inline double status_mib(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const std::size_t len = std::strlen(key);
  while (std::getline(f, line))
    if (line.compare(0, len, key) == 0) return std::atof(line.c_str() + len + 1) / 1024.0;
  return -1;
}
inline bool reset_peak() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.flush();
  return static_cast<bool>(f);
}
inline long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

}  // namespace vtrans_bench
