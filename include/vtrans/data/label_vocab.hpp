#pragma once
// Label strings <-> class indices. Built from a training file and then passed, frozen, to the
// dev/test readers so the indices agree across splits.
#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace vtrans::data {

class label_vocab {
 public:
  label_vocab() = default;
  explicit label_vocab(std::vector<std::string> names) {
    for (auto& n : names) add(n);
  }

  // Index of name, adding it at the end when new.
  int add(const std::string& name) {
    auto it = index_.find(name);
    if (it != index_.end()) return it->second;
    int id = static_cast<int>(names_.size());
    names_.push_back(name);
    index_.emplace(name, id);
    return id;
  }
  std::optional<int> find(const std::string& name) const {
    auto it = index_.find(name);
    if (it == index_.end()) return std::nullopt;
    return it->second;
  }
  const std::string& name(int id) const { return names_.at(static_cast<std::size_t>(id)); }
  const std::vector<std::string>& names() const { return names_; }
  std::size_t size() const { return names_.size(); }
  bool empty() const { return names_.empty(); }

  // Canonical order independent of file order: numerically when every label is an integer
  // ("2" < "10"), else lexicographically. Returns old index -> new index.
  std::vector<int> sort() {
    std::vector<std::string> sorted = names_;
    bool numeric = std::all_of(sorted.begin(), sorted.end(), [](const std::string& s) { return is_integer(s); });
    if (numeric)
      std::sort(sorted.begin(), sorted.end(),
                [](const std::string& a, const std::string& b) { return std::strtoll(a.c_str(), nullptr, 10) < std::strtoll(b.c_str(), nullptr, 10); });
    else
      std::sort(sorted.begin(), sorted.end());
    label_vocab fresh(sorted);
    std::vector<int> remap(names_.size());
    for (std::size_t i = 0; i < names_.size(); ++i) remap[i] = *fresh.find(names_[i]);
    *this = std::move(fresh);
    return remap;
  }

 private:
  static bool is_integer(const std::string& s) {
    if (s.empty()) return false;
    std::size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    if (i == s.size() || s.size() > 18) return false;
    for (; i < s.size(); ++i)
      if (s[i] < '0' || s[i] > '9') return false;
    return true;
  }

  std::vector<std::string> names_;
  std::unordered_map<std::string, int> index_;
};

}  // namespace vtrans::data
