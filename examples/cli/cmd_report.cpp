// vtrans report: pictures and a Markdown summary from pruning reports (prune_report.json).
#include <boost/program_options.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "command.hpp"
#include "vtrans/io/atomic_file.hpp"
#include "vtrans/prune/report.hpp"
#include "vtrans/tensor/cpu.hpp"
#include "vtrans/viz/charts.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace vtrans;

namespace {

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(path + ": not JSON (" + e.what() + ")");
  }
}

std::string safe_name(std::string s) {
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  return s;
}

int run(int argc, char** argv) {
  std::vector<std::string> runs;
  std::string out;
  po::options_description opts("vtrans report: pictures (SVG) and a summary table from pruning reports");
  opts.add_options()("help,h", "show this help")("runs", po::value(&runs)->multitoken()->required(), "prune_report.json files of the runs")(
      "out", po::value(&out)->required(), "folder for report.md and the SVG pictures");
  po::variables_map vm;
  if (!cli::parse_options(argc, argv, opts, vm)) return 0;
  io::make_output_folder(out, "--out");
  std::vector<nlohmann::json> reports;
  for (const auto& r : runs) reports.push_back(read_json(r));

  std::ostringstream md;
  const auto& first = reports.front();
  md << "# vtrans pruning report\n\n| model | " << first["metric"]["name"].get<std::string>()
     << " | parameters | FLOPs/token | latency speed-up (" << first.value("device", std::string("cpu")) << ") | pruning s | fine-tuning s | total s |\n|---|---|---|---|---|---|---|---|\n";
  md << "| teacher | " << prune::fixed(first["metric"]["teacher"], 4) << " | " << prune::fixed(first["params"]["before"], 0) << " | "
     << prune::fixed(first["flops_per_token"]["before"], 0) << " | 1.00x | | | |\n";
  for (const auto& j : reports)
    md << "| " << j["method"].get<std::string>() << " " << j["budget"].get<std::string>() << " | " << prune::fixed(j["metric"]["pruned"], 4) << " | "
       << prune::fixed(j["params"]["after"], 0) << " (" << prune::fixed(100 * j["params"]["fraction"].get<double>(), 1) << "%) | "
       << prune::fixed(j["flops_per_token"]["after"], 0) << " (" << prune::fixed(100 * j["flops_per_token"]["fraction"].get<double>(), 1)
       << "%) | " << prune::fixed(j["latency_ms"]["speedup"], 2) << "x | " << prune::fixed(j["seconds"]["prune"], 1) << " | "
       << prune::fixed(j["seconds"]["finetune"], 1) << " | " << prune::fixed(j["seconds"]["total"], 1) << " |\n";
  const std::string table = md.str();

  md << "\n## Metric against size\n\n";
  for (auto axis : {viz::tradeoff_axis::params, viz::tradeoff_axis::flops}) {
    viz::tradeoff_options o;
    o.axis = axis;
    o.title = std::string("Metric against ") + (axis == viz::tradeoff_axis::params ? "parameters" : "FLOPs per token");
    o.x_label = axis == viz::tradeoff_axis::params ? "parameters kept (%)" : "FLOPs per token kept (%)";
    o.y_label = first["metric"]["name"].get<std::string>();
    o.reference = first["metric"]["teacher"].get<double>();
    const std::string file = axis == viz::tradeoff_axis::params ? "tradeoff_params.svg" : "tradeoff_flops.svg";
    viz::tradeoff_chart(viz::tradeoff_points(reports, axis), o).save((fs::path(out) / file).string());
    md << "![" << o.title << "](" << file << ")\n\n";
  }
  for (const auto& j : reports) {
    const std::string tag = safe_name(j["method"].get<std::string>() + "_" + j["budget"].get<std::string>());
    viz::chart_options co;
    co.title = "Kept structure per layer: " + j["method"].get<std::string>() + " at " + j["budget"].get<std::string>();
    viz::structure_chart(j, co).save((fs::path(out) / ("structure_" + tag + ".svg")).string());
    md << "## " << j["method"].get<std::string>() << " at " << j["budget"].get<std::string>() << "\n\n![structure](structure_" << tag << ".svg)\n\n";
    if (!j["trajectory"].empty()) {
      co.title = "Mask trajectory: " + j["method"].get<std::string>();
      viz::trajectory_chart(j, co).save((fs::path(out) / ("trajectory_" + tag + ".svg")).string());
      md << "![trajectory](trajectory_" << tag << ".svg)\n\n";
    }
  }
  io::write_file_atomic((fs::path(out) / "report.md").string(), md.str());
  std::cout << table << "\nwrote " << (fs::path(out) / "report.md").string() << " and its pictures\n";
  return 0;
}

const bool registered = cli::add("report", "pictures and a summary table from pruning reports", run);

}  // namespace
