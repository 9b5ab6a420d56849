#pragma once
// The tokenizer a GGUF file carries, so that llama.cpp tokenizes text as vtrans does. From a
// tokenizer folder (what text::load_tokenizer reads) to llama.cpp's tokenizer keys:
//
//   SentencePiece (tokenizer.model, BPE type)  tokenizer.ggml.model "llama": pieces, scores, piece
//                                              types, add_space_prefix / remove_extra_whitespaces
//                                              from the model's normalizer settings
//   byte-level BPE (GPT-2, RoBERTa)            "gpt2" with pre-tokenizer "gpt-2": tokens, merges
//                                              "a b" in rank order, added tokens typed control
//   WordPiece (BERT vocab.txt)                 "bert": llama.cpp's phantom-space vocabulary (a word
//                                              start "x" becomes "▁x", a continuation "##x" becomes "x")
//
// plus the special ids and whether BOS/EOS/SEP are added, taken from the tokenizer's template for
// one sequence. A model whose embedding has more rows than the tokenizer has tokens gets unused
// "[PAD<i>]" tokens, as llama.cpp's converter writes them.
#include <cstdint>
#include <optional>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "vtrans/error.hpp"
#include "vtrans/io/gguf.hpp"
#include "vtrans/io/protobuf.hpp"
#include "vtrans/text/read_file.hpp"
#include "vtrans/text/tokenizer.hpp"

namespace vtrans::exports {

// llama.cpp's token types (llama.h)
enum gguf_token_type : std::int32_t { token_normal = 1, token_unknown = 2, token_control = 3, token_user_defined = 4, token_unused = 5, token_byte = 6 };

struct gguf_vocab {
  std::string model;  // tokenizer.ggml.model
  std::string pre;    // tokenizer.ggml.pre ("" when not written)
  std::vector<std::string> tokens;
  std::vector<float> scores;  // empty: not written
  std::vector<std::int32_t> types;
  std::vector<std::string> merges;
  text::special_ids specials;
  bool add_bos = false, add_eos = false, add_sep = false;
  std::optional<bool> add_space_prefix, remove_extra_whitespaces, lowercase, strip_accents;
  std::vector<std::string> notes;  // where llama.cpp's tokenizer may differ from ours
};

namespace detail {
template <class T>
const T& concrete(const text::tokenizer& tok) {
  const auto* a = dynamic_cast<const text::tokenizer_detail::adapter<T>*>(&tok);
  if (!a) throw std::logic_error("gguf vocabulary: tokenizer kind " + tok.kind() + " has an unexpected type");
  return a->impl();
}

// SentencePiece ModelProto: trainer_spec (2).model_type (3), normalizer_spec (3) fields
// name (1), add_dummy_prefix (3), remove_extra_whitespaces (4); proto2 defaults when absent.
inline void spm_settings(const std::string& bytes, const std::string& source, gguf_vocab& v) {
  using io::protobuf::reader;
  std::int64_t model_type = 1;  // UNIGRAM
  if (auto trainer = reader::find(bytes, 2, source))
    if (auto t = reader::find(trainer->bytes, 3, source)) model_type = std::int64_t(t->value);
  if (model_type != 2)
    throw vtrans::usage_error(source + ": SentencePiece model type " + std::to_string(model_type) +
                                " is not BPE (2); llama.cpp's SentencePiece tokenizer merges BPE pieces by score");
  bool dummy_prefix = true, remove_ws = true;
  std::string normalizer = "nmt_nfkc";
  if (auto spec = reader::find(bytes, 3, source)) {
    if (auto f = reader::find(spec->bytes, 1, source)) normalizer = std::string(f->bytes);
    if (auto f = reader::find(spec->bytes, 3, source)) dummy_prefix = f->value != 0;
    if (auto f = reader::find(spec->bytes, 4, source)) remove_ws = f->value != 0;
  }
  v.add_space_prefix = dummy_prefix;
  v.remove_extra_whitespaces = remove_ws;
  if (normalizer != "identity")
    v.notes.push_back("llama.cpp does not apply the SentencePiece normalization \"" + normalizer +
                      "\": text it would change may tokenize differently");
}

// The pieces as ModelProto lists them (field 1: piece 1, score 2, type 3 with NORMAL 1 as the
// default); SentencePiece numbers piece types as llama.cpp numbers token types.
inline void from_sentencepiece(const std::filesystem::path& file, gguf_vocab& v) {
  using io::protobuf::reader;
  const std::string bytes = text::read_file(file), source = file.string();
  spm_settings(bytes, source, v);
  v.model = "llama";
  reader r(bytes, source);
  while (auto f = r.next()) {
    if (f->number != 1 || f->type != io::protobuf::length_delimited) continue;
    std::string piece;
    float score = 0;
    std::int32_t type = token_normal;
    reader p(f->bytes, source);
    while (auto g = p.next()) {
      if (g->number == 1) piece = std::string(g->bytes);
      else if (g->number == 2 && g->bytes.size() == 4)
        score = io::detail::bit_cast_to<float>(io::detail::load_le32(reinterpret_cast<const unsigned char*>(g->bytes.data())));
      else if (g->number == 3) type = std::int32_t(g->value);
    }
    v.tokens.push_back(piece);
    v.scores.push_back(score);
    v.types.push_back(type);
  }
  if (v.tokens.empty()) throw vtrans::usage_error(source + ": the SentencePiece model lists no pieces");
}

inline void from_byte_bpe(const text::byte_bpe& bpe, gguf_vocab& v, const std::string& source) {
  v.model = "gpt2";
  v.pre = "gpt-2";  // llama.cpp's name for GPT-2's pre-tokenizer pattern
  for (std::size_t id = 0; id < bpe.vocab_size(); ++id) {
    std::string t;
    try {
      t = bpe.id_to_token(text::token_id(id));
    } catch (const std::out_of_range&) {
      throw vtrans::usage_error(source + ": the vocabulary has no token with id " + std::to_string(id) +
                                  " (GGUF lists tokens 0..n-1 without gaps)");
    }
    v.tokens.push_back(t);
    v.types.push_back(token_normal);
  }
  for (const auto& a : bpe.added_tokens()) v.types[std::size_t(a.id)] = bpe.is_special(a.id) ? token_control : token_user_defined;
  for (const auto& [a, b] : bpe.merges()) v.merges.push_back(a + " " + b);
  if (bpe.add_prefix_space()) v.notes.push_back("llama.cpp's BPE tokenizer adds no prefix space (the tokenizer's add_prefix_space)");
  if (!bpe.added_tokens().empty())
    v.notes.push_back("llama.cpp matches added tokens in text only when asked to parse special tokens; vtrans always does");
}

inline void from_wordpiece(const text::wordpiece& wp, gguf_vocab& v) {
  v.model = "bert";
  for (std::size_t id = 0; id < wp.vocab_size(); ++id) {
    const std::string& t = wp.id_to_token(text::token_id(id));
    const std::string& cont = wp.options().continuing_prefix;
    if (wp.is_special(text::token_id(id))) {
      v.tokens.push_back(t);
      v.types.push_back(token_control);
    } else {
      v.tokens.push_back(t.compare(0, cont.size(), cont) == 0 ? t.substr(cont.size()) : "\xE2\x96\x81" + t);
      v.types.push_back(token_normal);
    }
  }
  v.lowercase = wp.options().lower_case;
  v.strip_accents = wp.options().strip_accents.value_or(wp.options().lower_case);
}
}  // namespace detail

// The vocabulary of the tokenizer in `dir`, padded to `model_vocab` tokens.
inline gguf_vocab read_gguf_vocab(const std::filesystem::path& dir, std::int64_t model_vocab) {
  const auto tok = text::load_tokenizer(dir);
  gguf_vocab v;
  const std::string kind = tok->kind();
  if (kind == "sentencepiece") detail::from_sentencepiece(dir / "tokenizer.model", v);
  else if (kind == "byte_bpe") detail::from_byte_bpe(detail::concrete<text::byte_bpe>(*tok), v, dir.string());
  else if (kind == "wordpiece") detail::from_wordpiece(detail::concrete<text::wordpiece>(*tok), v);
  else throw vtrans::usage_error(dir.string() + ": tokenizer kind " + kind + " cannot be written to GGUF");
  v.specials = tok->specials();

  // the template for one sequence: a special token first is BOS (BERT: [CLS]); one last is EOS or SEP
  const auto single = tok->encode("", true);
  if (!single.empty() && tok->encode("", false).empty()) {
    v.add_bos = single.front() == (v.model == "bert" ? v.specials.cls : v.specials.bos);
    if (single.size() > std::size_t(v.add_bos)) (v.model == "bert" ? v.add_sep : v.add_eos) = true;
  }

  if (std::int64_t(v.tokens.size()) > model_vocab)
    throw vtrans::usage_error(dir.string() + ": the tokenizer has " + std::to_string(v.tokens.size()) +
                                " tokens but the model's embedding only " + std::to_string(model_vocab) + " rows");
  for (std::size_t i = v.tokens.size(); std::int64_t(i) < model_vocab; ++i) {
    v.tokens.push_back("[PAD" + std::to_string(i) + "]");
    v.types.push_back(token_unused);
    if (!v.scores.empty()) v.scores.push_back(0);
  }
  return v;
}

// Writes the vocabulary's keys.
inline void add_gguf_vocab(io::gguf_writer& w, const gguf_vocab& v) {
  w.set("tokenizer.ggml.model", v.model);
  if (!v.pre.empty()) w.set("tokenizer.ggml.pre", v.pre);
  w.set("tokenizer.ggml.tokens", v.tokens);
  if (!v.scores.empty()) w.set("tokenizer.ggml.scores", v.scores);
  w.set("tokenizer.ggml.token_type", v.types);
  if (!v.merges.empty()) w.set("tokenizer.ggml.merges", v.merges);
  auto id = [&](const char* key, text::token_id t) {
    if (t >= 0) w.set(std::string("tokenizer.ggml.") + key, std::uint32_t(t));
  };
  const auto& s = v.specials;
  id("bos_token_id", v.model == "bert" ? s.cls : s.bos);
  id("eos_token_id", s.eos);
  id("unknown_token_id", s.unk);
  id("seperator_token_id", s.sep);  // llama.cpp's spelling
  id("padding_token_id", s.pad);
  id("mask_token_id", s.mask);
  if (v.model == "bert") id("cls_token_id", s.cls);
  w.set("tokenizer.ggml.add_bos_token", v.add_bos);
  w.set("tokenizer.ggml.add_eos_token", v.add_eos);
  if (v.model == "bert") w.set("tokenizer.ggml.add_sep_token", v.add_sep);
  if (v.add_space_prefix) w.set("tokenizer.ggml.add_space_prefix", *v.add_space_prefix);
  if (v.remove_extra_whitespaces) w.set("tokenizer.ggml.remove_extra_whitespaces", *v.remove_extra_whitespaces);
  if (v.lowercase) w.set("tokenizer.ggml.normalizer.lowercase", *v.lowercase);
  if (v.strip_accents) w.set("tokenizer.ggml.normalizer.strip_accents", *v.strip_accents);
}

}  // namespace vtrans::exports
