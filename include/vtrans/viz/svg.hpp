#pragma once
// A tiny SVG 1.1 document builder: rectangles, lines, polylines, polygons, circles, text and
// groups, every attribute and text escaped, numbers written in a locale-independent short form,
// saved atomically (temporary name, then rename). Charts (viz/charts.hpp) are built on it; it
// knows nothing about charts.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vtrans/io/atomic_file.hpp"

namespace vtrans::viz {

// Text or attribute value with the five XML special characters replaced by entities. Control
// characters other than tab, newline and carriage return are not allowed in XML 1.0 and are
// dropped.
inline std::string escape_xml(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') break;
        out += c;
    }
  }
  return out;
}

// A coordinate or length: at most two decimals, no trailing zeros, "-0" written as "0",
// independent of the C locale's decimal separator.
inline std::string num(double v) {
  if (!std::isfinite(v)) v = 0;
  const double r = std::round(v * 100.0) / 100.0;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", r == 0 ? 0.0 : r);
  std::string s = buf;
  for (char& c : s)
    if (c == ',') c = '.';
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

struct point {
  double x = 0, y = 0;
};

// Extra attributes of an element, in order: {{"class", "mark"}, {"fill", "#ccc"}}.
using attrs = std::vector<std::pair<std::string, std::string>>;

class svg_document {
 public:
  svg_document(double width, double height) : width_(width), height_(height) {}

  double width() const { return width_; }
  double height() const { return height_; }

  // Every shape takes extra attributes and an optional tooltip (an SVG <title> child, shown on hover).
  svg_document& rect(double x, double y, double w, double h, const attrs& a = {}, std::string_view tooltip = {}) {
    return element("rect", {{"x", num(x)}, {"y", num(y)}, {"width", num(std::max(0.0, w))}, {"height", num(std::max(0.0, h))}}, a,
                   tooltip);
  }
  svg_document& line(double x1, double y1, double x2, double y2, const attrs& a = {}, std::string_view tooltip = {}) {
    return element("line", {{"x1", num(x1)}, {"y1", num(y1)}, {"x2", num(x2)}, {"y2", num(y2)}}, a, tooltip);
  }
  svg_document& circle(double cx, double cy, double r, const attrs& a = {}, std::string_view tooltip = {}) {
    return element("circle", {{"cx", num(cx)}, {"cy", num(cy)}, {"r", num(r)}}, a, tooltip);
  }
  svg_document& polyline(const std::vector<point>& pts, const attrs& a = {}, std::string_view tooltip = {}) {
    return element("polyline", {{"points", points(pts)}}, a, tooltip);
  }
  svg_document& polygon(const std::vector<point>& pts, const attrs& a = {}, std::string_view tooltip = {}) {
    return element("polygon", {{"points", points(pts)}}, a, tooltip);
  }
  // Text anchored at (x, y) (the baseline); `a` may set text-anchor, font-size, transform...
  svg_document& text(double x, double y, std::string_view content, const attrs& a = {}) {
    body_ << "<text x=\"" << num(x) << "\" y=\"" << num(y) << '"';
    write_attrs(a);
    body_ << '>' << escape_xml(content) << "</text>\n";
    return *this;
  }
  svg_document& begin_group(const attrs& a = {}) {
    body_ << "<g";
    write_attrs(a);
    body_ << ">\n";
    ++open_groups_;
    return *this;
  }
  svg_document& end_group() {
    if (open_groups_ == 0) throw std::logic_error("vtrans::viz::svg_document: end_group without begin_group");
    body_ << "</g>\n";
    --open_groups_;
    return *this;
  }
  // A <title> child of the document (the accessible name of the picture).
  svg_document& title(std::string_view t) {
    title_ = std::string(t);
    return *this;
  }

  // The whole document; open groups are closed.
  std::string str() const {
    std::ostringstream out;
    out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        << "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" << num(width_) << "\" height=\"" << num(height_)
        << "\" viewBox=\"0 0 " << num(width_) << ' ' << num(height_)
        << "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n";
    if (!title_.empty()) out << "<title>" << escape_xml(title_) << "</title>\n";
    out << "<rect x=\"0\" y=\"0\" width=\"" << num(width_) << "\" height=\"" << num(height_) << "\" fill=\"#ffffff\"/>\n";
    out << body_.str();
    for (int i = 0; i < open_groups_; ++i) out << "</g>\n";
    out << "</svg>\n";
    return out.str();
  }

  void save(const std::string& path) const { io::write_file_atomic(path, str()); }

 private:
  static std::string points(const std::vector<point>& pts) {
    std::string s;
    for (std::size_t i = 0; i < pts.size(); ++i) {
      if (i) s += ' ';
      s += num(pts[i].x);
      s += ',';
      s += num(pts[i].y);
    }
    return s;
  }
  void write_attrs(const attrs& a) {
    for (const auto& [k, v] : a) body_ << ' ' << k << "=\"" << escape_xml(v) << '"';
  }
  svg_document& element(const char* name, std::initializer_list<std::pair<const char*, std::string>> geometry, const attrs& a,
                        std::string_view tooltip) {
    body_ << '<' << name;
    for (const auto& [k, v] : geometry) body_ << ' ' << k << "=\"" << v << '"';
    write_attrs(a);
    if (tooltip.empty()) {
      body_ << "/>\n";
    } else {
      body_ << "><title>" << escape_xml(tooltip) << "</title></" << name << ">\n";
    }
    return *this;
  }

  double width_, height_;
  std::string title_;
  std::ostringstream body_;
  int open_groups_ = 0;
};

}  // namespace vtrans::viz
