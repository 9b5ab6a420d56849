// Trivial baselines of a task (task_data.hpp): what a model has to beat.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <unordered_map>

#include "encoding.hpp"
#include "task_data.hpp"
#include "tasks.hpp"
#include "vtrans/io/model_config.hpp"
#include "vtrans/tensor/cpu.hpp"
#include "vtrans/text/tokenizer.hpp"
#include "vtrans/text/wordpiece.hpp"
#include "vtrans/train/metrics.hpp"

namespace fs = std::filesystem;

namespace vtrans::cli {

namespace {

// A bag-of-words logistic regression, the classic text classifier a model of a classification
// task should beat: features log(1 + count) * idf of the basic tokenizer's words (lower case,
// punctuation split) seen in at least two training texts, each text's vector L2-normalised;
// softmax regression by SGD over 30 shuffled epochs (rate 0.5 / (1 + epoch / 5); weight decay
// 1e-5 per step on the weights of the words a text has), seed 0. Returns the predicted class of
// every text in `eval`.
std::vector<int> bag_of_words_predictions(const std::vector<data::example>& train_set, const std::vector<data::example>& eval, int classes) {
  const text::wordpiece basic({"[UNK]"});
  const auto words_of = [&](const data::example& ex) {
    auto w = basic.basic_tokenize(ex.text_a);
    if (ex.text_b)
      for (auto& b : basic.basic_tokenize(*ex.text_b)) w.push_back(std::move(b));
    return w;
  };
  std::unordered_map<std::string, std::size_t> doc_freq;
  std::vector<std::vector<std::string>> train_words;
  for (const auto& ex : train_set) {
    if (!ex.label) continue;
    train_words.push_back(words_of(ex));
    std::vector<std::string> seen = train_words.back();
    std::sort(seen.begin(), seen.end());
    seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
    for (const auto& w : seen) ++doc_freq[w];
  }
  std::vector<std::string> vocab;
  for (const auto& [w, df] : doc_freq)
    if (df >= 2) vocab.push_back(w);
  std::sort(vocab.begin(), vocab.end());
  std::unordered_map<std::string, std::size_t> column;
  std::vector<double> idf(vocab.size());
  for (std::size_t i = 0; i < vocab.size(); ++i)
    column[vocab[i]] = i, idf[i] = std::log(double(train_words.size()) / double(doc_freq[vocab[i]]));
  using features = std::vector<std::pair<std::size_t, double>>;
  const auto featurise = [&](const std::vector<std::string>& words) {
    std::map<std::size_t, double> count;
    for (const auto& w : words)
      if (auto it = column.find(w); it != column.end()) count[it->second] += 1;
    features f;
    double norm = 0;
    for (const auto& [c, n] : count) f.emplace_back(c, std::log1p(n) * idf[c]), norm += f.back().second * f.back().second;
    for (auto& [c, v] : f) v /= norm > 0 ? std::sqrt(norm) : 1.0;
    return f;
  };
  std::vector<features> x;
  std::vector<int> y;
  for (std::size_t i = 0, k = 0; i < train_set.size(); ++i)
    if (train_set[i].label) x.push_back(featurise(train_words[k++])), y.push_back(*train_set[i].label);
  const std::size_t K = std::size_t(classes), V = vocab.size();
  std::vector<double> w(V * K, 0.0), bias(K, 0.0), p(K);
  const auto scores = [&](const features& f, std::vector<double>& out) {
    for (std::size_t c = 0; c < K; ++c) out[c] = bias[c];
    for (const auto& [j, v] : f)
      for (std::size_t c = 0; c < K; ++c) out[c] += w[j * K + c] * v;
  };
  std::vector<std::size_t> order(x.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::mt19937_64 rng(0);
  for (int epoch = 0; epoch < 30; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    const double rate = 0.5 / (1.0 + epoch / 5.0), decay = 1.0 - rate * 1e-5;
    for (std::size_t i : order) {
      scores(x[i], p);
      const double top = *std::max_element(p.begin(), p.end());
      double z = 0;
      for (auto& v : p) z += (v = std::exp(v - top));
      for (std::size_t c = 0; c < K; ++c) {
        const double g = p[c] / z - (int(c) == y[i] ? 1.0 : 0.0);
        bias[c] -= rate * g;
        for (const auto& [j, v] : x[i]) w[j * K + c] = w[j * K + c] * decay - rate * g * v;
      }
    }
  }
  std::vector<int> pred;
  for (const auto& ex : eval) {
    scores(featurise(words_of(ex)), p);
    pred.push_back(int(std::max_element(p.begin(), p.end()) - p.begin()));
  }
  return pred;
}

std::map<std::string, double> baseline_metrics(task_source& src, const std::string& split, const text::tokenizer* tok, const encoding_setup* e) {
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
      if (!tok || !e) throw vtrans::usage_error("the unigram baseline needs the model's tokenizer (--model)");
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
      const std::vector<data::example> train_set = src.read_split("train").examples;
      std::vector<data::example> labelled;  // the split's examples that have a label
      for (auto& ex : src.read_split(split).examples)
        if (ex.label) labelled.push_back(std::move(ex));
      std::map<int, std::size_t> c;
      for (const auto& ex : train_set)
        if (ex.label) ++c[*ex.label];
      if (c.empty()) throw vtrans::usage_error("the majority baseline needs labelled training data");
      const int majority = std::max_element(c.begin(), c.end(), [](const auto& a, const auto& b) { return a.second < b.second; })->first;
      std::vector<int> gold;
      for (const auto& ex : labelled) gold.push_back(*ex.label);
      const std::vector<int> pred(gold.size(), majority);
      m["accuracy"] = train::accuracy(pred, gold);
      m["macro_f1"] = train::f1_macro(pred, gold);
      m["mcc"] = train::matthews_corrcoef(pred, gold);
      m["majority_class"] = majority;
      int classes = c.rbegin()->first + 1;
      for (int g : gold) classes = std::max(classes, g + 1);
      const auto bow = bag_of_words_predictions(train_set, labelled, classes);
      m["bag_of_words_accuracy"] = train::accuracy(bow, gold);
      m["bag_of_words_macro_f1"] = train::f1_macro(bow, gold);
      return m;
    }
  }
}

}  // namespace

// Trivial baselines of a task: majority class and a bag-of-words logistic regression
// (classification), mean score (regression), most frequent tag per word (brown-pos), add-one
// unigram (LM; needs the model's tokenizer).
std::map<std::string, double> baseline_task(const std::string& model_dir, const std::string& task_name, const std::string& data,
                                            const std::string& train_data, const std::string& split, long max_length, bool pair,
                                            bool header) {
  const auto args = model_dir.empty() ? nlohmann::json::object() : saved_args(model_dir);
  const std::string tname = !task_name.empty() ? task_name : args.value("task", std::string());
  if (tname.empty()) throw vtrans::usage_error("--task is required");
  std::optional<io::model_config> config;
  if (!model_dir.empty()) config = io::load_config((fs::path(model_dir) / "config.json").string());
  const task_spec spec = parse_task(tname, config ? std::optional<io::family>(config->family) : std::nullopt, config && config->problem_type == "regression");
  const bool file_task = spec.from_file();
  source_options so = make_source_options(spec, data, "", pair || args.value("pair", false), header || args.value("header", false),
                                          config && config->problem_type == "regression");
  if (file_task) {
    if (train_data.empty()) throw vtrans::usage_error("--baseline for " + tname + " needs --train-data (the training file)");
    so.files = {{"train", train_data}, {split, data}};
  }
  task_source src(spec, so);
  std::unique_ptr<text::tokenizer> tok;
  std::optional<encoding_setup> enc;
  if (!model_dir.empty() && spec.language_model()) {
    tok = text::load_tokenizer(model_dir);
    const index len = max_length > 0 ? index(max_length) : args.value("max_length", index(128));
    enc = make_encoding_setup(config->family, *tok, len);
  }
  return baseline_metrics(src, split, tok.get(), enc ? &*enc : nullptr);
}

}  // namespace vtrans::cli
