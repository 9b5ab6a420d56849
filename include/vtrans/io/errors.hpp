#pragma once
// The exceptions of the checkpoint file layer (vtrans::error's, under their io:: names), and the
// helpers that keep their messages to one line.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "vtrans/error.hpp"

namespace vtrans::io {

using vtrans::file_error;
using vtrans::format_error;
using vtrans::resource_error;

namespace detail {

// A name as a JSON string literal: quoted, control characters escaped, invalid UTF-8 replaced,
// so that hostile names cannot break the one-line message.
inline std::string quote(std::string_view s) {
  return nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A JSON value shown in a message, shortened so a huge value cannot flood the log. Nesting is cut
// off too: dump() recurses, and a hostile file can nest arrays a million levels deep.
inline void show_into(std::string& out, const nlohmann::json& v, std::size_t max_chars, int depth) {
  if (out.size() > max_chars) return;
  if (!v.is_structured()) {
    out += v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return;
  }
  const bool obj = v.is_object();
  out += obj ? '{' : '[';
  if (depth >= 3 && !v.empty()) {
    out += "...";
  } else {
    bool first = true;
    for (auto it = v.begin(); it != v.end() && out.size() <= max_chars; ++it) {
      if (!first) out += ", ";
      first = false;
      if (obj) out += quote(it.key()) + ": ";
      show_into(out, it.value(), max_chars, depth + 1);
    }
  }
  out += obj ? '}' : ']';
}

inline std::string show(const nlohmann::json& v, std::size_t max_chars = 60) {
  std::string s;
  show_into(s, v, max_chars, 0);
  if (s.size() > max_chars) s = s.substr(0, max_chars) + "...";
  return s;
}

inline const char* json_type(const nlohmann::json& v) { return v.type_name(); }

inline std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Whether a JSON value nests deeper than max_depth, found without recursion. Copying or dumping a
// value recurses once per level, so hostile input must be stopped before either happens.
inline bool json_deeper_than(const nlohmann::json& root, std::size_t max_depth) {
  std::vector<std::pair<const nlohmann::json*, std::size_t>> todo{{&root, 1}};
  while (!todo.empty()) {
    auto [v, depth] = todo.back();
    todo.pop_back();
    if (!v->is_structured()) continue;
    if (depth > max_depth) return true;
    for (auto it = v->begin(); it != v->end(); ++it) todo.emplace_back(&*it, depth + 1);
  }
  return false;
}

[[noreturn]] inline void fail(const std::string& file, const std::string& what) {
  throw format_error(file + ": " + what);
}

// A size read from a file above its cap: "<file>: <what> <value> exceeds the limit of <cap>".
[[noreturn]] inline void fail_limit(const std::string& file, const std::string& what, std::uint64_t value, std::uint64_t cap) {
  throw resource_error(file + ": " + what + " " + std::to_string(value) + " exceeds the limit of " + std::to_string(cap));
}

[[noreturn]] inline void fail_os(const std::string& what, const std::string& path, int err) {
  throw file_error(what + " " + path + ": " + std::system_category().message(err));
}

}  // namespace detail
}  // namespace vtrans::io
