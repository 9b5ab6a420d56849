#pragma once
// Training/evaluation progress. On a terminal: one line redrawn in place with '\r' (phase,
// bar, step/total, loss, throughput, elapsed<ETA). Elsewhere (logs, CI): plain lines every N
// steps or every T seconds, so log files stay readable.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include <unistd.h>

namespace vtrans::train {

enum class progress_style { automatic, bar, lines, silent };

struct progress_options {
  progress_style style = progress_style::automatic;  // automatic: bar iff the stream is a tty
  std::ostream* out = nullptr;                        // nullptr: std::cerr
  std::int64_t log_every_steps = 0;                   // lines: also print every N steps (0: off)
  double log_every_seconds = 10.0;                    // lines: print when this much time passed
  double redraw_seconds = 0.1;                        // bar: at most this often
  int bar_width = 20;
  std::string unit = "it";                            // throughput unit ("ex", "tok", …)
  std::function<double()> clock;                      // seconds; default: steady_clock
};

class progress {
 public:
  progress(std::string phase, std::int64_t total, progress_options opt = {})
      : phase_(std::move(phase)), total_(total), opt_(std::move(opt)) {
    if (!opt_.out) opt_.out = &std::cerr;
    if (!opt_.clock) {
      opt_.clock = [] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
      };
    }
    if (opt_.style == progress_style::automatic) {
      int fd = opt_.out == &std::cerr || opt_.out == &std::clog ? 2 : opt_.out == &std::cout ? 1 : -1;
      opt_.style = fd >= 0 && ::isatty(fd) ? progress_style::bar : progress_style::lines;
    }
    start_ = last_print_ = opt_.clock();
  }
  progress(const progress&) = delete;
  progress& operator=(const progress&) = delete;
  ~progress() {
    if (!finished_) finish();
  }

  progress_style style() const { return opt_.style; }

  // `step` completed steps so far (absolute), the step's loss when known, items it processed.
  void update(std::int64_t step, std::optional<double> loss = std::nullopt, double items = 0) {
    step_ = step;
    items_ += items;
    if (loss && std::isfinite(*loss)) {
      ema_ = has_loss_ ? 0.9 * ema_ + 0.1 * *loss : *loss;
      has_loss_ = true;
      window_sum_ += *loss;
      ++window_n_;
    }
    const double now = opt_.clock();
    if (opt_.style == progress_style::bar) {
      if (now - last_print_ >= opt_.redraw_seconds || step_ == total_) draw_bar(now);
    } else if (opt_.style == progress_style::lines) {
      const bool by_steps = opt_.log_every_steps > 0 && step_ % opt_.log_every_steps == 0;
      const bool by_time = opt_.log_every_seconds > 0 && now - last_print_ >= opt_.log_every_seconds;
      if (by_steps || by_time) print_line(now);
    }
  }
  // One more step.
  void step(std::optional<double> loss = std::nullopt, double items = 0) { update(step_ + 1, loss, items); }

  // Extra text shown after the standard fields (e.g. "lr 3e-4").
  void set_note(std::string note) { note_ = std::move(note); }

  // Final state: the bar is drawn once more and ended with a newline; lines mode prints a last
  // line unless the current step was just printed.
  void finish() {
    if (finished_) return;
    finished_ = true;
    const double now = opt_.clock();
    if (opt_.style == progress_style::bar) {
      draw_bar(now);
      *opt_.out << '\n' << std::flush;
    } else if (opt_.style == progress_style::lines && printed_step_ != step_) {
      print_line(now);
    }
  }

  // "mm:ss", or "h:mm:ss" from an hour on.
  static std::string format_duration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return "--:--";
    auto s = static_cast<long long>(seconds + 0.5);
    char buf[32];
    if (s >= 3600)
      std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
    else
      std::snprintf(buf, sizeof buf, "%02lld:%02lld", s / 60, s % 60);
    return buf;
  }

 private:
  std::string fields(double now, double loss, bool has_loss, bool bar) const {
    const double elapsed = now - start_;
    std::ostringstream o;
    o << step_;
    if (total_ > 0) o << '/' << total_;
    if (has_loss) o << " loss " << fixed(loss, 4);
    if (elapsed > 0 && items_ > 0) o << ' ' << fixed(items_ / elapsed, 1) << ' ' << opt_.unit << "/s";
    const bool eta_known = total_ > 0 && step_ > 0 && step_ <= total_;
    const double eta = eta_known ? elapsed / static_cast<double>(step_) * static_cast<double>(total_ - step_) : -1;
    if (bar)
      o << ' ' << format_duration(elapsed) << '<' << (eta_known ? format_duration(eta) : "--:--");
    else
      o << " elapsed " << format_duration(elapsed) << (eta_known ? " eta " + format_duration(eta) : "");
    if (!note_.empty()) o << ' ' << note_;
    return o.str();
  }

  static std::string fixed(double v, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
  }

  void draw_bar(double now) {
    std::string bar;
    if (total_ > 0) {
      const double frac = std::min(1.0, std::max(0.0, static_cast<double>(step_) / static_cast<double>(total_)));
      const int full = static_cast<int>(frac * opt_.bar_width);
      bar = " [" + std::string(static_cast<std::size_t>(full), '#') +
            std::string(static_cast<std::size_t>(opt_.bar_width - full), '.') + "] ";
    } else {
      bar = " ";
    }
    // "\033[K" clears what a longer previous line left behind.
    *opt_.out << '\r' << phase_ << bar << fields(now, ema_, has_loss_, true) << "\033[K" << std::flush;
    last_print_ = now;
  }

  void print_line(double now) {
    const bool has = window_n_ > 0;
    const double mean = has ? window_sum_ / static_cast<double>(window_n_) : 0.0;
    *opt_.out << '[' << phase_ << "] step " << fields(now, mean, has, false) << '\n' << std::flush;
    window_sum_ = 0;
    window_n_ = 0;
    last_print_ = now;
    printed_step_ = step_;
  }

  std::string phase_;
  std::int64_t total_;
  progress_options opt_;
  std::string note_;
  double start_ = 0, last_print_ = 0;
  std::int64_t step_ = 0, printed_step_ = -1;
  double items_ = 0;
  double ema_ = 0;
  bool has_loss_ = false;
  double window_sum_ = 0;
  std::int64_t window_n_ = 0;
  bool finished_ = false;
};

}  // namespace vtrans::train
