#pragma once
// vtrans prune's work on backend B (device.hpp): prune a teacher folder to a budget with VTrans
// or a baseline, fine-tune, export the pruned folder and its reports.
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string>

#include "eval_job.hpp"
#include "load_model.hpp"
#include "task_data.hpp"
#include "tokenizer_files.hpp"
#include "work_folder.hpp"
#include "vtrans/io/atomic_file.hpp"
#include "vtrans/masks/policies.hpp"
#include "vtrans/prune/baselines.hpp"
#include "vtrans/prune/export.hpp"
#include "vtrans/prune/report.hpp"
#include "vtrans/prune/vtrans.hpp"

namespace vtrans::cli {

struct prune_args {
  std::string model, task, data, out, budget = "params=0.5", variant = "vtrans", masks = "vib", split = "test", multipliers, dtype = "auto";
  prune::prune_options opt;
  bool no_embeddings = false, quiet = false, overwrite = false, resume = false;
  index seq_len = 0;
};

inline std::string policy_names() {
  std::string names;
  masks::for_each_policy<masks::trained>([&](auto p) { names += (names.empty() ? "" : ", ") + std::string(decltype(p)::name()); });
  return names;
}

// One compiled pruning run for every family on backend B: the teacher's family comes from its config.
template <class B>
int prune_model(const prune_args& a) {
  // Everything that can be refused is refused before the work: the budget as written, the
  // output folder, then the budget against the teacher's size.
  prune::prune_options o = a.opt;
  o.target = prune::budget::parse(a.budget);
  nn::load_options load = nn::load_options::from_environment();
  load.matrices = parse_matrix_dtype(a.dtype);
  o.target.count_embeddings = !a.no_embeddings;
  // The work folder keeps the pruning state (OUT's ".partial" sibling/pruning_state) for --resume.
  io::folder_writer out = work_folder({a.out, a.overwrite, a.resume, "pruning state",
                                       [](const std::filesystem::path& dir) { return prune::is_pruning_state((dir / "pruning_state").string()); },
                                       false});
  const std::filesystem::path state_dir = std::filesystem::path(out.path()) / "pruning_state";
  if (o.checkpoint_every > 0 || o.checkpoint_minutes > 0) o.state_dir = state_dir.string();
  o.resume = a.resume;
  if (a.resume) std::cerr << "resuming from the pruning state in " << state_dir.string() << "\n";
  auto teacher = load_model<B>(a.model, load);
  prune::check_budget(o.target, teacher.config(), teacher.head());  // parameter counts do not depend on seq_len
  const task_split train = encode_task_split(a.model, a.task, a.data, "train");
  data::collate_options col;
  col.pad_id = train.pad_id;
  col.max_length = train.max_length;
  o.target.seq_len = a.seq_len > 0 ? a.seq_len : train.max_length;
  o.kind = prune::parse_variant(a.variant);
  if (a.quiet) o.progress = train::progress_style::silent;

  using dense_t = model_on<B>;
  std::optional<prune::prune_result<dense_t>> r;
  std::string method;
  if (!o.state_dir.empty()) out.keep_staging();  // from here on a failed or stopped run leaves its state for --resume
  const bool trained = masks::with_policy<masks::trained>(a.masks, [&](auto policy) {
    using P = decltype(policy);
    r.emplace(prune::vtrans_prune<P>(teacher, train.objective, train.sequences, col, o));
    method = std::string(prune::variant_name(o.kind)) + "/" + P::name();
  });
  if (!trained && (a.masks == "magnitude" || a.masks == "random")) {
    const auto kind = a.masks == "magnitude" ? prune::baseline::magnitude : prune::baseline::random;
    r.emplace(prune::baseline_prune(teacher, kind, train.objective, train.sequences, col, o));
    method = a.masks;
  } else if (!trained) {
    throw usage_error("--masks must be " + policy_names() + ", magnitude or random, not \"" + a.masks + "\"");
  }

  // The folder is assembled beside --out and renamed into place whole once the reports are in;
  // the pruning state is not part of it.
  prune::save_pruned(r->model, r->kept, teacher.config(), out.path());
  copy_tokenizer_files(a.model, out.path(), {"training_args.json"});  // as usable as the teacher's folder

  // metric of both models on the evaluation split, latency on a batch of full-length inputs
  const auto metric_of = [&](const std::string& dir) {
    if (a.split == "none") return std::map<std::string, double>{{"none", 0.0}};
    return evaluate_prepared<B>(prepare_split(dir, a.task, a.data, a.split, 0, false, false), dir, 64, a.quiet, load.matrices);
  };
  const auto mt = metric_of(a.model), mp = metric_of(out.path());
  // the task's headline metric (not a count such as "examples" that sorts first)
  const std::string metric_name = [&] {
    for (const char* m : {"accuracy", "token_accuracy", "perplexity", "pearson", "none"})
      if (mt.count(m)) return std::string(m);
    for (const auto& [name, value] : mt)
      if (name != "examples" && name != "tokens") return name;
    return mt.begin()->first;
  }();
  nn::batch_input in;
  in.batch = std::min<index>(8, index(train.sequences.size()));
  in.seq = train.max_length;
  for (index b = 0; b < in.batch; ++b) {
    auto ids = train.sequences[std::size_t(b)].ids;
    ids.resize(std::size_t(in.seq), train.pad_id);
    in.ids.insert(in.ids.end(), ids.begin(), ids.end());
  }
  const auto latency = [&](const char* label) {
    prune::latency_options lo;
    lo.label = label;
    lo.progress = a.quiet ? train::progress_style::silent : train::progress_style::automatic;
    return lo;
  };
  prune::run_summary s{method, o.target.str(), metric_name, mt.at(metric_name), mp.at(metric_name),
                       prune::measure_latency_ms(teacher, in, latency("latency: teacher")),
                       prune::measure_latency_ms(r->model, in, latency("latency: pruned"))};
  const auto j = prune::report_json(s, teacher, *r);
  io::write_file_atomic((std::filesystem::path(out.path()) / "prune_report.json").string(), j.dump(2));
  const std::string md = prune::report_markdown(j);
  io::write_file_atomic((std::filesystem::path(out.path()) / "prune_report.md").string(), md);
  std::filesystem::remove_all(state_dir);
  out.commit();
  std::cout << md << "\nwrote " << a.out << " (model, prune_report.json, prune_report.md)\n";
  return 0;
}

// The same on vtrans::cuda (cuda/jobs_prune.cu; cuda/no_cuda.cpp in a build without nvcc).
int prune_on_cuda(const prune_args& a);

}  // namespace vtrans::cli
