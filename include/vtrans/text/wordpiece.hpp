#pragma once
// BERT WordPiece: the basic tokenizer (clean, CJK spacing, lower-case + strip accents, punctuation
// split) then greedy longest-match-first sub-words with a "##" continuation prefix.
// Follows google-research/bert tokenization.py and HF BertTokenizer (max 100 chars per word).
#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "vtrans/error.hpp"
#include "vtrans/io/errors.hpp"
#include "vtrans/text/added_tokens.hpp"
#include "vtrans/text/encoding.hpp"
#include "vtrans/text/json_field.hpp"
#include "vtrans/text/read_file.hpp"
#include "vtrans/text/special_template.hpp"
#include "vtrans/text/unicode.hpp"

namespace vtrans::text {

struct wordpiece_options {
  bool lower_case = true;
  std::optional<bool> strip_accents;  // unset: same as lower_case (HF behaviour)
  bool tokenize_chinese_chars = true;
  bool clean_text = true;
  std::size_t max_input_chars_per_word = 100;
  std::string continuing_prefix = "##";
  std::string unk_token = "[UNK]", cls_token = "[CLS]", sep_token = "[SEP]";
  std::string pad_token = "[PAD]", mask_token = "[MASK]";
};

class wordpiece {
 public:
  // vocab[i] is the token with id i. source names the origin in error messages.
  wordpiece(std::vector<std::string> vocab, wordpiece_options options = {}, std::string source = "<vocab>")
      : vocab_(std::move(vocab)), opt_(std::move(options)), source_(std::move(source)) {
    check_entry_count(vocab_.size(), source_ + ": vocabulary");
    ids_.reserve(vocab_.size());
    for (std::size_t i = 0; i < vocab_.size(); ++i) {
      if (!ids_.emplace(vocab_[i], static_cast<token_id>(i)).second)
        throw format_error(source_ + ": duplicate token " + io::detail::quote(vocab_[i]) + " at id " + std::to_string(i));
      longest_ = std::max(longest_, vocab_[i].size());
    }
    unk_ = token_to_id(opt_.unk_token);
    if (unk_ < 0) throw format_error(source_ + ": unknown token " + io::detail::quote(opt_.unk_token) + " is not in the vocabulary");
    cls_ = token_to_id(opt_.cls_token);
    sep_ = token_to_id(opt_.sep_token);
    pad_ = token_to_id(opt_.pad_token);
    mask_ = token_to_id(opt_.mask_token);
    for (token_id id : {unk_, cls_, sep_, pad_, mask_})
      if (id >= 0) special_.insert(id);
    template_ = cls_ >= 0 && sep_ >= 0 ? special_template::bert(cls_, sep_) : special_template::none();
    // Like HF BertTokenizer, special tokens written in the text ("[MASK]") are kept whole.
    std::vector<added_token> specials;
    for (const auto* t : {&opt_.unk_token, &opt_.cls_token, &opt_.sep_token, &opt_.pad_token, &opt_.mask_token})
      if (token_to_id(*t) >= 0) specials.push_back({*t, token_to_id(*t), true});
    added_.add(std::move(specials));
  }

  // vocab.txt: one token per line, id = line number (0-based); "\r\n" endings accepted.
  static wordpiece from_vocab_file(const std::filesystem::path& vocab_txt, wordpiece_options options = {}) {
    const std::string data = read_file(vocab_txt);
    const std::string name = vocab_txt.string();
    std::vector<std::string> vocab;
    std::unordered_map<std::string_view, std::size_t> seen;
    std::size_t pos = 0;
    while (pos < data.size()) {
      std::size_t end = data.find('\n', pos);
      if (end == std::string::npos) end = data.size();
      std::string_view line(data.data() + pos, end - pos);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      const std::size_t lineno = vocab.size() + 1;
      const std::string at = name + ":" + std::to_string(lineno);
      try {
        utf8_validate(line);
      } catch (const utf8_error& e) {
        throw format_error(at + ": " + e.what());
      }
      if (line.empty()) throw format_error(at + ": empty token");
      auto [it, fresh] = seen.emplace(line, lineno);
      if (!fresh)
        throw format_error(at + ": duplicate token " + io::detail::quote(line) + " (first at line " + std::to_string(it->second) + ")");
      check_entry_count(lineno, name + ": vocabulary");
      vocab.emplace_back(line);
      pos = end + 1;
    }
    if (vocab.empty()) throw format_error(name + ": empty vocabulary");
    return wordpiece(std::move(vocab), std::move(options), name);
  }

  // BasicTokenizer: words and punctuation marks, after normalisation.
  std::vector<std::string> basic_tokenize(std::string_view text) const {
    const std::u32string cps = utf8_decode(text);
    std::u32string cleaned;
    cleaned.reserve(cps.size());
    for (char32_t cp : cps) {
      if (opt_.clean_text) {
        if (cp == 0 || cp == 0xFFFD || is_bert_control(cp)) continue;
        if (is_bert_whitespace(cp)) {
          cleaned += U' ';
          continue;
        }
      }
      if (opt_.tokenize_chinese_chars && is_cjk_ideograph(cp)) {
        cleaned += U' ';
        cleaned += cp;
        cleaned += U' ';
      } else {
        cleaned += cp;
      }
    }
    const bool strip = opt_.strip_accents.value_or(opt_.lower_case);
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < cleaned.size()) {
      if (is_white_space(cleaned[i])) {
        ++i;
        continue;
      }
      std::size_t j = i;
      while (j < cleaned.size() && !is_white_space(cleaned[j])) ++j;
      std::u32string word = cleaned.substr(i, j - i);
      if (opt_.lower_case) word = to_lower(word);
      if (strip) word = strip_accents(word);
      // Every punctuation mark becomes its own token.
      std::u32string current;
      for (char32_t cp : word) {
        if (is_bert_punctuation(cp)) {
          if (!current.empty()) out.push_back(utf8_encode(current));
          current.clear();
          out.push_back(utf8_encode(std::u32string(1, cp)));
        } else {
          current += cp;
        }
      }
      if (!current.empty()) out.push_back(utf8_encode(current));
      i = j;
    }
    return out;
  }

  // Greedy longest-match-first pieces of one basic token; [UNK] if any part cannot be matched.
  // Candidates longer than the longest vocabulary token are skipped, so a long word costs
  // O(length x longest token) rather than O(length^2) per piece.
  void wordpiece_tokenize(std::string_view word, std::vector<token_id>& out) const {
    std::vector<std::size_t> bounds;  // byte offset of each code point, plus the end
    for (std::size_t pos = 0; pos < word.size();) {
      bounds.push_back(pos);
      utf8_next(word, pos);
    }
    const std::size_t n = bounds.size();
    bounds.push_back(word.size());
    if (n > opt_.max_input_chars_per_word) {
      out.push_back(unk_);
      return;
    }
    const std::size_t mark = out.size();
    std::string candidate;
    for (std::size_t start = 0; start < n;) {
      token_id found = -1;
      const std::size_t prefix = start > 0 ? opt_.continuing_prefix.size() : 0;
      const std::size_t budget = longest_ > prefix ? longest_ - prefix : 0;  // bytes a match can span
      auto last = std::upper_bound(bounds.begin() + static_cast<std::ptrdiff_t>(start), bounds.end(), bounds[start] + budget);
      std::size_t end = static_cast<std::size_t>(last - bounds.begin()) - 1;
      for (; end > start; --end) {
        candidate.assign(start > 0 ? opt_.continuing_prefix : std::string());
        candidate.append(word.substr(bounds[start], bounds[end] - bounds[start]));
        if (auto it = ids_.find(candidate); it != ids_.end()) {
          found = it->second;
          break;
        }
      }
      if (found < 0) {
        out.resize(mark);
        out.push_back(unk_);
        return;
      }
      out.push_back(found);
      start = end;
    }
  }

  // Ids of text without the template's special tokens; special tokens written in the text map to
  // their ids.
  std::vector<token_id> encode_plain(std::string_view text) const {
    std::vector<token_id> ids;
    added_.split(
        text,
        [&](std::string_view part) {
          for (const auto& word : basic_tokenize(part)) wordpiece_tokenize(word, ids);
        },
        [&](const added_token& t) { ids.push_back(t.id); });
    return ids;
  }

  // Registers tokens matched verbatim in text (HF added_tokens): (content, special) pairs, each in
  // the vocabulary. where names them in errors.
  void add_tokens(const std::vector<std::pair<std::string, bool>>& batch, const std::string& where) {
    std::vector<added_token> tokens;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto& [content, special] = batch[i];
      const token_id id = token_to_id(content);
      if (id < 0)
        throw format_error(where + "[" + std::to_string(i) + "]: added token " + io::detail::quote(content) + " is not in the vocabulary");
      tokens.push_back({content, id, special});
      if (special) special_.insert(id);
    }
    added_.add(std::move(tokens));
  }
  void add_token(const std::string& content, bool special = true) { add_tokens({{content, special}}, source_ + ": added token"); }

  std::vector<std::string> tokenize(std::string_view text) const {
    std::vector<std::string> pieces;
    for (token_id id : encode_plain(text)) pieces.push_back(vocab_[static_cast<std::size_t>(id)]);
    return pieces;
  }

  // [CLS] text [SEP] (or just the pieces when add_special is false).
  std::vector<token_id> encode(std::string_view text, bool add_special = true) const {
    auto ids = encode_plain(text);
    return add_special ? template_.apply(ids).ids : ids;
  }

  // [CLS] a [SEP] b [SEP] with token types 0 for "[CLS] a [SEP]" and 1 for "b [SEP]".
  encoding encode_pair(std::string_view a, std::string_view b, bool add_special = true) const {
    auto ia = encode_plain(a), ib = encode_plain(b);
    return (add_special ? template_ : special_template::none()).apply(ia, ib);
  }

  // Joins tokens with spaces and glues "##" pieces to the previous token.
  std::string decode(const std::vector<token_id>& ids, bool skip_special = true) const {
    std::string out;
    for (token_id id : ids) {
      const std::string& tok = id_to_token(id);
      if (skip_special && special_.count(id)) continue;
      const auto& pre = opt_.continuing_prefix;
      if (!pre.empty() && tok.size() > pre.size() && tok.compare(0, pre.size(), pre) == 0 && !out.empty()) {
        out.append(tok, pre.size(), std::string::npos);
      } else {
        if (!out.empty()) out += ' ';
        out += tok;
      }
    }
    return out;
  }

  token_id token_to_id(std::string_view token) const {
    auto it = ids_.find(std::string(token));
    return it == ids_.end() ? -1 : it->second;
  }
  const std::string& id_to_token(token_id id) const {
    if (id < 0 || static_cast<std::size_t>(id) >= vocab_.size())
      throw usage_error(source_ + ": token id " + std::to_string(id) + " outside [0, " +
                              std::to_string(vocab_.size()) + ")");
    return vocab_[static_cast<std::size_t>(id)];
  }
  std::size_t vocab_size() const { return vocab_.size(); }
  token_id unk_id() const { return unk_; }
  token_id cls_id() const { return cls_; }  // -1 when absent
  token_id sep_id() const { return sep_; }
  token_id pad_id() const { return pad_; }
  token_id mask_id() const { return mask_; }
  bool is_special(token_id id) const { return special_.count(id) != 0; }
  const wordpiece_options& options() const { return opt_; }
  const special_template& post_template() const { return template_; }
  void set_post_template(special_template t) { template_ = std::move(t); }

 private:
  std::vector<std::string> vocab_;
  std::unordered_map<std::string, token_id> ids_;
  std::size_t longest_ = 0;  // bytes of the longest token
  wordpiece_options opt_;
  std::string source_;
  token_id unk_ = -1, cls_ = -1, sep_ = -1, pad_ = -1, mask_ = -1;
  std::unordered_set<token_id> special_;
  special_template template_;
  added_token_set added_;
};

}  // namespace vtrans::text
