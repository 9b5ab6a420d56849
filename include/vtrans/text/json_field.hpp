#pragma once
// Optional fields of tokenizer JSON files: missing or null means the default; a wrong type is an
// error naming the file and field (nlohmann's value() throws on null and names neither).
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace vtrans::text {

template <class T>
T json_field(const nlohmann::json& obj, const char* key, T fallback, const std::string& where) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw std::runtime_error(where + "." + key + " has the wrong type (" + it->type_name() + ")");
  }
}

// A sub-object or array by key; null when missing.
inline const nlohmann::json& json_child(const nlohmann::json& obj, const char* key) {
  static const nlohmann::json null_json;
  if (!obj.is_object()) return null_json;
  auto it = obj.find(key);
  return it == obj.end() ? null_json : *it;
}

}  // namespace vtrans::text
