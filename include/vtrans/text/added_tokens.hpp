#pragma once
// Tokens matched verbatim in raw text before normal tokenisation (HF "added_tokens": special
// tokens such as [MASK], <|endoftext|>): the leftmost, then longest, match wins.
#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "vtrans/text/encoding.hpp"

namespace vtrans::text {

struct added_token {
  std::string content;
  token_id id;
  bool special = true;  // skipped by decode(skip_special = true)
};

class added_token_set {
 public:
  // Adds or replaces (by content) tokens. The set is re-indexed once per call, so a file's
  // tokens are added together.
  void add(std::vector<added_token> batch) {
    std::unordered_map<std::string, std::size_t> at;
    for (std::size_t i = 0; i < tokens_.size(); ++i) at.emplace(tokens_[i].content, i);
    for (auto& t : batch) {
      auto [it, fresh] = at.emplace(t.content, tokens_.size());
      if (fresh) tokens_.push_back(std::move(t));
      else tokens_[it->second] = std::move(t);
    }
    reindex();
  }
  void add(added_token t) { add(std::vector<added_token>{std::move(t)}); }

  bool empty() const { return tokens_.empty(); }
  bool contains_id(token_id id) const { return ids_.count(id) != 0; }
  const std::vector<added_token>& tokens() const { return tokens_; }  // longest first

  // Calls on_text(view) for the text between matches (possibly empty) and on_token(token) for each match.
  template <class OnText, class OnToken>
  void split(std::string_view text, OnText&& on_text, OnToken&& on_token) const {
    std::size_t start = 0, pos = 0;
    while (pos < text.size()) {
      const added_token* hit = nullptr;
      for (std::size_t i : starting_with_[static_cast<unsigned char>(text[pos])])
        if (text.compare(pos, tokens_[i].content.size(), tokens_[i].content) == 0) {
          hit = &tokens_[i];
          break;
        }
      if (!hit) {
        ++pos;
        continue;
      }
      on_text(text.substr(start, pos - start));
      on_token(*hit);
      pos += hit->content.size();
      start = pos;
    }
    on_text(text.substr(start));
  }

 private:
  void reindex() {
    std::stable_sort(tokens_.begin(), tokens_.end(),
                     [](const added_token& x, const added_token& y) { return x.content.size() > y.content.size(); });
    ids_.clear();
    for (auto& list : starting_with_) list.clear();
    for (std::size_t i = 0; i < tokens_.size(); ++i) {
      ids_.insert(tokens_[i].id);
      if (!tokens_[i].content.empty()) starting_with_[static_cast<unsigned char>(tokens_[i].content[0])].push_back(i);
    }
  }

  std::vector<added_token> tokens_;
  std::unordered_set<token_id> ids_;
  std::array<std::vector<std::size_t>, 256> starting_with_;  // by first byte, longest first
};

}  // namespace vtrans::text
