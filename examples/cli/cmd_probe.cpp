// vtrans probe: what each attention head of the unpruned model attends to (special tokens, the
// token itself, the previous token, task keywords, entropy), and — given a pruning report — how
// that relates to which heads VTrans removed and when.
#include <boost/program_options.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "command.hpp"
#include "task_data.hpp"
#include "vtrans/io/atomic_file.hpp"
#include "probe_job.hpp"
#include "vtrans/prune/probe.hpp"
#include "vtrans/tensor/cpu.hpp"
#include "vtrans/text/tokenizer.hpp"
#include "vtrans/viz/charts.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace vtrans;

namespace {

int run(int argc, char** argv) {
  std::string model, task, data, split = "dev", report, out;
  long limit = 256, batch_size = 16;
  cli::device_args device;
  po::options_description opts("vtrans probe: attention statistics per head, related to a pruning run");
  opts.add_options()("help,h", "show this help")("model", po::value(&model)->required(), "the unpruned model folder")(
      "task", po::value(&task), "task (default: the model's own)")("data", po::value(&data)->required(), "the task's data")(
      "split", po::value(&split)->default_value(split), "split to probe on")(
      "limit", po::value(&limit)->default_value(limit), "sequences to probe (0: all)")(
      "batch-size", po::value(&batch_size)->default_value(batch_size), "sequences per forward pass")(
      "report", po::value(&report), "prune_report.json of a VTrans run on this model: relate heads to their removal")(
      "out", po::value(&out)->required(), "folder for probe.json and the pictures");
  cli::add_device_options(opts, device);
  po::variables_map vm;
  if (!cli::parse_options(argc, argv, opts, vm)) return 0;
  const cli::device_kind where = cli::choose_device(device);
  io::make_output_folder(out, "--out");
  auto split_data = cli::encode_task_split(model, task, data, split);
  if (limit > 0 && split_data.sequences.size() > std::size_t(limit)) split_data.sequences.resize(std::size_t(limit));
  const auto tok = text::load_tokenizer(model);
  std::vector<std::int32_t> special;
  const auto s = tok->specials();
  for (auto id : {s.cls, s.sep, s.bos, s.eos})
    if (id >= 0) special.push_back(id);
  // keywords: the tokens most associated with each label (labelled tasks only)
  std::vector<prune::keyword> keywords;
  bool labelled = false;
  for (const auto& q : split_data.sequences) labelled = labelled || q.label.has_value();
  if (labelled) {
    prune::keyword_options ko;
    ko.exclude = special;
    keywords = prune::select_keywords(cli::encode_task_split(model, task, data, "train").sequences, ko);
  }
  const auto batches = prune::probe_batches(split_data.sequences, batch_size, split_data.max_length, split_data.pad_id);
  const auto ids = prune::keyword_ids(keywords);
  const prune::attention_probe probe = where == cli::device_kind::cuda ? cli::probe_on_cuda(model, batches, special, ids)
                                                                      : cli::probe_model<cpu>(model, batches, special, ids);
  nlohmann::json j = prune::probe_json(probe);
  j["keywords"] = prune::keywords_json(keywords);
  viz::heatmap_options ho;
  ho.title = "Attention per head: " + model;
  if (!report.empty()) {
    std::ifstream in(report);
    if (!in) throw std::runtime_error(report + ": cannot open");
    const auto rel = prune::relate_probe_to_report(probe, nlohmann::json::parse(in));
    j["relation"] = prune::relation_json(rel);
    viz::probe_heatmaps(probe, rel, ho).save((fs::path(out) / "probe_heatmaps.svg").string());
    viz::chart_options co;
    co.title = "Attention to special and current tokens against removal order";
    viz::probe_removal_chart(rel, prune::probe_category::special_or_self, co).save((fs::path(out) / "probe_removal.svg").string());
    std::cout << "heads removed " << rel.removed << ", kept " << rel.kept << "\n"
              << "special+self mass: removed " << rel.special_self_removed << ", kept " << rel.special_self_kept
              << "; Spearman with removal order " << rel.spearman_special_self_order << "\n"
              << "keyword mass: removed " << rel.keyword_removed << ", kept " << rel.keyword_kept << "\n"
              << "claim 'special/current-token heads go first': " << (rel.supports_special_self_first ? "supported" : "not supported")
              << "; 'kept heads attend more to keywords': " << (rel.supports_keywords_kept ? "supported" : "not supported") << "\n";
  } else {
    viz::probe_heatmaps(probe, ho).save((fs::path(out) / "probe_heatmaps.svg").string());
  }
  io::write_file_atomic((fs::path(out) / "probe.json").string(), j.dump(2));
  std::cout << "wrote " << out << "/probe.json and pictures\n";
  return 0;
}

const bool registered = cli::add("probe", "attention statistics per head, related to a pruning run", run);

}  // namespace
