#pragma once
// GPT-2 / RoBERTa byte-level BPE (openai/gpt-2 encoder.py): text is pre-split with GPT-2's
// pattern, each piece's UTF-8 bytes are mapped to printable characters (bytes_to_unicode, so
// space -> "Ġ"), then adjacent symbols are merged lowest merge rank first until none applies.
// Files: vocab.json + merges.txt (= encoder.json + vocab.bpe) or an HF tokenizer.json.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "vtrans/error.hpp"
#include "vtrans/io/errors.hpp"
#include "vtrans/text/added_tokens.hpp"
#include "vtrans/text/encoding.hpp"
#include "vtrans/text/gpt2_pretokenizer.hpp"
#include "vtrans/text/json_field.hpp"
#include "vtrans/text/post_processor_json.hpp"
#include "vtrans/text/read_file.hpp"
#include "vtrans/text/special_template.hpp"
#include "vtrans/text/unicode.hpp"

namespace vtrans::text {

// GPT-2's reversible byte -> code point map: printable Latin-1 bytes map to themselves, the
// other 68 bytes to U+0100.. in byte order.
inline const std::array<char32_t, 256>& bytes_to_unicode() {
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> t{};
    char32_t next = 256;
    for (unsigned b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      t[b] = printable ? static_cast<char32_t>(b) : next++;
    }
    return t;
  }();
  return table;
}

// Replaces ill-formed UTF-8 (as produced by decoding a partial multi-byte token) with U+FFFD,
// one per maximal ill-formed prefix, like Python's errors="replace".
inline std::string utf8_repair(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t pos = 0; pos < s.size();) {
    const std::size_t start = pos;
    try {
      utf8_next(s, pos);
      out.append(s.substr(start, pos - start));
    } catch (const utf8_error&) {
      const auto b0 = static_cast<unsigned char>(s[start]);
      const std::size_t len = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC0 ? 2 : 1;
      pos = start + 1;
      while (pos < s.size() && pos < start + len && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) ++pos;
      out += "\xEF\xBF\xBD";
    }
  }
  return out;
}

class byte_bpe {
 public:
  using merge = std::pair<std::string, std::string>;

  // vocab: token -> id; merges in rank order. source names the origin in error messages.
  byte_bpe(std::unordered_map<std::string, token_id> vocab, const std::vector<merge>& merges,
           std::string source = "<bpe>")
      : vocab_(std::move(vocab)), source_(std::move(source)), cache_(std::make_shared<cache_t>()) {
    check_entry_count(vocab_.size(), source_ + ": vocabulary");
    check_entry_count(merges.size(), source_ + ": merges");
    token_id max_id = -1;
    for (const auto& [tok, id] : vocab_) {
      if (id < 0) throw format_error(source_ + ": negative id " + std::to_string(id) + " for token " + io::detail::quote(tok));
      max_id = std::max(max_id, id);
    }
    check_dense(max_id, vocab_.size(), "vocabulary");
    tokens_.assign(static_cast<std::size_t>(max_id + 1), std::string());
    for (const auto& [tok, id] : vocab_) {
      auto& slot = tokens_[static_cast<std::size_t>(id)];
      if (!slot.empty())
        throw format_error(source_ + ": id " + std::to_string(id) + " used by " + io::detail::quote(slot) + " and " + io::detail::quote(tok));
      slot = tok;
    }
    ranks_.reserve(merges.size());
    for (std::size_t r = 0; r < merges.size(); ++r)
      ranks_.emplace(pair_key(merges[r].first, merges[r].second), static_cast<int>(r));  // first rank wins
    const auto& b2u = bytes_to_unicode();
    for (unsigned b = 0; b < 256; ++b) {
      std::string s;
      utf8_append(s, b2u[b]);
      byte_symbol_[b] = s;
      unicode_to_byte_[b2u[b]] = static_cast<unsigned char>(b);
    }
  }

  // vocab.json (token -> id object) + merges.txt ("#version" first line optional, "a b" per line).
  // RoBERTa's files (with <s> </s>) get its specials and template; otherwise GPT-2's <|endoftext|>.
  static byte_bpe from_files(const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt) {
    const std::string vname = vocab_json.string();
    byte_bpe bpe(vocab_from_json(read_json(vocab_json), vname), read_merges(merges_txt), vname);
    bpe.configure_known_specials();
    return bpe;
  }

  // An HF tokenizer.json whose model.type is BPE (byte-level). Merges may be "a b" or ["a", "b"].
  static byte_bpe from_tokenizer_json(const nlohmann::json& doc, const std::string& source) {
    if (!doc.is_object() || !doc.contains("model") || !doc["model"].is_object())
      throw format_error(source + ": no \"model\" object");
    const auto& model = doc["model"];
    const std::string type = json_field(model, "type", std::string("BPE"), source + ": model");
    if (type != "BPE") throw format_error(source + ": model.type is " + io::detail::quote(type) + ", expected BPE");
    if (!model.contains("vocab")) throw format_error(source + ": model.vocab missing");
    std::vector<merge> merges;
    if (model.contains("merges")) {
      const auto& m = model["merges"];
      if (!m.is_array()) throw format_error(source + ": model.merges is not an array");
      check_entry_count(m.size(), source + ": model.merges");
      merges.reserve(m.size());
      for (std::size_t i = 0; i < m.size(); ++i) {
        const auto& e = m[i];
        const std::string where = source + ": model.merges[" + std::to_string(i) + "]";
        if (e.is_string()) {
          const std::string& s = e.get_ref<const std::string&>();
          const auto sp = s.find(' ');
          if (sp == std::string::npos || sp == 0 || sp + 1 >= s.size() || s.find(' ', sp + 1) != std::string::npos)
            throw format_error(where + ": expected \"a b\", got " + io::detail::quote(s));
          merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
        } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
          merges.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
        } else {
          throw format_error(where + ": expected \"a b\" or [\"a\", \"b\"]");
        }
      }
    }
    byte_bpe bpe(vocab_from_json(model["vocab"], source + ": model.vocab"), merges, source);
    bpe.ignore_merges_ = json_field(model, "ignore_merges", false, source + ": model");
    if (model.contains("unk_token") && model["unk_token"].is_string())
      bpe.unk_ = bpe.token_to_id(model["unk_token"].get<std::string>());
    if (const auto& at = json_child(doc, "added_tokens"); at.is_array()) {
      check_entry_count(at.size(), source + ": added_tokens");
      std::vector<added_token> batch;
      for (std::size_t i = 0; i < at.size(); ++i) {
        const auto& t = at[i];
        const std::string where = source + ": added_tokens[" + std::to_string(i) + "]";
        if (!t.is_object() || !t.contains("id") || !t.contains("content") || !t["content"].is_string())
          throw format_error(where + ": needs integer id and string content");
        batch.push_back({t["content"].get<std::string>(), json_token_id(t["id"], where), json_field(t, "special", true, where)});
      }
      bpe.add_tokens(std::move(batch), source + ": added_tokens");
    }
    bpe.add_prefix_space_ = find_add_prefix_space(json_child(doc, "pre_tokenizer"), source);
    bpe.configure_known_specials();
    bpe.template_ = post_processor_from_json(json_child(doc, "post_processor"), bpe.template_, source);
    return bpe;
  }

  // Registers tokens matched verbatim in text before BPE (HF "added_tokens"). Their ids must keep
  // the id table dense. where names them in errors.
  void add_tokens(std::vector<added_token> batch, const std::string& where) {
    token_id max_id = static_cast<token_id>(tokens_.size()) - 1;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto& t = batch[i];
      const std::string at = where + "[" + std::to_string(i) + "]";
      if (t.content.empty()) throw format_error(at + ": empty added token");
      if (t.id < 0) throw format_error(at + ": added token " + io::detail::quote(t.content) + " has a negative id");
      max_id = std::max(max_id, t.id);
    }
    check_dense(max_id, vocab_.size() + batch.size(), "added tokens");
    if (static_cast<std::size_t>(max_id) >= tokens_.size()) tokens_.resize(static_cast<std::size_t>(max_id) + 1);
    for (const auto& t : batch) {
      tokens_[static_cast<std::size_t>(t.id)] = t.content;
      vocab_[t.content] = t.id;
      if (t.special) special_.insert(t.id);
    }
    added_.add(std::move(batch));
  }
  void add_token(added_token t) { add_tokens({std::move(t)}, source_ + ": added token"); }

  // BPE of one pre-tokenized piece (raw UTF-8 bytes), appended to out.
  void bpe_piece(std::string_view piece, std::vector<token_id>& out) const {
    const bool cacheable = piece.size() <= cache_max_piece;
    if (cacheable) {
      std::lock_guard<std::mutex> lock(cache_->mutex);
      if (auto it = cache_->map.find(std::string(piece)); it != cache_->map.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    std::vector<token_id> ids;
    std::string text;
    std::vector<std::string_view> symbols;
    merge_symbols(piece, text, symbols);
    for (const std::string_view s : symbols) {
      auto v = vocab_.find(std::string(s));
      if (v != vocab_.end()) ids.push_back(v->second);
      else if (unk_ >= 0) ids.push_back(unk_);
      else throw format_error(source_ + ": symbol " + io::detail::quote(s) + " produced by BPE is not in the vocabulary");
    }
    out.insert(out.end(), ids.begin(), ids.end());
    if (!cacheable) return;
    std::lock_guard<std::mutex> lock(cache_->mutex);
    if (cache_->map.size() >= cache_limit) cache_->map.clear();  // bounded memory on huge corpora
    cache_->map.emplace(std::string(piece), std::move(ids));
  }

  // Plain text to ids: no added-token matching, no template (the gpt-3-encoder / encoder.py path).
  std::vector<token_id> encode_ordinary(std::string_view text) const {
    std::vector<token_id> ids;
    std::string prefixed;
    if (add_prefix_space_ && !text.empty() && text.front() != ' ') {
      prefixed = " " + std::string(text);
      text = prefixed;
    }
    for (std::string_view piece : gpt2_pre_tokenize(text)) bpe_piece(piece, ids);
    return ids;
  }

  // Added tokens (e.g. "<|endoftext|>") found in text map to their ids; the rest is BPE-encoded.
  std::vector<token_id> encode_plain(std::string_view text) const {
    if (added_.empty()) return encode_ordinary(text);
    std::vector<token_id> ids;
    added_.split(
        text,
        [&](std::string_view part) {
          if (part.empty()) return;
          auto more = encode_ordinary(part);
          ids.insert(ids.end(), more.begin(), more.end());
        },
        [&](const added_token& t) { ids.push_back(t.id); });
    return ids;
  }

  std::vector<token_id> encode(std::string_view text, bool add_special = true) const {
    auto ids = encode_plain(text);
    return add_special ? template_.apply(ids).ids : ids;
  }

  encoding encode_pair(std::string_view a, std::string_view b, bool add_special = true) const {
    auto ia = encode_plain(a), ib = encode_plain(b);
    return (add_special ? template_ : special_template::none()).apply(ia, ib);
  }

  // Concatenates tokens, maps characters back to bytes; invalid UTF-8 becomes U+FFFD.
  std::string decode(const std::vector<token_id>& ids, bool skip_special = true) const {
    std::string bytes;
    for (token_id id : ids) {
      const std::string& tok = id_to_token(id);
      if (is_added(id)) {
        if (!(skip_special && special_.count(id))) bytes += tok;
        continue;
      }
      for (std::size_t pos = 0; pos < tok.size();) {
        const std::size_t start = pos;
        const char32_t cp = utf8_next(tok, pos);
        auto it = unicode_to_byte_.find(cp);
        if (it != unicode_to_byte_.end()) bytes += static_cast<char>(it->second);
        else bytes.append(tok, start, pos - start);
      }
    }
    return utf8_repair(bytes);
  }

  token_id token_to_id(std::string_view token) const {
    auto it = vocab_.find(std::string(token));
    return it == vocab_.end() ? -1 : it->second;
  }
  const std::string& id_to_token(token_id id) const {
    if (id < 0 || static_cast<std::size_t>(id) >= tokens_.size() || tokens_[static_cast<std::size_t>(id)].empty())
      throw usage_error(source_ + ": token id " + std::to_string(id) + " is not in the vocabulary");
    return tokens_[static_cast<std::size_t>(id)];
  }
  std::size_t vocab_size() const { return tokens_.size(); }
  std::size_t merge_count() const { return ranks_.size(); }
  // The merges in rank order (what merges.txt lists), e.g. for writing the vocabulary elsewhere.
  std::vector<merge> merges() const {
    std::vector<std::pair<int, merge>> ranked;
    ranked.reserve(ranks_.size());
    for (const auto& [key, rank] : ranks_) {
      const std::size_t cut = key.find('\xFF');
      ranked.push_back({rank, {key.substr(0, cut), key.substr(cut + 1)}});
    }
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<merge> out;
    out.reserve(ranked.size());
    for (auto& r : ranked) out.push_back(std::move(r.second));
    return out;
  }
  bool is_special(token_id id) const { return special_.count(id) != 0; }
  const std::vector<added_token>& added_tokens() const { return added_.tokens(); }
  token_id bos_id() const { return bos_; }  // -1 when absent
  token_id eos_id() const { return eos_; }
  token_id pad_id() const { return pad_; }
  token_id unk_id() const { return unk_; }
  token_id mask_id() const { return mask_; }
  const special_template& post_template() const { return template_; }
  void set_post_template(special_template t) { template_ = std::move(t); }
  bool add_prefix_space() const { return add_prefix_space_; }
  void set_add_prefix_space(bool on) { add_prefix_space_ = on; }

 private:
  struct cache_t {
    std::mutex mutex;
    std::unordered_map<std::string, std::vector<token_id>> map;
  };
  static constexpr std::size_t cache_limit = 1 << 18;
  static constexpr std::size_t cache_max_piece = 64;  // longer pieces (rare) are not cached: bounded memory

  // 0xFF never occurs in UTF-8, so it separates the halves unambiguously.
  static std::string pair_key(std::string_view a, std::string_view b) {
    std::string k;
    k.reserve(a.size() + b.size() + 1);
    k.append(a).push_back('\xFF');
    k.append(b);
    return k;
  }

  // The piece's symbols after BPE, as views into text (its byte symbols). Every occurrence (left to
  // right) of the lowest-ranked adjacent pair is merged, then the next lowest, until none applies
  // (GPT-2's encoder.py), in O(n log n): a symbol is a byte range [start, end) of the piece, so the
  // symbols form a linked list by their ends, and a heap holds the candidate pairs by (rank, start).
  // A candidate is stale once either symbol has changed. All candidates of one rank are merged
  // before the pairs they create are queued, which keeps encoder.py's order for any merge list.
  void merge_symbols(std::string_view piece, std::string& text, std::vector<std::string_view>& out) const {
    const std::size_t n = piece.size();
    text.clear();
    out.clear();
    std::vector<std::size_t> at(n + 1);  // offset of byte i's symbol in text
    for (std::size_t i = 0; i < n; ++i) {
      at[i] = text.size();
      text += byte_symbol_[static_cast<unsigned char>(piece[i])];
    }
    at[n] = text.size();
    if (ignore_merges_ && vocab_.count(text)) {
      out.push_back(text);
      return;
    }
    const auto sym = [&](std::size_t b, std::size_t e) { return std::string_view(text).substr(at[b], at[e] - at[b]); };
    std::vector<std::size_t> end(n), prev(n);  // the symbol starting at byte i is [i, end[i]); prev: its left neighbour
    std::vector<bool> alive(n, true);
    for (std::size_t i = 0; i < n; ++i) end[i] = i + 1, prev[i] = i - 1;
    struct candidate {
      int rank;
      std::size_t left, mid, right_end;  // symbols [left, mid) and [mid, right_end)
      bool operator>(const candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
    };
    std::priority_queue<candidate, std::vector<candidate>, std::greater<candidate>> heap;
    std::string key;
    const auto push = [&](std::size_t left) {
      const std::size_t mid = end[left];
      if (mid >= n) return;
      key.assign(sym(left, mid)).push_back('\xFF');
      key.append(sym(mid, end[mid]));
      if (auto it = ranks_.find(key); it != ranks_.end()) heap.push({it->second, left, mid, end[mid]});
    };
    for (std::size_t i = 0; i + 1 < n; ++i) push(i);
    std::vector<std::size_t> merged;
    while (!heap.empty()) {
      const int rank = heap.top().rank;
      merged.clear();
      while (!heap.empty() && heap.top().rank == rank) {
        const candidate c = heap.top();
        heap.pop();
        if (!alive[c.left] || end[c.left] != c.mid || end[c.mid] != c.right_end) continue;  // stale
        end[c.left] = c.right_end;
        alive[c.mid] = false;
        if (c.right_end < n) prev[c.right_end] = c.left;
        merged.push_back(c.left);
      }
      for (std::size_t i : merged) {
        if (i > 0) push(prev[i]);
        push(i);
      }
    }
    for (std::size_t i = 0; i < n; i = end[i]) out.push_back(sym(i, end[i]));
  }

  // Ids far beyond the number of tokens would make the id -> token table huge.
  void check_dense(token_id max_id, std::size_t count, const char* what) const {
    if (max_id >= 0 && static_cast<std::size_t>(max_id) > 4 * count + 1024)
      throw format_error(source_ + ": ids of the " + what + " are not dense (largest id " + std::to_string(max_id) + " for " +
                         std::to_string(count) + " tokens)");
  }

  bool is_added(token_id id) const { return added_.contains_id(id); }

  static std::unordered_map<std::string, token_id> vocab_from_json(const nlohmann::json& j, const std::string& where) {
    if (!j.is_object()) throw format_error(where + ": vocabulary must be a JSON object of token -> id");
    check_entry_count(j.size(), where);
    std::unordered_map<std::string, token_id> vocab;
    vocab.reserve(j.size());
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (!it.value().is_number_integer())
        throw format_error(where + ": id of token " + io::detail::quote(it.key()) + " is not an integer");
      vocab.emplace(it.key(), json_token_id(it.value(), where + ": token " + io::detail::quote(it.key())));
    }
    return vocab;
  }

  static std::vector<merge> read_merges(const std::filesystem::path& path) {
    const std::string data = read_file(path);
    const std::string name = path.string();
    std::vector<merge> merges;
    std::size_t pos = 0, lineno = 0;
    while (pos < data.size()) {
      std::size_t end = data.find('\n', pos);
      if (end == std::string::npos) end = data.size();
      std::string_view line(data.data() + pos, end - pos);
      pos = end + 1;
      ++lineno;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (lineno == 1 && line.substr(0, 8) == "#version") continue;
      if (line.empty()) continue;  // trailing newline(s)
      const auto sp = line.find(' ');
      try {
        utf8_validate(line);
      } catch (const utf8_error& e) {
        throw format_error(name + ":" + std::to_string(lineno) + ": " + e.what());
      }
      if (sp == std::string_view::npos || sp == 0 || sp + 1 >= line.size() ||
          line.find(' ', sp + 1) != std::string_view::npos)
        throw format_error(name + ":" + std::to_string(lineno) + ": malformed merge " + io::detail::quote(line) +
                           " (expected two tokens separated by one space)");
      check_entry_count(merges.size() + 1, name + ": merges");
      merges.emplace_back(std::string(line.substr(0, sp)), std::string(line.substr(sp + 1)));
    }
    return merges;
  }

  // Known special tokens of GPT-2 and RoBERTa vocabularies.
  void configure_known_specials() {
    const token_id s = token_to_id("<s>"), e = token_to_id("</s>");
    if (s >= 0 && e >= 0) {  // RoBERTa
      bos_ = s, eos_ = e, pad_ = token_to_id("<pad>"), mask_ = token_to_id("<mask>");
      if (unk_ < 0) unk_ = token_to_id("<unk>");
      for (const char* t : {"<s>", "</s>", "<pad>", "<unk>", "<mask>"})
        if (token_to_id(t) >= 0 && !is_added(token_to_id(t))) add_token({t, token_to_id(t), true});
      template_ = special_template::roberta(bos_, eos_);
    } else if (token_id eot = token_to_id("<|endoftext|>"); eot >= 0) {  // GPT-2: bos = eos, nothing added
      bos_ = eos_ = eot;
      if (!is_added(eot)) add_token({"<|endoftext|>", eot, true});
      template_ = special_template::none();
    } else {
      template_ = special_template::none();
    }
  }

  static bool find_add_prefix_space(const nlohmann::json& pre, const std::string& source) {
    if (!pre.is_object()) return false;
    if (json_field(pre, "type", std::string(), source + ": pre_tokenizer") == "ByteLevel")
      return json_field(pre, "add_prefix_space", false, source + ": pre_tokenizer");
    if (pre.contains("pretokenizers") && pre["pretokenizers"].is_array())
      for (const auto& p : pre["pretokenizers"])
        if (find_add_prefix_space(p, source)) return true;
    return false;
  }

  std::unordered_map<std::string, token_id> vocab_;
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int> ranks_;
  std::array<std::string, 256> byte_symbol_;
  std::unordered_map<char32_t, unsigned char> unicode_to_byte_;
  added_token_set added_;
  std::unordered_set<token_id> special_;
  std::string source_;
  token_id bos_ = -1, eos_ = -1, pad_ = -1, unk_ = -1, mask_ = -1;
  bool ignore_merges_ = false;
  bool add_prefix_space_ = false;
  special_template template_ = special_template::none();
  std::shared_ptr<cache_t> cache_;
};

}  // namespace vtrans::text
