#pragma once
// Chart scaffolding on top of svg_document: linear scales, "nice" ticks (1, 2, 5 x 10^k), tick
// labels, framed axes with grid lines and labels, legends and marker shapes.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "vtrans/viz/svg.hpp"

namespace vtrans::viz {

// Maps the data interval [d0, d1] onto the pixel interval [r0, r1] (r1 < r0 for a y axis).
struct linear_scale {
  double d0 = 0, d1 = 1, r0 = 0, r1 = 1;
  double operator()(double v) const { return d1 == d0 ? (r0 + r1) / 2 : r0 + (v - d0) / (d1 - d0) * (r1 - r0); }
};

struct ticks {
  double lo = 0, hi = 1, step = 1;  // the domain widened to whole steps
  std::vector<double> values;
};

// About `target` ticks covering [lo, hi], at multiples of 1, 2 or 5 x 10^k.
inline ticks nice_ticks(double lo, double hi, int target = 5) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (lo > hi) std::swap(lo, hi);
  if (hi - lo < 1e-12) {
    const double pad = std::abs(lo) > 1e-12 ? std::abs(lo) * 0.1 : 1.0;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  const double step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
  ticks t;
  t.step = step;
  t.lo = std::floor(lo / step + 1e-9) * step;
  t.hi = std::ceil(hi / step - 1e-9) * step;
  for (double v = t.lo; v <= t.hi + step * 1e-6; v += step) t.values.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  return t;
}

// A tick label: enough decimals for `step`, k / M / G suffixes from 10^4 up. `magnitude` (the
// largest tick of the axis) makes every label of one axis use the same suffix.
inline std::string format_tick(double v, double step = 0, double magnitude = 0) {
  char buf[64];
  const double a = std::max(std::abs(v), std::abs(magnitude));
  auto trimmed = [&](double x, const char* suffix) {
    std::snprintf(buf, sizeof buf, "%.2f", x);
    std::string s = buf;
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    return s + suffix;
  };
  if (v == 0 && a >= 1e4) return "0";
  if (a >= 1e9) return trimmed(v / 1e9, "G");
  if (a >= 1e6) return trimmed(v / 1e6, "M");
  if (a >= 1e4) return trimmed(v / 1e3, "k");
  int decimals = 0;
  if (step > 0 && step < 1) decimals = std::min(6, int(std::ceil(-std::log10(step) - 1e-9)));
  if (step <= 0 && a > 0 && a < 1) decimals = 3;
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  if (s == "-0") s = "0";
  return s;
}

// Value with three significant digits, for tooltips and annotations.
inline std::string format_value(double v) {
  if (!std::isfinite(v)) return "n/a";
  char buf[64];
  if (std::abs(v) >= 1e4) return format_tick(v);
  if (std::abs(v) >= 100) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

// The smallest of 1, 2, 4, 5, 10, 20, 40, 50... that is at least `need`: a label stride.
inline std::size_t nice_stride(double need) {
  for (std::size_t base = 1;; base *= 10)
    for (std::size_t m : {1, 2, 4, 5})
      if (double(base * m) >= need) return base * m;
}

// Approximate rendered width of `s` at `font_size` (DejaVu Sans averages ~0.6 em per glyph).
inline double text_width(const std::string& s, double font_size = 12) {
  std::size_t glyphs = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++glyphs;
  return double(glyphs) * font_size * 0.6;
}

struct frame {
  double x = 0, y = 0, w = 0, h = 0;  // the plot area in pixels
  double left() const { return x; }
  double right() const { return x + w; }
  double top() const { return y; }
  double bottom() const { return y + h; }
};

inline const attrs& axis_text() {
  static const attrs a{{"font-size", "11"}, {"fill", "#333333"}};
  return a;
}

// Frame, grid, ticks and labels of a plot area. x_ticks / y_ticks may be empty (no axis).
inline double magnitude(const ticks& t) {
  double m = 0;
  for (double v : t.values) m = std::max(m, std::abs(v));
  return m;
}

inline void draw_axes(svg_document& doc, const frame& f, const linear_scale& xs, const ticks& xt, const linear_scale& ys, const ticks& yt,
                      const std::string& x_label, const std::string& y_label, bool grid = true) {
  doc.begin_group({{"class", "axes"}});
  const double xm = magnitude(xt), ym = magnitude(yt);
  for (double v : yt.values) {
    const double y = ys(v);
    if (grid) doc.line(f.left(), y, f.right(), y, {{"stroke", "#e6e6e6"}, {"stroke-width", "1"}});
    doc.line(f.left() - 4, y, f.left(), y, {{"stroke", "#333333"}});
    auto a = axis_text();
    a.push_back({"text-anchor", "end"});
    doc.text(f.left() - 6, y + 4, format_tick(v, yt.step, ym), a);
  }
  for (double v : xt.values) {
    const double x = xs(v);
    if (grid) doc.line(x, f.top(), x, f.bottom(), {{"stroke", "#f0f0f0"}, {"stroke-width", "1"}});
    doc.line(x, f.bottom(), x, f.bottom() + 4, {{"stroke", "#333333"}});
    auto a = axis_text();
    a.push_back({"text-anchor", "middle"});
    doc.text(x, f.bottom() + 16, format_tick(v, xt.step, xm), a);
  }
  doc.line(f.left(), f.bottom(), f.right(), f.bottom(), {{"stroke", "#333333"}});
  doc.line(f.left(), f.top(), f.left(), f.bottom(), {{"stroke", "#333333"}});
  if (!x_label.empty()) doc.text(f.x + f.w / 2, f.bottom() + 34, x_label, {{"text-anchor", "middle"}, {"font-size", "12"}});
  if (!y_label.empty()) {
    double widest = 0;
    for (double v : yt.values) widest = std::max(widest, text_width(format_tick(v, yt.step, ym), 11));
    const double x = f.left() - 14 - widest;
    const double y = f.y + f.h / 2;
    doc.text(x, y, y_label, {{"text-anchor", "middle"}, {"font-size", "12"}, {"transform", "rotate(-90 " + num(x) + " " + num(y) + ")"}});
  }
  doc.end_group();
}

// Marker shapes for series: 0 circle, 1 square, 2 triangle, 3 diamond, 4 inverted triangle.
inline void draw_marker(svg_document& doc, std::size_t shape, double x, double y, double r, const attrs& a, std::string_view tooltip = {}) {
  switch (shape % 5) {
    case 0: doc.circle(x, y, r, a, tooltip); break;
    case 1: doc.rect(x - r * 0.85, y - r * 0.85, r * 1.7, r * 1.7, a, tooltip); break;
    case 2: doc.polygon({{x, y - r * 1.1}, {x + r, y + r * 0.75}, {x - r, y + r * 0.75}}, a, tooltip); break;
    case 3: doc.polygon({{x, y - r * 1.15}, {x + r * 1.15, y}, {x, y + r * 1.15}, {x - r * 1.15, y}}, a, tooltip); break;
    default: doc.polygon({{x, y + r * 1.1}, {x + r, y - r * 0.75}, {x - r, y - r * 0.75}}, a, tooltip); break;
  }
}

struct legend_entry {
  std::string label;
  std::string color;
  enum kind_t { swatch, line, line_marker } kind = swatch;
  std::size_t marker = 0;  // shape for line_marker
  bool dashed = false;
};

// The width a vertical legend needs.
inline double legend_width(const std::vector<legend_entry>& entries, double font_size = 12) {
  double w = 0;
  for (const auto& e : entries) w = std::max(w, text_width(e.label, font_size));
  return w + 42;
}

// A vertical legend with its top-left corner at (x, y), in a light box.
inline void draw_legend(svg_document& doc, double x, double y, const std::vector<legend_entry>& entries) {
  if (entries.empty()) return;
  const double row = 18, w = legend_width(entries), h = row * double(entries.size()) + 8;
  doc.begin_group({{"class", "legend"}});
  doc.rect(x, y, w, h, {{"fill", "#ffffff"}, {"fill-opacity", "0.9"}, {"stroke", "#cccccc"}});
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    const double cy = y + 4 + row * (double(i) + 0.5);
    if (e.kind == legend_entry::swatch) {
      doc.rect(x + 8, cy - 6, 18, 12, {{"fill", e.color}, {"stroke", "#555555"}, {"stroke-width", "0.5"}});
    } else {
      attrs la{{"stroke", e.color}, {"stroke-width", "2"}};
      if (e.dashed) la.push_back({"stroke-dasharray", "5,3"});
      doc.line(x + 6, cy, x + 28, cy, la);
      if (e.kind == legend_entry::line_marker) draw_marker(doc, e.marker, x + 17, cy, 4, {{"fill", e.color}, {"stroke", "#ffffff"}, {"stroke-width", "0.8"}});
    }
    doc.text(x + 34, cy + 4, e.label, {{"font-size", "12"}});
  }
  doc.end_group();
}

// Title (bold) and optional subtitle centred at the top.
inline void draw_title(svg_document& doc, const std::string& title, const std::string& subtitle = {}) {
  doc.text(doc.width() / 2, 24, title, {{"text-anchor", "middle"}, {"font-size", "16"}, {"font-weight", "bold"}});
  if (!subtitle.empty()) doc.text(doc.width() / 2, 42, subtitle, {{"text-anchor", "middle"}, {"font-size", "12"}, {"fill", "#555555"}});
}

}  // namespace vtrans::viz
