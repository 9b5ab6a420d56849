// SVG builder and charts: every document is well-formed XML (checked by xml_check.hpp), text is
// escaped, and each chart carries exactly the marks its data call for.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "vtrans/viz/charts.hpp"
#include "viz/xml_check.hpp"

using namespace vtrans;

namespace {

xml_check::document well_formed(const viz::svg_document& doc) {
  const std::string s = doc.str();
  xml_check::document d;
  try {
    d = xml_check::parse(s);
  } catch (const std::exception& e) {
    FAIL("not well-formed: " << e.what());
  }
  REQUIRE(!d.elements.empty());
  CHECK(d.elements[0].name == "svg");
  CHECK(d.elements[0].attrs.at("xmlns") == "http://www.w3.org/2000/svg");
  // if PNG_DIR is set, also write the SVG there (for looking at the pictures by hand)
  if (const char* dir = std::getenv("VTRANS_VIZ_OUT")) {
    static int n = 0;
    doc.save(std::string(dir) + "/chart" + std::to_string(n++) + ".svg");
  }
  return d;
}

bool has_text(const xml_check::document& d, const std::string& t) {
  for (const auto& e : d.elements)
    if ((e.name == "text" || e.name == "title") && e.text.find(t) != std::string::npos) return true;
  return false;
}

nlohmann::json layer(int heads, int kv, int inter, bool attention = true) {
  return {{"heads", heads}, {"kv_heads", kv}, {"intermediate", inter}, {"attention", attention}, {"mlp", inter > 0}};
}

// A report shaped like prune::report_json for a 4-layer, 6-head model.
nlohmann::json synthetic_report(const std::string& method = "vtrans/vib") {
  using nlohmann::json;
  json before = json::array(), after = json::array(), kept = json::array();
  const int heads_after[4] = {5, 3, 0, 2}, ffn_after[4] = {900, 610, 300, 120};
  for (int l = 0; l < 4; ++l) {
    before.push_back(layer(6, 6, 1024));
    after.push_back(layer(heads_after[l], heads_after[l], ffn_after[l], heads_after[l] > 0));
    json k = json::array();
    for (int h = 0; h < heads_after[l]; ++h) k.push_back(h);
    kept.push_back(k);
  }
  json traj = json::array();
  for (int t = 0; t <= 20; ++t) {
    json scores = json::array();
    for (int l = 0; l < 4; ++l) {
      json s = json::array();
      for (int h = 0; h < 6; ++h) s.push_back(9.0 - (h >= heads_after[l] ? 0.9 * t : 0.1 * t) - 0.5 * l);
      scores.push_back(s);
    }
    traj.push_back({{"step", 25 * t}, {"loss", 1.0 / (1 + t)}, {"expected_sparsity", 0.6 * (1 - std::exp(-0.2 * t))},
                    {"target_sparsity", std::min(0.6, 0.05 * t)}, {"lambda1", -0.3 * std::sin(0.3 * t)}, {"lambda2", 0.02 * t}, {"head_scores", scores}});
  }
  return {{"method", method},
          {"budget", "params=0.4"},
          {"family", "bert"},
          {"hidden", {{"before", 768}, {"after", 512}}},
          {"layers", {{"before", before}, {"after", after}}},
          {"kept_heads", kept},
          {"params", {{"before", 1.1e8}, {"after", 4.4e7}, {"fraction", 0.4}}},
          {"flops_per_token", {{"before", 2.2e8}, {"after", 7.7e7}, {"fraction", 0.35}}},
          {"metric", {{"name", "accuracy"}, {"teacher", 0.91}, {"pruned", 0.885}}},
          {"trajectory", traj}};
}

}  // namespace

TEST_CASE("svg: escaping, numbers and a hand-built document") {
  CHECK(viz::escape_xml("a<b & \"c\" 'd'>") == "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
  CHECK(viz::escape_xml(std::string("x\x01y")) == "xy");
  CHECK(viz::num(1.0) == "1");
  CHECK(viz::num(-0.001) == "0");
  CHECK(viz::num(2.345) == "2.35");
  CHECK(viz::num(12.5) == "12.5");
  viz::svg_document doc(100, 50);
  doc.title("t & t");
  doc.begin_group({{"class", "g"}});
  doc.rect(1, 2, 3, 4, {{"class", "mark"}}, "tip <1>");
  doc.line(0, 0, 10, 10);
  doc.polyline({{0, 0}, {5, 5}}, {{"class", "mark series"}});
  doc.text(5, 5, "R&D <model>");
  // the group is left open: str() closes it
  const auto d = well_formed(doc);
  CHECK(d.count_class("mark") == 2);
  CHECK(has_text(d, "R&D <model>"));
  CHECK(has_text(d, "tip <1>"));
  CHECK(d.count_name("g") == 1);
  CHECK_THROWS_AS(viz::svg_document(1, 1).end_group(), std::logic_error);

  const auto dir = std::filesystem::temp_directory_path() / "vtrans_viz_test";
  std::filesystem::create_directories(dir);
  const auto path = (dir / "doc.svg").string();
  doc.save(path);
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  CHECK(ss.str() == doc.str());
  std::filesystem::remove_all(dir);
}

TEST_CASE("the checker itself rejects malformed XML") {
  CHECK_THROWS(xml_check::parse("<svg><g></svg>"));
  CHECK_THROWS(xml_check::parse("<svg><text>a < b</text></svg>"));
  CHECK_THROWS(xml_check::parse("<svg><text>a & b</text></svg>"));
  CHECK_THROWS(xml_check::parse("<svg a=\"1\" a=\"2\"/>"));
  CHECK_THROWS(xml_check::parse("<svg/><svg/>"));
  CHECK_THROWS(xml_check::parse("<svg x=1/>"));
  CHECK_NOTHROW(xml_check::parse("<?xml version=\"1.0\"?>\n<svg a=\"&amp;&#38;\"><g/></svg>\n"));
}

TEST_CASE("ticks are round numbers covering the data") {
  const auto t = viz::nice_ticks(0.03, 0.91, 5);
  CHECK(t.step == doctest::Approx(0.2));
  CHECK(t.lo == doctest::Approx(0.0));
  CHECK(t.hi == doctest::Approx(1.0));
  CHECK(t.values.size() == 6);
  CHECK(viz::format_tick(0.4, 0.2) == "0.4");
  CHECK(viz::format_tick(0.25, 0.05) == "0.25");
  CHECK(viz::format_tick(3072, 500) == "3072");
  CHECK(viz::format_tick(1.1e8, 5e7) == "110M");
  CHECK(viz::format_tick(-0, 1) == "0");
  const auto one = viz::nice_ticks(5, 5);
  CHECK(one.lo < 5);
  CHECK(one.hi > 5);
}

TEST_CASE("structure chart: two bars per layer for heads and FFN, two for the hidden size") {
  const auto d = well_formed(viz::structure_chart(synthetic_report("a <b> & c")));
  CHECK(d.count_class("mark") == 4 * 2 * 2 + 2);
  CHECK(d.count_class("before") == 4 * 2 + 1);
  CHECK(d.count_class("after") == 4 * 2 + 1);
  CHECK(has_text(d, "a <b> & c"));
  CHECK(has_text(d, "parameters kept 40.0%"));
  CHECK(has_text(d, "Attention heads per layer"));
  CHECK(has_text(d, "FFN width per layer"));
  CHECK(has_text(d, "layer"));
  // the bars are proportional: layer 0 keeps 5 of 6 heads
  std::vector<double> heights;
  for (const auto& e : d.elements)
    if (e.has_class("mark") && heights.size() < 2) heights.push_back(std::stod(e.attrs.at("height")));
  REQUIRE(heights.size() == 2);
  CHECK(heights[1] / heights[0] == doctest::Approx(5.0 / 6).epsilon(0.02));
  nlohmann::json bad = synthetic_report();
  bad["layers"]["after"].erase(0);
  CHECK_THROWS_AS(viz::structure_chart(bad), vtrans::usage_error);
}

TEST_CASE("trade-off chart: one marker per (method, budget), one line per method, a legend") {
  std::vector<viz::tradeoff_point> pts;
  const char* methods[3] = {"VTrans", "CoFi (hard concrete)", "magnitude"};
  for (int m = 0; m < 3; ++m)
    for (int b = 0; b < 4; ++b) {
      const double frac = 0.1 + 0.2 * b;
      pts.push_back({methods[m], frac, 0.92 - (0.25 + 0.1 * m) * (1 - frac) * (1 - frac), "params=" + std::to_string(frac)});
    }
  viz::tradeoff_options opt;
  opt.y_label = "accuracy";
  opt.reference = 0.92;
  const auto d = well_formed(viz::tradeoff_chart(pts, opt));
  CHECK(d.count_class("mark") == 12);
  CHECK(d.count_class("marker") == 12);
  CHECK(d.count_name("polyline") == 3);
  CHECK(d.count_class("legend") == 1);
  for (const char* m : methods) CHECK(has_text(d, m));
  CHECK(has_text(d, "teacher"));
  CHECK(has_text(d, "parameters kept (% of the teacher)"));
  CHECK(has_text(d, "accuracy"));

  // from report JSONs, on the FLOPs axis
  const auto from_reports = viz::tradeoff_points({synthetic_report("vtrans/vib"), synthetic_report("random")}, viz::tradeoff_axis::flops);
  REQUIRE(from_reports.size() == 2);
  CHECK(from_reports[0].x == doctest::Approx(0.35));
  CHECK(from_reports[1].metric == doctest::Approx(0.885));
  opt.axis = viz::tradeoff_axis::flops;
  const auto d2 = well_formed(viz::tradeoff_chart(from_reports, opt));
  CHECK(d2.count_class("mark") == 2);
  CHECK(d2.count_name("polyline") == 0);  // single points: markers only
  CHECK(has_text(d2, "FLOPs kept (% of the teacher)"));
}

namespace {
prune::attention_probe grid_probe(std::size_t L, std::size_t H, std::size_t kv) {
  prune::attention_probe p;
  p.kv_heads.assign(L, std::int64_t(kv));
  p.layers.assign(L, std::vector<prune::head_attention_stats>(H));
  for (std::size_t l = 0; l < L; ++l)
    for (std::size_t h = 0; h < H; ++h) {
      auto& s = p.layers[l][h];
      s.special = 0.8 * double(h) / double(H);
      s.self = 0.3 * double(l) / double(L);
      s.previous = 0.1;
      s.keyword = 0.05 * double((l + h) % 3);
      s.special_or_self = s.special + s.self;
      s.entropy = 2.0 - s.special;
    }
  p.counts.sequences = 10;
  p.counts.tokens = 123;
  return p;
}
}  // namespace

TEST_CASE("probe heat maps: a cell per (category, layer, head), pruned heads crossed out") {
  const std::size_t L = 4, H = 6;
  const auto probe = grid_probe(L, H, H);
  const auto d = well_formed(viz::probe_heatmaps(probe));
  CHECK(d.count_class("cell") == 5 * L * H);
  CHECK(d.count_class("mark") == 5 * L * H);
  CHECK(d.count_class("pruned") == 0);
  CHECK(has_text(d, "special tokens"));
  CHECK(has_text(d, "entropy (nats)"));
  CHECK(has_text(d, "123 tokens"));

  // with the pruning report: 5+3+0+2 = 10 of 24 groups kept -> 14 pruned, two lines each, per panel
  const auto report = synthetic_report();
  const auto rel = prune::relate_probe_to_report(probe, report);
  CHECK(rel.removed == 14);
  viz::heatmap_options opt;
  opt.categories = {prune::probe_category::special_or_self, prune::probe_category::keyword};
  opt.order_by_removal = true;
  const auto d2 = well_formed(viz::probe_heatmaps(probe, rel, opt));
  CHECK(d2.count_class("cell") == 2 * L * H);
  CHECK(d2.count_class("pruned") == 2 * 2 * 14);
  CHECK(has_text(d2, "heads, earliest removed first"));

  // GQA: 4 query heads in 2 groups; removing a group crosses out both its query heads
  auto gqa = grid_probe(2, 4, 2);
  nlohmann::json r = synthetic_report();
  r["layers"]["before"] = {layer(4, 2, 64), layer(4, 2, 64)};
  r["layers"]["after"] = {layer(2, 1, 64), layer(4, 2, 64)};
  r["kept_heads"] = {{1}, {0, 1}};
  for (auto& t : r["trajectory"]) t["head_scores"] = {{-1.0, 2.0}, {3.0, 3.0}};
  const auto grel = prune::relate_probe_to_report(gqa, r);
  opt.categories = {prune::probe_category::self};
  const auto d3 = well_formed(viz::probe_heatmaps(gqa, grel, opt));
  CHECK(d3.count_class("cell") == 8);
  CHECK(d3.count_class("pruned") == 2 * 2);
}

TEST_CASE("probe removal chart: one marker per key/value group") {
  const auto probe = grid_probe(4, 6, 6);
  const auto rel = prune::relate_probe_to_report(probe, synthetic_report());
  const auto d = well_formed(viz::probe_removal_chart(rel));
  CHECK(d.count_class("mark") == 24);
  CHECK(d.count_class("removed") == 14);
  CHECK(d.count_class("kept") == 10);
  CHECK(has_text(d, "Spearman"));
}

TEST_CASE("trajectory chart: sparsity, target, two multipliers and one log-alpha line per head") {
  const auto d = well_formed(viz::trajectory_chart(synthetic_report()));
  CHECK(d.count_class("series") == 4 + 4 * 6);
  CHECK(d.count_class("mark") == 4 + 4 * 6);
  CHECK(has_text(d, "expected sparsity"));
  CHECK(has_text(d, "target sparsity"));
  CHECK(has_text(d, "\u03bb1"));
  CHECK(has_text(d, "Lagrange multipliers"));
  CHECK(has_text(d, "step"));
  // each series has one point per recorded step
  for (const auto& e : d.elements)
    if (e.has_class("series")) {
      std::istringstream pts(e.attrs.at("points"));
      std::string p;
      int n = 0;
      while (pts >> p) ++n;
      CHECK(n == 21);
    }
  // without head scores: two panels
  auto r = synthetic_report();
  for (auto& t : r["trajectory"]) t.erase("head_scores");
  CHECK(well_formed(viz::trajectory_chart(r)).count_class("series") == 4);
}
