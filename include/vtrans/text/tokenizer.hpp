#pragma once
// One interface over the tokenizers, and load_tokenizer(dir) choosing by the files present:
//   tokenizer.json (BPE -> byte-level BPE, WordPiece -> WordPiece), vocab.txt (WordPiece),
//   vocab.json + merges.txt or encoder.json + vocab.bpe (byte-level BPE), tokenizer.model (SentencePiece).
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "vtrans/error.hpp"
#include "vtrans/io/errors.hpp"
#include "vtrans/text/byte_bpe.hpp"
#include "vtrans/text/encoding.hpp"
#include "vtrans/text/json_field.hpp"
#include "vtrans/text/post_processor_json.hpp"
#include "vtrans/text/read_file.hpp"
#include "vtrans/text/wordpiece.hpp"
#if defined(VTRANS_WITH_SENTENCEPIECE)  // defined by the CMake target vtrans::sentencepiece
#include "vtrans/text/sentencepiece.hpp"
#endif

namespace vtrans::text {

// Ids of the special tokens a model uses; -1 where it has none.
struct special_ids {
  token_id bos = -1, eos = -1, cls = -1, sep = -1, pad = -1, unk = -1, mask = -1;
};

class tokenizer {
 public:
  virtual ~tokenizer() = default;
  virtual std::string kind() const = 0;  // "wordpiece", "byte_bpe" or "sentencepiece"
  virtual std::vector<token_id> encode(std::string_view text, bool add_special = true) const = 0;
  virtual encoding encode_pair(std::string_view a, std::string_view b, bool add_special = true) const = 0;
  virtual std::string decode(const std::vector<token_id>& ids, bool skip_special = true) const = 0;
  virtual special_ids specials() const = 0;
  virtual std::size_t vocab_size() const = 0;
  virtual token_id token_to_id(std::string_view token) const = 0;  // -1 if absent
  virtual std::string id_to_token(token_id id) const = 0;
  // Special tokens encode/encode_pair add for one or two sequences (for truncation budgets).
  virtual std::size_t num_special_tokens(bool pair) const = 0;
};

namespace tokenizer_detail {
template <class T>
class adapter final : public tokenizer {
 public:
  adapter(T impl, std::string kind, special_ids ids) : impl_(std::move(impl)), kind_(std::move(kind)), ids_(ids) {}
  std::string kind() const override { return kind_; }
  std::vector<token_id> encode(std::string_view text, bool add_special) const override { return impl_.encode(text, add_special); }
  encoding encode_pair(std::string_view a, std::string_view b, bool add_special) const override {
    return impl_.encode_pair(a, b, add_special);
  }
  std::string decode(const std::vector<token_id>& ids, bool skip_special) const override { return impl_.decode(ids, skip_special); }
  special_ids specials() const override { return ids_; }
  std::size_t vocab_size() const override { return impl_.vocab_size(); }
  token_id token_to_id(std::string_view token) const override { return impl_.token_to_id(token); }
  std::string id_to_token(token_id id) const override { return impl_.id_to_token(id); }
  std::size_t num_special_tokens(bool pair) const override { return impl_.post_template().added(pair); }
  const T& impl() const { return impl_; }

 private:
  T impl_;
  std::string kind_;
  special_ids ids_;
};

inline std::unique_ptr<tokenizer> wrap(wordpiece wp) {
  special_ids s;
  s.cls = wp.cls_id(), s.sep = wp.sep_id(), s.pad = wp.pad_id(), s.unk = wp.unk_id(), s.mask = wp.mask_id();
  return std::make_unique<adapter<wordpiece>>(std::move(wp), "wordpiece", s);
}
inline std::unique_ptr<tokenizer> wrap(byte_bpe bpe) {
  special_ids s;
  s.bos = bpe.bos_id(), s.eos = bpe.eos_id(), s.pad = bpe.pad_id(), s.unk = bpe.unk_id(), s.mask = bpe.mask_id();
  if (bpe.token_to_id("<s>") >= 0 && bpe.token_to_id("</s>") >= 0) s.cls = s.bos, s.sep = s.eos;  // RoBERTa naming
  return std::make_unique<adapter<byte_bpe>>(std::move(bpe), "byte_bpe", s);
}
#if defined(VTRANS_WITH_SENTENCEPIECE)
inline std::unique_ptr<tokenizer> wrap(sentencepiece_tokenizer sp) {
  special_ids s;
  s.bos = sp.bos_id(), s.eos = sp.eos_id(), s.pad = sp.pad_id(), s.unk = sp.unk_id();
  return std::make_unique<adapter<sentencepiece_tokenizer>>(std::move(sp), "sentencepiece", s);
}
#endif

// BertNormalizer settings, possibly inside a normalizer Sequence.
inline const nlohmann::json* find_bert_normalizer(const nlohmann::json& n) {
  if (!n.is_object()) return nullptr;
  if (json_child(n, "type") == "BertNormalizer") return &n;
  if (n.contains("normalizers") && n["normalizers"].is_array())
    for (const auto& m : n["normalizers"])
      if (auto* hit = find_bert_normalizer(m)) return hit;
  return nullptr;
}

inline wordpiece wordpiece_from_tokenizer_json(const nlohmann::json& doc, const std::string& source) {
  const auto& model = doc["model"];
  if (!model.contains("vocab") || !model["vocab"].is_object())
    throw format_error(source + ": model.vocab must be an object of token -> id");
  const auto& v = model["vocab"];
  check_entry_count(v.size(), source + ": model.vocab");
  std::vector<std::string> vocab(v.size());
  std::vector<bool> filled(v.size(), false);
  for (auto it = v.begin(); it != v.end(); ++it) {
    const std::string where = source + ": model.vocab[" + io::detail::quote(it.key()) + "]";
    if (!it.value().is_number_integer()) throw format_error(where + " is not an integer");
    const auto id = static_cast<std::size_t>(json_token_id(it.value(), where));
    if (id >= vocab.size() || filled[id])
      throw format_error(source + ": model.vocab ids must be 0..N-1 without gaps (bad id " + std::to_string(id) + " for " +
                         io::detail::quote(it.key()) + ")");
    vocab[id] = it.key();
    filled[id] = true;
  }
  wordpiece_options opt;
  const std::string m = source + ": model";
  opt.unk_token = json_field(model, "unk_token", opt.unk_token, m);
  opt.continuing_prefix = json_field(model, "continuing_subword_prefix", opt.continuing_prefix, m);
  opt.max_input_chars_per_word = json_field(model, "max_input_chars_per_word", opt.max_input_chars_per_word, m);
  if (const auto* n = find_bert_normalizer(json_child(doc, "normalizer"))) {
    const std::string w = source + ": normalizer";
    opt.lower_case = json_field(*n, "lowercase", true, w);
    opt.clean_text = json_field(*n, "clean_text", true, w);
    opt.tokenize_chinese_chars = json_field(*n, "handle_chinese_chars", true, w);
    if (n->contains("strip_accents") && (*n)["strip_accents"].is_boolean()) opt.strip_accents = (*n)["strip_accents"].get<bool>();
  }
  wordpiece wp(std::move(vocab), opt, source);
  const auto& added = json_child(doc, "added_tokens");
  if (added.is_array()) {
    check_entry_count(added.size(), source + ": added_tokens");
    std::vector<std::pair<std::string, bool>> batch;
    for (std::size_t i = 0; i < added.size(); ++i) {
      const std::string where = source + ": added_tokens[" + std::to_string(i) + "]";
      auto content = json_field(added[i], "content", std::string(), where);
      if (content.empty()) throw format_error(where + ": needs a string content");
      batch.emplace_back(std::move(content), json_field(added[i], "special", true, where));
    }
    wp.add_tokens(batch, source + ": added_tokens");
  }
  wp.set_post_template(post_processor_from_json(json_child(doc, "post_processor"), wp.post_template(), source));
  return wp;
}

inline bool is_byte_level(const nlohmann::json& doc) {
  const std::string dump = json_child(doc, "pre_tokenizer").dump() + json_child(doc, "decoder").dump();
  return dump.find("\"ByteLevel\"") != std::string::npos;
}
}  // namespace tokenizer_detail

// Picks the tokenizer from the files in dir; errors name the directory or the offending file.
inline std::unique_ptr<tokenizer> load_tokenizer(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  using namespace tokenizer_detail;
  if (!fs::is_directory(dir)) throw file_error(dir.string() + ": not a directory");
  const auto has = [&](const char* f) { return fs::is_regular_file(dir / f); };

  if (has("tokenizer.json")) {
    const auto path = dir / "tokenizer.json";
    const nlohmann::json doc = read_json(path);
    if (!doc.is_object() || !doc.contains("model") || !doc["model"].is_object())
      throw format_error(path.string() + ": no \"model\" object");
    const std::string type = json_field(doc["model"], "type", std::string("BPE"), path.string() + ": model");
    if (type == "WordPiece") return wrap(wordpiece_from_tokenizer_json(doc, path.string()));
    if (type == "BPE" && is_byte_level(doc)) return wrap(byte_bpe::from_tokenizer_json(doc, path.string()));
    if (!has("tokenizer.model"))  // e.g. LLaMA's SentencePiece-style BPE or Unigram without the .model
      throw format_error(path.string() + ": unsupported model.type " + io::detail::quote(type) +
                         " (only byte-level BPE and WordPiece are read from tokenizer.json)");
  }
  if (has("vocab.txt")) {
    wordpiece_options opt;
    if (has("tokenizer_config.json")) {
      const std::string cfgname = (dir / "tokenizer_config.json").string();
      const auto cfg = read_json(cfgname);
      if (cfg.is_object()) {
        opt.lower_case = json_field(cfg, "do_lower_case", true, cfgname);
        if (cfg.contains("strip_accents") && cfg["strip_accents"].is_boolean()) opt.strip_accents = cfg["strip_accents"].get<bool>();
        opt.tokenize_chinese_chars = json_field(cfg, "tokenize_chinese_chars", true, cfgname);
      }
    }
    return wrap(wordpiece::from_vocab_file(dir / "vocab.txt", opt));
  }
  if (has("vocab.json") && has("merges.txt")) return wrap(byte_bpe::from_files(dir / "vocab.json", dir / "merges.txt"));
  if (has("encoder.json") && has("vocab.bpe")) return wrap(byte_bpe::from_files(dir / "encoder.json", dir / "vocab.bpe"));
#if defined(VTRANS_WITH_SENTENCEPIECE)
  if (has("tokenizer.model")) return wrap(sentencepiece_tokenizer(dir / "tokenizer.model"));
#else
  if (has("tokenizer.model"))
    throw format_error((dir / "tokenizer.model").string() +
                             ": a SentencePiece model, and this program was built without SentencePiece (link vtrans::sentencepiece)");
#endif
  throw file_error(dir.string() +
                           ": no tokenizer files (expected tokenizer.json, vocab.txt, vocab.json + merges.txt, "
                           "encoder.json + vocab.bpe or tokenizer.model)");
}

}  // namespace vtrans::text
