#pragma once
// Tokens matched verbatim in raw text before normal tokenisation (HF "added_tokens": special
// tokens such as [MASK], <|endoftext|>): the leftmost, then longest, match wins.
#include <algorithm>
#include <string>
#include <string_view>
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
  // Adds or replaces (by content) a token.
  void add(added_token t) {
    for (auto& a : tokens_)
      if (a.content == t.content) {
        ids_.erase(a.id);
        a = t;
        ids_.insert(t.id);
        sort();
        return;
      }
    ids_.insert(t.id);
    tokens_.push_back(std::move(t));
    sort();
  }

  bool empty() const { return tokens_.empty(); }
  bool contains_id(token_id id) const { return ids_.count(id) != 0; }
  const std::vector<added_token>& tokens() const { return tokens_; }  // longest first

  // Calls on_text(view) for the text between matches (possibly empty) and on_token(token) for each match.
  template <class OnText, class OnToken>
  void split(std::string_view text, OnText&& on_text, OnToken&& on_token) const {
    std::size_t start = 0, pos = 0;
    while (pos < text.size()) {
      const added_token* hit = nullptr;
      if (first_bytes_.find(text[pos]) != std::string::npos)
        for (const auto& a : tokens_)
          if (text.compare(pos, a.content.size(), a.content) == 0) {
            hit = &a;
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
  void sort() {
    std::stable_sort(tokens_.begin(), tokens_.end(),
                     [](const added_token& x, const added_token& y) { return x.content.size() > y.content.size(); });
    first_bytes_.clear();
    for (const auto& a : tokens_)
      if (!a.content.empty() && first_bytes_.find(a.content[0]) == std::string::npos) first_bytes_ += a.content[0];
  }

  std::vector<added_token> tokens_;
  std::unordered_set<token_id> ids_;
  std::string first_bytes_;  // quick rejection of positions no token starts at
};

}  // namespace vtrans::text
