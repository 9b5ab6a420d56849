// vtrans prune: prune a trained model to a budget with VTrans (or a baseline), fine-tune, export
// it as a Hugging Face folder, and report metric, size, FLOPs, latency and time per phase.
#include <boost/program_options.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include "command.hpp"
#include "prune_job.hpp"
#include "vtrans/masks/policies.hpp"
#include "vtrans/tensor/cpu.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace vtrans;

namespace {

// An option whose absence leaves the mask policy's default in place.
template <class V>
po::typed_value<V>* optional_value(std::optional<V>& target) {
  return po::value<V>()->notifier([&target](const V& v) { target = v; });
}

// Every named setting of every trained mask policy, as --NAME (masks/policy.hpp).
void add_policy_settings(po::options_description& opts, std::map<std::string, double>& values) {
  std::set<std::string> seen;
  masks::for_each_policy<masks::trained>([&](auto p) {
    using P = decltype(p);
    typename P::options probe{};
    for (const auto& s : P::settings(probe)) {
      if (!seen.insert(s.name).second) continue;
      const std::string name = s.name;
      opts.add_options()(s.name, po::value<double>()->notifier([&values, name](double v) { values[name] = v; }),
                         (std::string(s.help) + " (default: the policy's)").c_str());
    }
  });
}

// SIGINT/SIGTERM ask the pruning loop to save its state and stop (prune_options::stop_requested).
volatile std::sig_atomic_t stop_signal = 0;
extern "C" void on_stop_signal(int sig) { stop_signal = sig; }

int run(int argc, char** argv) {
  cli::prune_args a;
  cli::device_args device;
  auto& o = a.opt;
  po::options_description opts("vtrans prune: prune a trained model to a budget, fine-tune it and export it");
  opts.add_options()("help,h", "show this help")
    ("model", po::value(&a.model)->required(), "teacher: a Hugging Face folder (config.json, safetensors, tokenizer)")
    ("task", po::value(&a.task), "task (brown-genre, brown-pos, brown-lm, glue:SST-2, tsv, jsonl); default: the one the model was trained on")
    ("data", po::value(&a.data)->required(), "the task's data (Brown corpus folder, GLUE task folder, or file)")
    ("budget", po::value(&a.budget)->default_value(a.budget), "params=FRACTION kept (e.g. 0.3), params=COUNT (e.g. 30M) or flops=FRACTION")
    ("variant", po::value(&a.variant)->default_value(a.variant), "vtrans (masks + weights, all data), fast (a data fraction), faster (masks only, weights frozen)")
    ("masks", po::value(&a.masks)->default_value(a.masks), ("mask policy: " + cli::policy_names() + " (VTrans, CoFi), or the baselines magnitude and random").c_str())
    ("out", po::value(&a.out)->required(), "folder for the pruned model and its reports (must not exist or be empty)")
    ("overwrite", po::bool_switch(&a.overwrite), "replace an existing --out folder (once the new one is complete)")
    ("split", po::value(&a.split)->default_value(a.split), "split the metric is reported on (none: no evaluation)")
    ("dtype", po::value(&a.dtype)->default_value(a.dtype), "the teacher's layer matrices in memory: auto (BF16 / F16 as stored, else float32), float32, "
     "bfloat16, float16. 16-bit matrices are shared by a Faster-VTrans student, widened where weights train; the pruned model is saved in the teacher's type")
    ("prune-epochs", optional_value(o.prune_epochs), "pruning schedule in epochs over the pruning set (default 4; --variant faster 16)")
    ("prune-steps", po::value(&o.prune_steps)->default_value(o.prune_steps), "pruning schedule in steps instead (-1: use --prune-epochs)")
    ("window", po::value(&o.window)->default_value(o.window), "pruning stops once the expected size is within this fraction of the budget")
    ("max-extra", po::value(&o.max_extra)->default_value(o.max_extra), "outside the window, prune at most this many schedules more")
    ("max-extra-steps", po::value(&o.max_extra_steps)->default_value(o.max_extra_steps), "the same cap in steps (-1: use --max-extra)")
    ("finetune-epochs", po::value(&o.finetune_epochs)->default_value(o.finetune_epochs), "fine-tuning epochs after compaction (--variant faster: none)")
    ("finetune-steps", po::value(&o.finetune_steps)->default_value(o.finetune_steps), "fine-tuning steps instead (-1: use --finetune-epochs; faster fine-tunes only when given)")
    ("batch-size", po::value(&o.batch_size)->default_value(o.batch_size), "sequences per step")
    ("lr", po::value(&o.lr_weights)->default_value(o.lr_weights), "weight learning rate (pruning and fine-tuning)")
    ("mask-lr", optional_value(o.lr_masks), "mask learning rate (default: the mask policy's)")
    ("lambda-lr", optional_value(o.lr_lambda), "learning rate of the Lagrange multipliers (default: the mask policy's)")
    ("multipliers", po::value(&a.multipliers), "how the multipliers learn: settling or adam (default: the mask policy's; CoFi adam)")
    ("stiffness", optional_value(o.stiffness), "settling multipliers: the fixed lambda2 (default: the mask policy's)")
    ("warmup", optional_value(o.lagrangian_warmup), "fraction of the pruning schedule over which the target ramps up (default: the mask policy's)")
    ("regularizer-weight", optional_value(o.regularizer_weight), "weight of the masks' regulariser (VIB's KL), per structure and unit (default: the policy's)")
    ("kd-weight", po::value(&o.distill.kd_weight)->default_value(o.distill.kd_weight), "logit distillation weight")
    ("temperature", po::value(&o.distill.temperature)->default_value(o.distill.temperature), "distillation temperature")
    ("task-weight", po::value(&o.distill.task_weight)->default_value(o.distill.task_weight), "weight of the task's own loss")
    ("layer-weight", po::value(&o.distill.layer_weight)->default_value(o.distill.layer_weight), "layer distillation weight (CoFi matching)")
    ("data-fraction", po::value(&o.data_fraction)->default_value(o.data_fraction), "fraction of the training data pruned on by --variant fast and faster")
    ("teacher-cache-mb", po::value(&o.teacher_cache_mb)->default_value(o.teacher_cache_mb), "memory for the teacher's outputs, computed once per example and kept where the model runs (0: off)")
    ("resident-data-mb", po::value(&o.resident_data_mb)->default_value(o.resident_data_mb),
     "memory for the pruning set and the run's batch plan, kept where the model runs so that a step uploads nothing (0: upload each batch)")
    ("round-to", po::value(&o.selection.round_to)->default_value(o.selection.round_to), "round hidden and FFN widths to a multiple (8, 64, 128)")
    ("seq-len", po::value(&a.seq_len)->default_value(0), "sequence length for FLOPs (default: the model's training length)")
    ("no-embeddings", po::bool_switch(&a.no_embeddings), "leave embedding tables out of the parameter count (CoFi's convention)")
    ("seed", po::value(&o.seed)->default_value(o.seed), "random seed")
    ("sync-every", po::value(&o.sync_every)->default_value(o.sync_every),
     "read the loss and expected size on the host every this many steps (a GPU waits for nothing in between)")
    ("trajectory-every", po::value(&o.trajectory_every)->default_value(o.trajectory_every), "record the masks' trajectory every this many steps")
    ("resume", po::bool_switch(&a.resume), "continue an interrupted prune (killed, Ctrl-C) from the state in OUT's .partial folder (same options)")
    ("checkpoint-every", po::value(&o.checkpoint_every)->default_value(o.checkpoint_every), "save the pruning state every this many steps (0: not by count)")
    ("checkpoint-minutes", po::value(&o.checkpoint_minutes)->default_value(o.checkpoint_minutes),
     "save the pruning state every this many minutes (0 and --checkpoint-every 0: no state, no --resume)")
    ("quiet", po::bool_switch(&a.quiet), "no progress output");
  add_policy_settings(opts, o.mask_settings);
  cli::add_device_options(opts, device);
  po::variables_map vm;
  if (!cli::parse_options(argc, argv, opts, vm)) return 0;
  if (a.multipliers == "adam") o.multipliers = masks::multiplier_rule::adam_ascent;
  else if (a.multipliers == "settling") o.multipliers = masks::multiplier_rule::settling;
  else if (!a.multipliers.empty()) throw vtrans::usage_error("--multipliers must be settling or adam, not \"" + a.multipliers + "\"");
  const cli::device_kind where = cli::choose_device(device);
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  o.stop_requested = [] { return stop_signal != 0; };
  try {
    return where == cli::device_kind::cuda ? cli::prune_on_cuda(a) : cli::prune_model<cpu>(a);
  } catch (const vtrans::interrupted& e) {
    std::cerr << "vtrans prune: " << e.what() << "; continue with the same command and --resume\n";
    return 130;
  }
}

const bool registered = cli::add("prune", "prune a model to a budget with VTrans or a baseline, and export it", run);

}  // namespace
