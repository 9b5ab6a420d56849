#pragma once
// Colours for the charts: a sequential scale (viridis, perceptually uniform and readable in grey
// and by colour-blind readers) and a categorical palette (Okabe-Ito, colour-blind safe).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <string>

namespace vtrans::viz {

struct rgb {
  double r = 0, g = 0, b = 0;  // 0..255
};

inline std::string hex(const rgb& c) {
  char buf[8];
  auto clamp = [](double v) { return static_cast<int>(std::lround(std::clamp(v, 0.0, 255.0))); };
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", clamp(c.r), clamp(c.g), clamp(c.b));
  return buf;
}

// viridis at t in [0, 1] (linear interpolation between ten samples of matplotlib's table);
// values outside [0, 1] and NaN are clamped (NaN reads as 0).
inline rgb viridis(double t) {
  static constexpr std::array<std::array<double, 3>, 10> stops{{{68, 1, 84},
                                                                {72, 40, 120},
                                                                {62, 73, 137},
                                                                {49, 104, 142},
                                                                {38, 130, 142},
                                                                {31, 158, 137},
                                                                {53, 183, 121},
                                                                {110, 206, 88},
                                                                {181, 222, 43},
                                                                {253, 231, 37}}};
  if (!(t > 0)) t = 0;
  if (t > 1) t = 1;
  const double pos = t * double(stops.size() - 1);
  const auto i = std::min<std::size_t>(static_cast<std::size_t>(pos), stops.size() - 2);
  const double f = pos - double(i);
  const auto& a = stops[i];
  const auto& b = stops[i + 1];
  return {a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])};
}

// The i-th categorical colour (Okabe-Ito without yellow, which is unreadable on white); repeats
// after seven.
inline std::string category_color(std::size_t i) {
  static constexpr std::array<const char*, 7> palette{"#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000"};
  return palette[i % palette.size()];
}

}  // namespace vtrans::viz
