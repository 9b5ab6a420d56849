#pragma once
// The one strict JSON parse every JSON reader uses (config.json, the shard index, the safetensors
// header, tokenizer files, JSONL rows, trainer state). Stricter than nlohmann::json::parse:
// a duplicate key is an error (nlohmann keeps the last one silently; Python keeps the last, Rust's
// serde the first: a file meaning different things to different readers is rejected), nesting
// is capped, and every error is a vtrans::format_error "<file>: ..." naming the key path or the
// byte offset. Built on nlohmann's SAX interface, so parsing is linear in the input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "vtrans/io/errors.hpp"
#include "vtrans/io/mapped_file.hpp"

namespace vtrans::io {

// Real configs and tokenizer files nest fewer than ten levels.
inline constexpr std::size_t json_max_depth = 64;
// A JSON file larger than this is not a config, index or tokenizer (the largest tokenizer.json
// files are tens of megabytes).
inline constexpr std::uint64_t json_max_file_bytes = std::uint64_t{1} << 30;

namespace detail {

// Builds the value from SAX events, rejecting duplicate keys and deep nesting as they are read.
class strict_json_builder : public nlohmann::json_sax<nlohmann::json> {
 public:
  strict_json_builder(nlohmann::json& root, const std::string& file, std::size_t max_depth)
      : root_(root), file_(file), max_depth_(max_depth) {}

  bool null() override { return put(nullptr); }
  bool boolean(bool v) override { return put(v); }
  bool number_integer(number_integer_t v) override { return put(v); }
  bool number_unsigned(number_unsigned_t v) override { return put(v); }
  bool number_float(number_float_t v, const string_t&) override { return put(v); }
  bool string(string_t& v) override { return put(std::move(v)); }
  bool binary(binary_t& v) override { return put(nlohmann::json::binary(std::move(v))); }

  bool start_object(std::size_t) override { return open(nlohmann::json::object()); }
  bool start_array(std::size_t) override { return open(nlohmann::json::array()); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }

  bool key(string_t& k) override {
    auto& obj = stack_.back().value->get_ref<nlohmann::json::object_t&>();
    auto [it, fresh] = obj.emplace(k, nullptr);
    if (!fresh)
      fail(file_, "duplicate key " + quote(k) + " in " + (stack_.size() == 1 ? std::string("the top-level object") : path()));
    slot_ = &it->second;
    stack_.back().key = &it->first;
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    error_ = e.what();
    return false;
  }

  const std::string& error() const { return error_; }

 private:
  struct level {
    nlohmann::json* value;
    const std::string* key = nullptr;  // the key being filled (objects)
  };

  // Where the next value goes: the root, the end of the open array, or the slot of the last key.
  nlohmann::json* place(nlohmann::json&& v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    nlohmann::json& top = *stack_.back().value;
    if (top.is_array()) {
      top.get_ref<nlohmann::json::array_t&>().push_back(std::move(v));
      return &top.get_ref<nlohmann::json::array_t&>().back();
    }
    *slot_ = std::move(v);
    return slot_;
  }
  bool put(nlohmann::json&& v) {
    place(std::move(v));
    return true;
  }
  bool open(nlohmann::json&& v) {
    stack_.push_back({place(std::move(v))});
    if (stack_.size() > max_depth_) fail(file_, "JSON nests deeper than " + std::to_string(max_depth_) + " levels at " + path());
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }

  // The keys and indices leading to the innermost open value: "\"model\".\"vocab\"", "\"a\"[3]".
  std::string path() const {
    std::string p;
    for (std::size_t i = 0; i + 1 < stack_.size(); ++i) {
      const level& l = stack_[i];
      if (l.value->is_array()) {
        p += "[" + std::to_string(l.value->empty() ? 0 : l.value->size() - 1) + "]";
      } else if (l.key) {
        p += (p.empty() ? "" : ".") + quote(*l.key);
      }
      if (p.size() > 120) return p.substr(0, 120) + "...";
    }
    return p.empty() ? "the top level" : p;
  }

  nlohmann::json& root_;
  const std::string& file_;
  std::size_t max_depth_;
  std::vector<level> stack_;
  nlohmann::json* slot_ = nullptr;
  std::string error_;
};

// nlohmann's message without its "[json.exception.parse_error.101] parse error" prefix, shortened.
inline std::string json_error_detail(const std::string& what) {
  std::string s = what;
  if (s.rfind("[json.exception.", 0) == 0) s.erase(0, s.find("] ") == std::string::npos ? 0 : s.find("] ") + 2);
  if (s.rfind("parse error", 0) == 0) s.erase(0, 11);
  if (s.size() > 240) s = s.substr(0, 240) + "...";
  return s.rfind(" at ", 0) == 0 ? s : ": " + s;
}

}  // namespace detail

// Parses text (the whole of it) as one JSON value. file names the source in errors.
inline nlohmann::json parse_json(std::string_view text, const std::string& file, std::size_t max_depth = json_max_depth) {
  nlohmann::json root;
  detail::strict_json_builder sax(root, file, max_depth);
  if (!nlohmann::json::sax_parse(text.begin(), text.end(), &sax))
    detail::fail(file, "not valid JSON" + detail::json_error_detail(sax.error()));
  return root;
}

// Reads and parses a JSON file.
inline nlohmann::json read_json_file(const std::string& path, std::uint64_t max_bytes = json_max_file_bytes) {
  return parse_json(read_whole_file(path, max_bytes), path);
}

}  // namespace vtrans::io
