#pragma once
// Fields of tokenizer JSON files: optional fields (missing or null means the default; a wrong type
// is an error naming the file and field, where nlohmann's value() throws on null and names
// neither), token ids range-checked at 64 bits, and the caps on what a tokenizer file may declare.
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "vtrans/error.hpp"
#include "vtrans/io/errors.hpp"
#include "vtrans/text/encoding.hpp"

namespace vtrans::text {

// More tokens (vocabulary entries, merges, added tokens) than any real tokenizer has (the largest
// have a few hundred thousand); a file declaring more is refused before tables are built.
inline constexpr std::size_t max_tokenizer_entries = std::size_t{1} << 24;

template <class T>
T json_field(const nlohmann::json& obj, const char* key, T fallback, const std::string& where) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    // get<T>() would silently wrap 2^32 + 5 to 5; the check is on the full 64-bit value.
    using lim = std::numeric_limits<T>;
    const bool negative = it->is_number_integer() && !it->is_number_unsigned() && it->get<std::int64_t>() < 0;
    const bool fits = it->is_number_integer() && (negative ? std::is_signed_v<T> && it->get<std::int64_t>() >= std::int64_t(lim::min())
                                                           : it->get<std::uint64_t>() <= std::uint64_t(lim::max()));
    if (!fits)
      throw format_error(where + "." + key + " must be an integer in [" + std::to_string(lim::min()) + ", " +
                         std::to_string(lim::max()) + "], got " + io::detail::show(*it));
    return it->get<T>();
  } else {
    try {
      return it->get<T>();
    } catch (const nlohmann::json::exception&) {
      throw format_error(where + "." + key + " has the wrong type (" + it->type_name() + ")");
    }
  }
}

// A token id: an integer in [0, 2^31), checked on the full 64-bit value (never truncated).
inline token_id json_token_id(const nlohmann::json& v, const std::string& where) {
  constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<token_id>::max());
  if (!v.is_number_integer()) throw format_error(where + ": id must be a non-negative integer, got " + io::detail::show(v));
  if (!v.is_number_unsigned() && v.get<std::int64_t>() < 0) throw format_error(where + ": id " + io::detail::show(v) + " is negative");
  if (v.get<std::uint64_t>() > max)
    throw format_error(where + ": id " + io::detail::show(v) + " is above the largest token id " + std::to_string(max));
  return static_cast<token_id>(v.get<std::uint64_t>());
}

// A sub-object or array by key; null when missing.
inline const nlohmann::json& json_child(const nlohmann::json& obj, const char* key) {
  static const nlohmann::json null_json;
  if (!obj.is_object()) return null_json;
  auto it = obj.find(key);
  return it == obj.end() ? null_json : *it;
}

// Refuses a table larger than max_tokenizer_entries.
inline void check_entry_count(std::size_t n, const std::string& what) {
  if (n > max_tokenizer_entries)
    throw resource_error(what + ": " + std::to_string(n) + " entries exceed the limit of " + std::to_string(max_tokenizer_entries));
}

}  // namespace vtrans::text
