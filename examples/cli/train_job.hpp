#pragma once
// vtrans train's work on backend B (device.hpp): train a fresh model (or fine-tune a pre-trained
// one, --init) on a task's encoded splits, checkpointing as it goes, and write it with its
// evaluation into the work folder.
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

#include "encoding.hpp"
#include "load_model.hpp"
#include "tasks.hpp"
#include "work_folder.hpp"
#include "vtrans/data/batching.hpp"
#include "vtrans/error.hpp"
#include "vtrans/io/atomic_file.hpp"
#include "vtrans/io/make_config.hpp"
#include "vtrans/nn/copy_weights.hpp"
#include "vtrans/nn/save.hpp"
#include "vtrans/text/tokenizer.hpp"
#include "vtrans/train/evaluate.hpp"
#include "vtrans/train/jsonl_log.hpp"
#include "vtrans/train/progress.hpp"
#include "vtrans/train/trainer.hpp"

namespace vtrans::cli {

struct train_args {
  std::string family = "bert", task, data, eval_data, out, tokenizer_dir, init;
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

inline nlohmann::json args_json(const train_args& a) {
  return {{"family", a.family},       {"task", a.task},           {"hidden", a.hidden},
          {"layers", a.layers},       {"heads", a.heads},         {"ffn", a.ffn},
          {"max_length", a.max_length}, {"vocab_size", a.vocab_size}, {"steps", a.steps},
          {"epochs", a.epochs},       {"batch_size", a.batch_size}, {"grad_accum", a.grad_accum},
          {"lr", a.lr},               {"warmup", a.warmup},       {"weight_decay", a.weight_decay},
          {"dropout", a.dropout},     {"schedule", a.schedule},   {"seed", a.seed},
          {"max_grad_norm", a.max_grad_norm}, {"pair", a.pair},    {"header", a.header},
          {"regression", a.regression}, {"mlm_probability", a.mlm_probability}, {"init", a.init}};
}

// The sizes asked for, the tokenizer's special tokens (encoders: [CLS] / [SEP] as bos / eos)
// and the task's labels.
inline io::fresh_model fresh_model(io::family f, const train_args& a, const text::tokenizer& tok, const std::vector<std::string>& labels) {
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

inline std::string fmt(double v, int digits = 4) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(digits);
  s << v;
  return s.str();
}

inline std::string metrics_line(const std::map<std::string, double>& m) {
  std::string out;
  for (const auto& [k, v] : m) out += (out.empty() ? "" : "  ") + k + " " + fmt(v);
  return out;
}

// A loss or gradient that is no longer a finite number: training stops before the next checkpoint
// could save diverged weights, naming the step and the quantity.
inline void check_finite(const train::step_report& r, train::task_kind task, const std::filesystem::path& ckpt) {
  const char* what = !std::isfinite(r.loss) ? "loss" : !std::isfinite(r.grad_norm) ? "gradient norm" : nullptr;
  if (!what) return;
  const double v = !std::isfinite(r.loss) ? r.loss : r.grad_norm;
  const std::string last = train::is_training_checkpoint(ckpt.string()) ? "--resume continues from the last checkpoint" : "no checkpoint was saved";
  std::ostringstream m;
  m << "training diverged at step " << r.step << ": the " << train::task_kind_name(task) << " " << what << " is " << v << " (learning rate "
    << r.lr << "); nothing was written to --out, " << last << "; try a lower --lr or --max-grad-norm";
  throw error(m.str());
}

template <class B>
int train_model(const train_args& a, io::family f, task_source& src, std::unique_ptr<text::tokenizer> tok, io::folder_writer& folder) {
  using model_t = model_on<B>;
  const auto& spec = src.spec();
  const std::filesystem::path out(folder.path());  // the work folder; renamed onto --out when complete
  const bool progress_on = !a.quiet;
  auto now = [] { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); };
  const double t0 = now();

  const auto labels = src.labels();
  const io::model_config config = a.init.empty() ? io::make_config(f, fresh_model(f, a, *tok, labels), "vtrans train")
                                                  : io::for_task(io::load_config((std::filesystem::path(a.init) / "config.json").string()),
                                                                 labels, a.dropout, a.init + "/config.json");
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
  if (!a.init.empty() && !a.resume) {
    const std::vector<std::string> fresh = nn::copy_matching_weights(load_model<B>(a.init), model);
    std::cerr << "init: " << model.parameters().size() - fresh.size() << " of " << model.parameters().size() << " weights from " << a.init;
    for (std::size_t i = 0; i < fresh.size(); ++i) std::cerr << (i ? ", " : "; new: ") << fresh[i];
    std::cerr << "\n";
  }
  train::adamw_options ao;
  ao.lr = a.lr;
  ao.weight_decay = a.weight_decay;
  train::adamw<float, B> optimizer(model.parameters(), ao, {train::no_decay_group()});
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
  if (spec.objective == train::task_kind::masked_lm && to.mlm.mask_id < 0) throw usage_error("masked LM needs a tokenizer with a mask token");
  train::trainer<model_t> trainer(model, optimizer, loader, to);

  const std::filesystem::path ckpt = out / "checkpoint";
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
  const double total_seconds = now() - t0;
  nlohmann::json end{{"event", "end"}, {"train_seconds", train_seconds}, {"total_seconds", total_seconds}};
  end["step"] = trainer.state().step;
  log.write(end);
  folder.commit();
  std::cout << "wrote " << folder.target() << " (train " << fmt(train_seconds, 1) << " s, total " << fmt(total_seconds, 1) << " s)\n";
  return 0;
}

// The same on vtrans::cuda (cuda/jobs_train.cu; cuda/no_cuda.cpp in a build without nvcc).
int train_on_cuda(const train_args& a, io::family f, task_source& src, std::unique_ptr<text::tokenizer> tok, io::folder_writer& folder);

}  // namespace vtrans::cli
