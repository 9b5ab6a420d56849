#pragma once
// The pictures of a pruning study, drawn as SVG by vtrans itself:
//   structure_chart       per-layer kept heads and FFN width, and the hidden size, before/after
//                         (from a report JSON, prune/report.hpp)
//   tradeoff_chart        metric against kept parameters or FLOPs, one line per method
//   probe_heatmaps        layers x heads heat maps of the attention categories (prune/probe.hpp),
//                         pruned heads crossed out
//   probe_removal_chart   each head's special-or-self (or other) mass against the step it was removed
//   trajectory_chart      expected vs target sparsity, the Lagrange multipliers and every head's
//                         log alpha over the pruning steps
// Every data mark (bar, marker, heat-map cell, series line) has a class attribute starting with
// "mark" so that tests and tools can count them; every chart has a title and axis labels.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vtrans/error.hpp"
#include "vtrans/prune/probe.hpp"
#include "vtrans/viz/axes.hpp"
#include "vtrans/viz/color.hpp"
#include "vtrans/viz/svg.hpp"

namespace vtrans::viz {

struct chart_options {
  std::string title;     // empty: a default title
  std::string subtitle;  // empty: a default (or none)
};

namespace detail {
inline std::string percent(double fraction, int digits = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f%%", digits, 100 * fraction);
  return buf;
}
inline double json_number(const nlohmann::json& j, const char* a, const char* b, double fallback = std::nan("")) {
  if (!j.contains(a) || !j[a].is_object() || !j[a].contains(b) || !j[a][b].is_number()) return fallback;
  return j[a][b].get<double>();
}
// Ticks over [0, hi] at whole numbers when the data are counts.
inline ticks count_ticks(double hi, int target = 5) {
  ticks t = nice_ticks(0, std::max(hi, 1.0), target);
  if (t.step < 1) {
    t = {};
    t.step = 1;
    t.lo = 0;
    t.hi = std::ceil(std::max(hi, 1.0));
    for (double v = 0; v <= t.hi; v += 1) t.values.push_back(v);
  }
  return t;
}
// Category labels under a band axis, thinned so that they do not overlap.
inline void band_labels(svg_document& doc, const frame& f, std::size_t n, double label_width, const std::string& label) {
  const double band = f.w / double(std::max<std::size_t>(n, 1));
  const std::size_t every = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil((label_width + 4) / band)));
  for (std::size_t i = 0; i < n; i += every) {
    const double x = f.x + band * (double(i) + 0.5);
    doc.line(x, f.bottom(), x, f.bottom() + 4, {{"stroke", "#333333"}});
    auto a = axis_text();
    a.push_back({"text-anchor", "middle"});
    doc.text(x, f.bottom() + 16, std::to_string(i), a);
  }
  doc.text(f.x + f.w / 2, f.bottom() + 34, label, {{"text-anchor", "middle"}, {"font-size", "12"}});
}
inline void panel_title(svg_document& doc, const frame& f, const std::string& t) {
  doc.text(f.x, f.y - 8, t, {{"font-size", "13"}, {"font-weight", "bold"}});
}
}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Structure before and after pruning

inline svg_document structure_chart(const nlohmann::json& report, const chart_options& opt = {}) {
  const auto& before = report.at("layers").at("before");
  const auto& after = report.at("layers").at("after");
  if (before.size() != after.size())
    throw vtrans::usage_error("vtrans::viz::structure_chart: " + std::to_string(before.size()) + " layers before but " + std::to_string(after.size()) +
                                " after");
  const std::size_t L = before.size();
  const double plot_w = std::max(520.0, 34.0 * double(L)), plot_h = 190;
  const double left = 78, top = 92, gap = 78, hidden_w = 110;
  const double width = left + plot_w + 100 + hidden_w + 40, height = top + 2 * plot_h + gap + 56;
  svg_document doc(width, height);
  const std::string method = report.value("method", std::string("pruned")), budget = report.value("budget", std::string());
  std::string title = opt.title.empty() ? "Structure before and after pruning: " + method + (budget.empty() ? "" : " at " + budget) : opt.title;
  std::string subtitle = opt.subtitle;
  if (subtitle.empty()) {
    const double pf = detail::json_number(report, "params", "fraction"), ff = detail::json_number(report, "flops_per_token", "fraction");
    if (std::isfinite(pf)) subtitle += "parameters kept " + detail::percent(pf);
    if (std::isfinite(ff)) subtitle += (subtitle.empty() ? "" : ", ") + std::string("FLOPs kept ") + detail::percent(ff);
    const double mt = detail::json_number(report, "metric", "teacher"), mp = detail::json_number(report, "metric", "pruned");
    if (std::isfinite(mt) && std::isfinite(mp))
      subtitle += (subtitle.empty() ? "" : ", ") + report["metric"].value("name", std::string("metric")) + " " + format_value(mt) + " \u2192 " +
                  format_value(mp);
  }
  doc.title(title);
  draw_title(doc, title, subtitle);

  const std::string c_before = "#c8c8c8", c_after = "#0072b2";
  auto grouped = [&](const frame& f, const char* key, const std::string& panel, const std::string& y_label, bool label_values) {
    double hi = 0;
    for (std::size_t l = 0; l < L; ++l) hi = std::max({hi, before[l].value(key, 0.0), after[l].value(key, 0.0)});
    const ticks yt = detail::count_ticks(hi, 5);
    const linear_scale ys{0, yt.hi, f.bottom(), f.top()};
    detail::panel_title(doc, f, panel);
    draw_axes(doc, f, {}, {}, ys, yt, "", y_label);
    detail::band_labels(doc, f, L, 14, "layer");
    const double band = f.w / double(std::max<std::size_t>(L, 1)), bw = std::min(band * 0.38, 28.0);
    for (std::size_t l = 0; l < L; ++l) {
      const double cx = f.x + band * (double(l) + 0.5);
      const double vb = before[l].value(key, 0.0), va = after[l].value(key, 0.0);
      const std::string tip = "layer " + std::to_string(l) + ": " + format_value(vb) + " \u2192 " + format_value(va);
      doc.rect(cx - bw, ys(vb), bw, ys(0) - ys(vb), {{"class", "mark bar before"}, {"fill", c_before}}, tip);
      doc.rect(cx, ys(va), bw, ys(0) - ys(va), {{"class", "mark bar after"}, {"fill", c_after}}, tip);
      if (label_values && bw >= 9)
        doc.text(cx + bw / 2, ys(va) - 3, format_value(va), {{"text-anchor", "middle"}, {"font-size", "10"}, {"fill", "#00466e"}});
    }
  };
  const frame heads_f{left, top, plot_w, plot_h};
  const frame ffn_f{left, top + plot_h + gap, plot_w, plot_h};
  grouped(heads_f, "heads", "Attention heads per layer", "heads", true);
  grouped(ffn_f, "intermediate", "FFN width per layer", "FFN neurons", false);

  // hidden size: one pair of bars
  const frame hid_f{left + plot_w + 100, top, hidden_w, plot_h};
  const double hb = detail::json_number(report, "hidden", "before", 0), ha = detail::json_number(report, "hidden", "after", 0);
  const ticks yt = detail::count_ticks(std::max(hb, ha), 4);
  const linear_scale ys{0, yt.hi, hid_f.bottom(), hid_f.top()};
  detail::panel_title(doc, hid_f, "Hidden size");
  draw_axes(doc, hid_f, {}, {}, ys, yt, "", "");
  const double bw = hidden_w * 0.3;
  const std::string tip = "hidden: " + format_value(hb) + " \u2192 " + format_value(ha);
  doc.rect(hid_f.x + hidden_w * 0.18, ys(hb), bw, ys(0) - ys(hb), {{"class", "mark bar before"}, {"fill", c_before}}, tip);
  doc.rect(hid_f.x + hidden_w * 0.52, ys(ha), bw, ys(0) - ys(ha), {{"class", "mark bar after"}, {"fill", c_after}}, tip);
  doc.text(hid_f.x + hidden_w * 0.18 + bw / 2, ys(hb) - 3, format_value(hb), {{"text-anchor", "middle"}, {"font-size", "10"}, {"fill", "#555555"}});
  doc.text(hid_f.x + hidden_w * 0.52 + bw / 2, ys(ha) - 3, format_value(ha), {{"text-anchor", "middle"}, {"font-size", "10"}, {"fill", "#00466e"}});
  auto a = axis_text();
  a.push_back({"text-anchor", "middle"});
  doc.text(hid_f.x + hidden_w * 0.18 + bw / 2, hid_f.bottom() + 16, "before", a);
  doc.text(hid_f.x + hidden_w * 0.52 + bw / 2, hid_f.bottom() + 16, "after", a);

  draw_legend(doc, hid_f.x - 20, ffn_f.y, {{"before pruning", c_before}, {"after pruning", c_after}});
  return doc;
}

// ---------------------------------------------------------------------------------------------
// Metric against size

struct tradeoff_point {
  std::string method;
  double x = 0;       // kept fraction of parameters or FLOPs
  double metric = 0;
  std::string label;  // e.g. the budget, shown in the tooltip
};

enum class tradeoff_axis { params, flops };

struct tradeoff_options : chart_options {
  std::string x_label;                  // empty: from the axis
  std::string y_label = "metric";
  tradeoff_axis axis = tradeoff_axis::params;
  bool x_percent = true;                // plot fractions as percentages
  std::optional<double> reference;      // e.g. the teacher's metric, a dashed line
  std::string reference_label = "teacher";
};

// One point per report: its method, kept fraction (params or FLOPs) and pruned metric.
inline std::vector<tradeoff_point> tradeoff_points(const std::vector<nlohmann::json>& reports, tradeoff_axis axis) {
  std::vector<tradeoff_point> out;
  for (const auto& r : reports)
    out.push_back({r.value("method", std::string("?")), detail::json_number(r, axis == tradeoff_axis::params ? "params" : "flops_per_token", "fraction"),
                   detail::json_number(r, "metric", "pruned"), r.value("budget", std::string())});
  return out;
}

inline svg_document tradeoff_chart(const std::vector<tradeoff_point>& points, const tradeoff_options& opt = {}) {
  std::vector<std::string> methods;
  for (const auto& p : points)
    if (std::find(methods.begin(), methods.end(), p.method) == methods.end()) methods.push_back(p.method);
  std::vector<legend_entry> legend;
  for (std::size_t m = 0; m < methods.size(); ++m) legend.push_back({methods[m], category_color(m), legend_entry::line_marker, m});
  if (opt.reference) legend.push_back({opt.reference_label, "#555555", legend_entry::line, 0, true});
  const double lw = legend_width(legend);
  const double left = 80, top = 66, plot_w = 560, plot_h = 340;
  svg_document doc(left + plot_w + 24 + lw + 16, top + plot_h + 64);
  const std::string what = opt.axis == tradeoff_axis::params ? "parameters" : "FLOPs";
  std::string title = opt.title.empty() ? opt.y_label + " against kept " + what : opt.title;
  if (opt.title.empty() && !title.empty() && title[0] >= 'a' && title[0] <= 'z') title[0] = char(title[0] - 'a' + 'A');
  doc.title(title);
  draw_title(doc, title, opt.subtitle);

  const double scale = opt.x_percent ? 100.0 : 1.0;
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const auto& p : points) {
    if (!std::isfinite(p.x) || !std::isfinite(p.metric)) continue;
    x0 = std::min(x0, p.x * scale), x1 = std::max(x1, p.x * scale), y0 = std::min(y0, p.metric), y1 = std::max(y1, p.metric);
  }
  if (opt.reference) y0 = std::min(y0, *opt.reference), y1 = std::max(y1, *opt.reference);
  if (!std::isfinite(x0)) x0 = 0, x1 = scale, y0 = 0, y1 = 1;
  const double px = (x1 - x0) * 0.05, py = (y1 - y0) * 0.08;
  const ticks xt = nice_ticks(x0 - px, x1 + px, 6), yt = nice_ticks(y0 - py, y1 + py, 5);
  const frame f{left, top, plot_w, plot_h};
  const linear_scale xs{xt.lo, xt.hi, f.left(), f.right()}, ys{yt.lo, yt.hi, f.bottom(), f.top()};
  std::string x_label = opt.x_label;
  if (x_label.empty()) x_label = what + " kept (" + (opt.x_percent ? "% of the teacher" : "fraction of the teacher") + ")";
  draw_axes(doc, f, xs, xt, ys, yt, x_label, opt.y_label);
  if (opt.reference)
    doc.line(f.left(), ys(*opt.reference), f.right(), ys(*opt.reference), {{"stroke", "#555555"}, {"stroke-dasharray", "5,3"}, {"stroke-width", "1.5"}});
  for (std::size_t m = 0; m < methods.size(); ++m) {
    std::vector<const tradeoff_point*> ps;
    for (const auto& p : points)
      if (p.method == methods[m] && std::isfinite(p.x) && std::isfinite(p.metric)) ps.push_back(&p);
    std::stable_sort(ps.begin(), ps.end(), [](const tradeoff_point* a, const tradeoff_point* b) { return a->x < b->x; });
    std::vector<point> line;
    for (const auto* p : ps) line.push_back({xs(p->x * scale), ys(p->metric)});
    const std::string color = category_color(m);
    doc.begin_group({{"class", "series"}, {"data-method", methods[m]}});
    if (line.size() > 1) doc.polyline(line, {{"fill", "none"}, {"stroke", color}, {"stroke-width", "2"}});
    for (std::size_t i = 0; i < ps.size(); ++i) {
      const std::string tip = methods[m] + (ps[i]->label.empty() ? "" : " (" + ps[i]->label + ")") + ": " + what + " " +
                              format_value(ps[i]->x * scale) + (opt.x_percent ? "%" : "") + ", " + opt.y_label + " " + format_value(ps[i]->metric);
      draw_marker(doc, m, line[i].x, line[i].y, 5, {{"class", "mark marker"}, {"fill", color}, {"stroke", "#ffffff"}, {"stroke-width", "1"}}, tip);
    }
    doc.end_group();
  }
  draw_legend(doc, f.right() + 24, f.top(), legend);
  return doc;
}

// ---------------------------------------------------------------------------------------------
// Probing heat maps

struct heatmap_options : chart_options {
  std::vector<prune::probe_category> categories{prune::probe_category::special, prune::probe_category::self, prune::probe_category::previous,
                                                prune::probe_category::keyword, prune::probe_category::entropy};
  bool order_by_removal = false;   // with a relation: per layer, heads sorted by removal order (earliest left)
  bool shared_mass_scale = false;  // masses on one 0..1 scale (else each panel 0..its maximum)
  std::size_t columns = 3;         // panels per row
};

namespace detail {
inline std::string category_title(prune::probe_category c) {
  switch (c) {
    case prune::probe_category::special: return "special tokens";
    case prune::probe_category::self: return "the token itself";
    case prune::probe_category::previous: return "the previous token";
    case prune::probe_category::keyword: return "task keywords";
    case prune::probe_category::special_or_self: return "special tokens or itself";
    case prune::probe_category::entropy: return "entropy (nats)";
  }
  return "";
}

inline svg_document probe_heatmaps_impl(const prune::attention_probe& probe, const prune::probe_relation* relation, const heatmap_options& opt) {
  using prune::probe_category;
  const std::size_t L = probe.layers.size();
  std::size_t H = 1;
  for (const auto& l : probe.layers) H = std::max(H, l.size());
  const double cell = std::clamp(std::floor(260.0 / double(std::max<std::size_t>({H, L, 1}))), 5.0, 22.0);
  const double grid_w = cell * double(H), grid_h = cell * double(L);
  double title_w = 0;
  for (auto c : opt.categories) title_w = std::max(title_w, text_width(category_title(c), 13) * 1.08);  // bold
  const double panel_w = std::max({grid_w, 160.0, title_w}) + 70, panel_h = grid_h + 24 + 84;
  const std::size_t n = opt.categories.size(), cols = std::max<std::size_t>(1, std::min(opt.columns, std::max<std::size_t>(n, 1)));
  const std::size_t rows = (n + cols - 1) / cols;
  const std::string title = opt.title.empty() ? "Where each head attends (un-pruned model)" : opt.title;
  std::string subtitle = opt.subtitle;
  if (subtitle.empty())
    subtitle = "mean attention mass per query on each target; " + std::to_string(probe.counts.sequences) + " sequences, " +
               std::to_string(probe.counts.tokens) + " tokens" + (relation ? "; \u00d7 = head removed by pruning" : "");
  const double top = 60;
  svg_document doc(std::max(double(cols) * panel_w + 30, std::max(text_width(subtitle), text_width(title, 16) * 1.1) + 40),
                   top + double(rows) * panel_h);
  doc.title(title);
  draw_title(doc, title, subtitle);

  // per layer: the column of each head
  std::vector<std::vector<std::size_t>> column(L);
  auto fate = [&](std::size_t l, std::size_t h) -> const prune::head_fate* {
    if (!relation || h >= probe.layers[l].size()) return nullptr;
    const std::size_t groups = l < probe.kv_heads.size() && probe.kv_heads[l] > 0 ? std::size_t(probe.kv_heads[l]) : probe.layers[l].size();
    const std::size_t g = h / std::max<std::size_t>(1, probe.layers[l].size() / groups);
    for (const auto& f : relation->heads)
      if (f.layer == l && f.group == g) return &f;
    return nullptr;
  };
  for (std::size_t l = 0; l < L; ++l) {
    std::vector<std::size_t> order(probe.layers[l].size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    if (relation && opt.order_by_removal)
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const auto *fa = fate(l, a), *fb = fate(l, b);
        return (fa ? fa->removal_order : INFINITY) < (fb ? fb->removal_order : INFINITY);
      });
    column[l].assign(order.size(), 0);
    for (std::size_t c = 0; c < order.size(); ++c) column[l][order[c]] = c;
  }

  for (std::size_t i = 0; i < n; ++i) {
    const probe_category cat = opt.categories[i];
    const double px = 20 + double(i % cols) * panel_w, py = top + double(i / cols) * panel_h;
    const frame f{px + 48, py + 24, grid_w, grid_h};
    double hi = 0;
    for (const auto& l : probe.layers)
      for (const auto& h : l) hi = std::max(hi, h.get(cat));
    if (opt.shared_mass_scale && cat != probe_category::entropy) hi = 1;
    if (!(hi > 0)) hi = 1;
    panel_title(doc, f, category_title(cat));
    doc.begin_group({{"class", "heatmap"}, {"data-category", prune::category_name(cat)}});
    for (std::size_t l = 0; l < L; ++l) {
      for (std::size_t h = 0; h < probe.layers[l].size(); ++h) {
        const double v = probe.layers[l][h].get(cat);
        const double x = f.x + cell * double(column[l][h]), y = f.y + cell * double(l);
        const auto* fh = fate(l, h);
        std::string tip = "layer " + std::to_string(l) + ", head " + std::to_string(h) + ": " + prune::category_name(cat) + " " + format_value(v);
        if (fh) tip += fh->kept ? " (kept)" : fh->removed_step ? " (removed at step " + std::to_string(*fh->removed_step) + ")" : " (removed at selection)";
        doc.rect(x, y, cell, cell, {{"class", "mark cell"}, {"fill", hex(viridis(v / hi))}, {"stroke", "#ffffff"}, {"stroke-width", cell >= 10 ? "0.5" : "0.2"}},
                 tip);
        if (fh && !fh->kept) {  // a red cross on a white halo: visible on dark and light cells
          const double m = cell * 0.2, w = std::clamp(cell * 0.09, 0.9, 1.8);
          const attrs halo{{"class", "pruned-halo"}, {"stroke", "#ffffff"}, {"stroke-width", num(w + 1.4)}, {"stroke-linecap", "round"}, {"stroke-opacity", "0.85"}};
          const attrs xa{{"class", "pruned"}, {"stroke", "#e8000b"}, {"stroke-width", num(w)}, {"stroke-linecap", "round"}};
          for (const attrs* a : {&halo, &xa}) {
            doc.line(x + m, y + m, x + cell - m, y + cell - m, *a);
            doc.line(x + cell - m, y + m, x + m, y + cell - m, *a);
          }
        }
      }
      if (probe.layers[l].empty())
        doc.text(f.x + 4, f.y + cell * (double(l) + 0.5) + 3, "no attention", {{"font-size", std::to_string(int(std::min(10.0, cell)))}, {"fill", "#888888"}});
    }
    doc.end_group();
    // axes: layer labels on the left, head (or rank) labels below
    const std::size_t every_y = nice_stride(13.0 / cell);
    for (std::size_t l = 0; l < L; l += every_y) {
      auto a = axis_text();
      a.push_back({"text-anchor", "end"});
      doc.text(f.x - 4, f.y + cell * (double(l) + 0.5) + 4, std::to_string(l), a);
    }
    const double ly = f.y + f.h / 2, lx = f.x - 30;
    doc.text(lx, ly, "layer", {{"text-anchor", "middle"}, {"font-size", "12"}, {"transform", "rotate(-90 " + num(lx) + " " + num(ly) + ")"}});
    const std::size_t every_x = nice_stride((text_width(std::to_string(H - 1), 11) + 6) / cell);
    const bool ranked = relation && opt.order_by_removal;  // columns are ranks, not head numbers
    for (std::size_t h = 0; h < H && !ranked; h += every_x) {
      auto a = axis_text();
      a.push_back({"text-anchor", "middle"});
      doc.text(f.x + cell * (double(h) + 0.5), f.bottom() + 13, std::to_string(h), a);
    }
    const std::string x_label = ranked ? "heads, earliest removed first" : "head";
    doc.text(f.x + std::max(f.w, text_width(x_label)) / 2, f.bottom() + (ranked ? 16 : 28), x_label,
             {{"text-anchor", "middle"}, {"font-size", "12"}});
    // colour bar
    const double cb_w = std::max(grid_w, 150.0), cb_y = f.bottom() + (ranked ? 28 : 40);
    for (int s = 0; s < 24; ++s)
      doc.rect(f.x + cb_w * s / 24.0, cb_y, cb_w / 24.0 + 0.3, 8, {{"fill", hex(viridis((s + 0.5) / 24.0))}});
    doc.rect(f.x, cb_y, cb_w, 8, {{"fill", "none"}, {"stroke", "#888888"}, {"stroke-width", "0.5"}});
    auto a = axis_text();
    doc.text(f.x, cb_y + 20, "0", a);
    a.push_back({"text-anchor", "end"});
    doc.text(f.x + cb_w, cb_y + 20, format_value(hi), a);
  }
  return doc;
}
}  // namespace detail

inline svg_document probe_heatmaps(const prune::attention_probe& probe, const heatmap_options& opt = {}) {
  return detail::probe_heatmaps_impl(probe, nullptr, opt);
}
inline svg_document probe_heatmaps(const prune::attention_probe& probe, const prune::probe_relation& relation, const heatmap_options& opt = {}) {
  return detail::probe_heatmaps_impl(probe, &relation, opt);
}

// Each key/value group's mass in `category` against when it was removed; groups that never crossed
// the threshold sit in two bands on the right (removed by the final selection; kept).
inline svg_document probe_removal_chart(const prune::probe_relation& relation, prune::probe_category category = prune::probe_category::special_or_self,
                                        const chart_options& opt = {}) {
  const double left = 80, top = 66, plot_w = 560, plot_h = 320;
  const std::vector<legend_entry> legend{{"removed", "#d55e00", legend_entry::line_marker, 0}, {"kept", "#0072b2", legend_entry::line_marker, 1}};
  svg_document doc(left + plot_w + 24 + legend_width(legend) + 16, top + plot_h + 64);
  const std::string cname = prune::category_name(category), ctitle = detail::category_title(category);
  const std::string title = opt.title.empty() ? "Attention to " + ctitle + " against removal step" : opt.title;
  std::string subtitle = opt.subtitle;
  if (subtitle.empty()) {
    const double rho = category == prune::probe_category::keyword ? relation.spearman_keyword_order : relation.spearman_special_self_order;
    subtitle = std::to_string(relation.removed) + " removed, " + std::to_string(relation.kept) + " kept";
    if (category == prune::probe_category::special_or_self || category == prune::probe_category::keyword)
      subtitle += "; Spearman vs removal order " + format_value(rho);
  }
  doc.title(title);
  draw_title(doc, title, subtitle);
  double last = 0, hi = 0;
  for (const auto& f : relation.heads) {
    if (f.removed_step) last = std::max(last, double(*f.removed_step));
    hi = std::max(hi, f.attention.get(category));
  }
  const ticks xt0 = nice_ticks(0, std::max(last, 1.0), 6);
  const double span = xt0.hi - xt0.lo;
  const double band_sel = xt0.hi + span * 0.17, band_kept = xt0.hi + span * 0.32;
  const frame f{left, top, plot_w, plot_h};
  const linear_scale xs{xt0.lo, xt0.hi + span * 0.4, f.left(), f.right()};
  const ticks yt = nice_ticks(0, hi > 0 ? hi * 1.05 : 1, 5);
  const linear_scale ys{yt.lo, yt.hi, f.bottom(), f.top()};
  draw_axes(doc, f, xs, xt0, ys, yt, "step at which log \u03b1 first fell to the threshold", category == prune::probe_category::entropy ? "attention entropy (nats)" : "attention mass: " + ctitle);
  const double sep = xs(xt0.hi + span * 0.07);
  doc.line(sep, f.top(), sep, f.bottom(), {{"stroke", "#999999"}, {"stroke-dasharray", "3,3"}});
  auto a = axis_text();
  a.push_back({"text-anchor", "middle"});
  doc.text(xs(band_sel), f.bottom() + 16, "selection", a);
  doc.text(xs(band_kept), f.bottom() + 16, "never", a);
  for (std::size_t i = 0; i < relation.heads.size(); ++i) {
    const auto& h = relation.heads[i];
    double x = h.removed_step ? double(*h.removed_step) : (h.kept ? band_kept : band_sel);
    // spread the groups of a band a little so that they do not hide each other
    if (!h.removed_step) x += span * 0.05 * (std::fmod(double(i) * 0.618034, 1.0) - 0.5);
    const std::string tip = "layer " + std::to_string(h.layer) + ", group " + std::to_string(h.group) + ": " + cname + " " +
                            format_value(h.attention.get(category)) + (h.kept ? ", kept" : ", removed");
    draw_marker(doc, h.kept ? 1 : 0, xs(x), ys(h.attention.get(category)), 4.5,
                {{"class", h.kept ? "mark marker kept" : "mark marker removed"}, {"fill", h.kept ? "#0072b2" : "#d55e00"}, {"fill-opacity", "0.85"},
                 {"stroke", "#ffffff"}, {"stroke-width", "0.8"}},
                tip);
  }
  draw_legend(doc, f.right() + 24, f.top(), legend);
  return doc;
}

// ---------------------------------------------------------------------------------------------
// Mask trajectories

inline svg_document trajectory_chart(const nlohmann::json& report, const chart_options& opt = {}) {
  const auto& traj = report.at("trajectory");
  std::vector<double> step, expected, target, l1, l2;
  for (const auto& p : traj) {
    step.push_back(p.at("step").get<double>());
    expected.push_back(p.value("expected_sparsity", 0.0));
    target.push_back(p.value("target_sparsity", 0.0));
    l1.push_back(p.value("lambda1", 0.0));
    l2.push_back(p.value("lambda2", 0.0));
  }
  // head log alpha: per (layer, group) a series
  std::vector<std::pair<std::size_t, std::size_t>> heads;
  if (!traj.empty() && traj[0].contains("head_scores"))
    for (std::size_t l = 0; l < traj[0]["head_scores"].size(); ++l)
      for (std::size_t g = 0; g < traj[0]["head_scores"][l].size(); ++g) heads.push_back({l, g});
  const std::size_t layers = traj.empty() || !traj[0].contains("head_scores") ? 0 : traj[0]["head_scores"].size();
  const bool head_panel = !heads.empty();

  const double left = 80, top = 78, plot_w = 600, plot_h = 170, gap = 74;
  const std::vector<legend_entry> leg_a{{"expected sparsity", "#0072b2", legend_entry::line}, {"target sparsity", "#d55e00", legend_entry::line, 0, true}};
  const std::vector<legend_entry> leg_b{{"\u03bb1", "#009e73", legend_entry::line}, {"\u03bb2", "#cc79a7", legend_entry::line}};
  const double lw = std::max({legend_width(leg_a), legend_width(leg_b), 150.0});
  const int panels = head_panel ? 3 : 2;
  svg_document doc(left + plot_w + 24 + lw + 16, top + panels * plot_h + (panels - 1) * gap + 52);
  const std::string title = opt.title.empty() ? "Mask trajectory: " + report.value("method", std::string("pruning")) +
                                                    (report.contains("budget") ? " at " + report.value("budget", std::string()) : "")
                                              : opt.title;
  doc.title(title);
  draw_title(doc, title, opt.subtitle.empty() ? std::to_string(traj.size()) + " recorded steps" : opt.subtitle);

  double s0 = step.empty() ? 0 : step.front(), s1 = step.empty() ? 1 : step.back();
  for (double s : step) s0 = std::min(s0, s), s1 = std::max(s1, s);
  const ticks xt = nice_ticks(s0, s1, 6);
  auto series = [&](const frame& f, const linear_scale& xs, const linear_scale& ys, const std::vector<double>& v, const std::string& color, bool dashed,
                    const std::string& name, const char* width = "2", const std::string& opacity = "1") {
    std::vector<point> pts;
    for (std::size_t i = 0; i < v.size(); ++i) pts.push_back({xs(step[i]), ys(v[i])});
    attrs a{{"class", "mark series"}, {"data-series", name}, {"fill", "none"}, {"stroke", color}, {"stroke-width", width}, {"stroke-linejoin", "round"}};
    if (opacity != "1") a.push_back({"stroke-opacity", opacity});
    if (dashed) a.push_back({"stroke-dasharray", "6,4"});
    if (pts.size() == 1) pts.push_back({pts[0].x + 0.01, pts[0].y});  // a visible dot for a single step
    doc.polyline(pts, a, name);
    (void)f;
  };
  auto range = [](std::initializer_list<const std::vector<double>*> vs) {
    double lo = INFINITY, hi = -INFINITY;
    for (const auto* v : vs)
      for (double x : *v) lo = std::min(lo, x), hi = std::max(hi, x);
    if (!std::isfinite(lo)) lo = 0, hi = 1;
    return std::pair<double, double>{lo, hi};
  };

  // (a) sparsity
  frame fa{left, top, plot_w, plot_h};
  {
    auto [lo, hi] = range({&expected, &target});
    const ticks yt = nice_ticks(std::min(lo, 0.0), std::max(hi, 0.1), 5);
    const linear_scale xs{xt.lo, xt.hi, fa.left(), fa.right()}, ys{yt.lo, yt.hi, fa.bottom(), fa.top()};
    detail::panel_title(doc, fa, "Sparsity: expected (from the masks) and target");
    draw_axes(doc, fa, xs, xt, ys, yt, "step", "sparsity");
    series(fa, xs, ys, target, "#d55e00", true, "target sparsity");
    series(fa, xs, ys, expected, "#0072b2", false, "expected sparsity");
    draw_legend(doc, fa.right() + 24, fa.top(), leg_a);
  }
  // (b) Lagrange multipliers
  frame fb{left, top + plot_h + gap, plot_w, plot_h};
  {
    auto [lo, hi] = range({&l1, &l2});
    const ticks yt = nice_ticks(std::min(lo, 0.0), std::max(hi, 0.0), 5);
    const linear_scale xs{xt.lo, xt.hi, fb.left(), fb.right()}, ys{yt.lo, yt.hi, fb.bottom(), fb.top()};
    detail::panel_title(doc, fb, "Lagrange multipliers");
    draw_axes(doc, fb, xs, xt, ys, yt, "step", "\u03bb");
    series(fb, xs, ys, l1, "#009e73", false, "lambda1");
    series(fb, xs, ys, l2, "#cc79a7", false, "lambda2");
    draw_legend(doc, fb.right() + 24, fb.top(), leg_b);
  }
  // (c) head log alpha
  if (head_panel) {
    frame fc{left, top + 2 * (plot_h + gap), plot_w, plot_h};
    std::vector<std::vector<double>> v(heads.size());
    double lo = 0, hi = 0;
    for (const auto& p : traj) {
      const auto& hs = p.at("head_scores");
      for (std::size_t i = 0; i < heads.size(); ++i) {
        const double s = hs.at(heads[i].first).at(heads[i].second).get<double>();
        v[i].push_back(s);
        lo = std::min(lo, s), hi = std::max(hi, s);
      }
    }
    const ticks yt = nice_ticks(lo, hi, 5);
    const linear_scale xs{xt.lo, xt.hi, fc.left(), fc.right()}, ys{yt.lo, yt.hi, fc.bottom(), fc.top()};
    detail::panel_title(doc, fc, "Head masks: log \u03b1 per head (kept while > 0)");
    draw_axes(doc, fc, xs, xt, ys, yt, "step", "log \u03b1");
    const std::string opacity = heads.size() > 40 ? "0.55" : "0.9";
    for (std::size_t i = 0; i < heads.size(); ++i) {
      const double t = layers > 1 ? double(heads[i].first) / double(layers - 1) : 0.0;
      series(fc, xs, ys, v[i], hex(viridis(t * 0.9)), false, "layer " + std::to_string(heads[i].first) + " group " + std::to_string(heads[i].second), "1",
             opacity);
    }
    // the keep threshold on top of the lines
    doc.line(fc.left(), ys(0), fc.right(), ys(0), {{"stroke", "#ffffff"}, {"stroke-width", "3"}, {"stroke-opacity", "0.8"}});
    doc.line(fc.left(), ys(0), fc.right(), ys(0), {{"stroke", "#000000"}, {"stroke-dasharray", "6,4"}, {"stroke-width", "1.4"}});
    auto ta = axis_text();
    ta.push_back({"text-anchor", "end"});
    doc.text(fc.right() - 4, ys(0) - 5, "threshold", ta);
    // layer colour key
    const double kx = fc.right() + 24, ky = fc.top() + 4;
    doc.text(kx, ky + 8, "layer", {{"font-size", "12"}});
    const double kw = 120;
    for (int s = 0; s < 20; ++s) doc.rect(kx + kw * s / 20.0, ky + 16, kw / 20.0 + 0.3, 10, {{"fill", hex(viridis(0.9 * (s + 0.5) / 20.0))}});
    auto a = axis_text();
    doc.text(kx, ky + 40, "0", a);
    a.push_back({"text-anchor", "end"});
    doc.text(kx + kw, ky + 40, std::to_string(layers > 0 ? layers - 1 : 0), a);
  }
  return doc;
}

}  // namespace vtrans::viz
