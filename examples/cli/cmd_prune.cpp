// vtrans prune: prune a trained model to a budget with VTrans (or a baseline), fine-tune, export
// it as a Hugging Face folder, and report metric, size, FLOPs, latency and time per phase.
#include <boost/program_options.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "command.hpp"
#include "load_model.hpp"
#include "task_data.hpp"
#include "tokenizer_files.hpp"
#include "vtrans/io/atomic_file.hpp"
#include "vtrans/prune/baselines.hpp"
#include "vtrans/prune/export.hpp"
#include "vtrans/prune/report.hpp"
#include "vtrans/prune/vtrans.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace vtrans;

namespace {

struct prune_args {
  std::string model, task, data, out, budget = "params=0.5", variant = "vtrans", masks = "vib", split = "test";
  prune::prune_options opt;
  bool no_embeddings = false, quiet = false, overwrite = false;
  vtrans::index seq_len = 0;
};

// One compiled pruning run for every family: the teacher's family comes from its config.
int prune_model(const prune_args& a) {
  using Family = nn::any_family;
  // Everything that can be refused is refused before the work: the budget as written, the
  // output folder, then the budget against the teacher's size.
  prune::prune_options o = a.opt;
  o.target = prune::budget::parse(a.budget);
  o.target.count_embeddings = !a.no_embeddings;
  io::folder_writer out(a.out, a.overwrite, "--out");
  auto teacher = cli::load_model(a.model);
  prune::check_budget(o.target, teacher.config(), teacher.head());  // parameter counts do not depend on seq_len
  const cli::task_split train = cli::encode_task_split(a.model, a.task, a.data, "train");
  data::collate_options col;
  col.pad_id = train.pad_id;
  col.max_length = train.max_length;
  o.target.seq_len = a.seq_len > 0 ? a.seq_len : train.max_length;
  o.kind = prune::parse_variant(a.variant);
  if (a.quiet) o.progress = train::progress_style::silent;

  using dense_t = nn::transformer<Family, masks::none, cpu, float>;
  std::optional<prune::prune_result<dense_t>> r;
  std::string method;
  if (a.masks == "vib") {
    r.emplace(prune::vtrans_prune<masks::vib>(teacher, train.objective, train.sequences, col, o));
    method = std::string(prune::variant_name(o.kind)) + "/vib";
  } else if (a.masks == "hard_concrete") {
    r.emplace(prune::vtrans_prune<masks::hard_concrete>(teacher, train.objective, train.sequences, col, o));
    method = std::string(prune::variant_name(o.kind)) + "/hard_concrete";
  } else if (a.masks == "magnitude" || a.masks == "random") {
    const auto kind = a.masks == "magnitude" ? prune::baseline::magnitude : prune::baseline::random;
    r.emplace(prune::baseline_prune(teacher, kind, train.objective, train.sequences, col, o));
    method = a.masks;
  } else {
    throw std::invalid_argument("--masks must be vib, hard_concrete, magnitude or random, not \"" + a.masks + "\"");
  }

  // The folder is assembled beside --out and renamed into place whole once the reports are in.
  prune::save_pruned(r->model, r->kept, teacher.config(), out.path());
  cli::copy_tokenizer_files(a.model, out.path(), {"training_args.json"});  // as usable as the teacher's folder

  // metric of both models on the evaluation split, latency on a batch of full-length inputs
  const auto metric_of = [&](const std::string& dir) { return cli::evaluate_task(dir, a.task, a.data, a.split, 64, 0, false, false, true); };
  const auto mt = metric_of(a.model), mp = metric_of(out.path());
  const std::string metric_name = mt.count("accuracy") ? "accuracy" : mt.count("perplexity") ? "perplexity" : mt.begin()->first;
  nn::batch_input in;
  in.batch = std::min<vtrans::index>(8, vtrans::index(train.sequences.size()));
  in.seq = train.max_length;
  for (vtrans::index b = 0; b < in.batch; ++b) {
    auto ids = train.sequences[std::size_t(b)].ids;
    ids.resize(std::size_t(in.seq), train.pad_id);
    in.ids.insert(in.ids.end(), ids.begin(), ids.end());
  }
  prune::run_summary s{method, o.target.str(), metric_name, mt.at(metric_name), mp.at(metric_name),
                       prune::measure_latency_ms(teacher, in), prune::measure_latency_ms(r->model, in)};
  const auto j = prune::report_json(s, teacher, *r);
  io::write_file_atomic((fs::path(out.path()) / "prune_report.json").string(), j.dump(2));
  const std::string md = prune::report_markdown(j);
  io::write_file_atomic((fs::path(out.path()) / "prune_report.md").string(), md);
  out.commit();
  std::cout << md << "\nwrote " << a.out << " (model, prune_report.json, prune_report.md)\n";
  return 0;
}

int run(int argc, char** argv) {
  prune_args a;
  auto& o = a.opt;
  po::options_description opts("vtrans prune: prune a trained model to a budget, fine-tune it and export it");
  opts.add_options()("help,h", "show this help")
    ("model", po::value(&a.model)->required(), "teacher: a Hugging Face folder (config.json, safetensors, tokenizer)")
    ("task", po::value(&a.task), "task (brown-genre, brown-pos, brown-lm, glue:SST-2, tsv, jsonl); default: the one the model was trained on")
    ("data", po::value(&a.data)->required(), "the task's data (Brown corpus folder, GLUE task folder, or file)")
    ("budget", po::value(&a.budget)->default_value(a.budget), "params=FRACTION kept (e.g. 0.3), params=COUNT (e.g. 30M) or flops=FRACTION")
    ("variant", po::value(&a.variant)->default_value(a.variant), "vtrans (masks + weights, all data), fast (a data fraction), faster (masks only, weights frozen)")
    ("masks", po::value(&a.masks)->default_value(a.masks), "vib (VTrans), hard_concrete (CoFi), magnitude or random (baselines)")
    ("out", po::value(&a.out)->required(), "folder for the pruned model and its reports (must not exist or be empty)")
    ("overwrite", po::bool_switch(&a.overwrite), "replace an existing --out folder (once the new one is complete)")
    ("split", po::value(&a.split)->default_value(a.split), "split the metric is reported on")
    ("prune-steps", po::value(&o.prune_steps)->default_value(o.prune_steps), "mask-training steps")
    ("max-extra-steps", po::value(&o.max_extra_steps)->default_value(o.max_extra_steps), "keep pruning up to this many more steps while the expected size misses the target")
    ("finetune-steps", po::value(&o.finetune_steps)->default_value(o.finetune_steps), "fine-tuning steps after compaction (-1: 300, or 0 for --variant faster, which trains masks only)")
    ("batch-size", po::value(&o.batch_size)->default_value(o.batch_size), "sequences per step")
    ("lr", po::value(&o.lr_weights)->default_value(o.lr_weights), "weight learning rate (pruning and fine-tuning)")
    ("mask-lr", po::value(&o.lr_masks)->default_value(o.lr_masks), "mask learning rate")
    ("lambda-lr", po::value(&o.lr_lambda)->default_value(o.lr_lambda), "learning rate of the Lagrange multipliers (gradient ascent)")
    ("keep-temperature", po::value(&o.vib.keep_temperature)->default_value(o.vib.keep_temperature), "VIB: beta in P(keep) = sigmoid(beta log alpha), the size estimate the budget acts on")
    ("kl-weight", po::value(&o.kl_weight)->default_value(o.kl_weight), "weight of the VIB KL term (per structure, per unit)")
    ("warmup", po::value(&o.lagrangian_warmup)->default_value(o.lagrangian_warmup), "fraction of pruning steps over which the target sparsity ramps up")
    ("kd-weight", po::value(&o.distill.kd_weight)->default_value(o.distill.kd_weight), "logit distillation weight")
    ("temperature", po::value(&o.distill.temperature)->default_value(o.distill.temperature), "distillation temperature")
    ("task-weight", po::value(&o.distill.task_weight)->default_value(o.distill.task_weight), "weight of the task's own loss")
    ("layer-weight", po::value(&o.distill.layer_weight)->default_value(o.distill.layer_weight), "layer distillation weight (CoFi matching)")
    ("data-fraction", po::value(&o.data_fraction)->default_value(o.data_fraction), "fraction of the training data for --variant fast")
    ("round-to", po::value(&o.selection.round_to)->default_value(o.selection.round_to), "round hidden and FFN widths to a multiple (8, 64, 128)")
    ("seq-len", po::value(&a.seq_len)->default_value(0), "sequence length for FLOPs (default: the model's training length)")
    ("no-embeddings", po::bool_switch(&a.no_embeddings), "leave embedding tables out of the parameter count (CoFi's convention)")
    ("seed", po::value(&o.seed)->default_value(o.seed), "random seed")
    ("quiet", po::bool_switch(&a.quiet), "no progress output");
  po::variables_map vm;
  if (!cli::parse_options(argc, argv, opts, vm)) return 0;
  return prune_model(a);
}

const bool registered = cli::add("prune", "prune a model to a budget with VTrans or a baseline, and export it", run);

}  // namespace
