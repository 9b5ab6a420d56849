#pragma once
// Reads the "post_processor" of an HF tokenizer.json into a special_template.
#include <string>

#include <nlohmann/json.hpp>

#include "vtrans/text/json_field.hpp"
#include "vtrans/text/special_template.hpp"

namespace vtrans::text {

namespace post_processor_detail {
inline token_id pair_id(const nlohmann::json& pp, const char* field, const std::string& source) {
  if (!pp.contains(field) || !pp[field].is_array() || pp[field].size() != 2 || !pp[field][1].is_number_integer())
    throw std::runtime_error(source + ": post_processor." + field + " must be [token, id]");
  return pp[field][1].get<token_id>();
}

inline std::vector<template_piece> pieces(const nlohmann::json& list, const nlohmann::json& specials,
                                          const std::string& where) {
  if (!list.is_array()) throw std::runtime_error(where + " is not an array");
  std::vector<template_piece> out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& p = list[i];
    const std::string at = where + "[" + std::to_string(i) + "]";
    if (p.contains("Sequence")) {
      const auto& s = p["Sequence"];
      const std::string which = json_field(s, "id", std::string("A"), at);
      if (which != "A" && which != "B") throw std::runtime_error(at + ": Sequence id must be A or B");
      out.push_back({which == "A" ? template_piece::sequence_a : template_piece::sequence_b, -1,
                     json_field(s, "type_id", 0, at)});
    } else if (p.contains("SpecialToken")) {
      const auto& s = p["SpecialToken"];
      const std::string name = json_field(s, "id", std::string(), at);
      if (!specials.is_object() || !specials.contains(name) || !specials[name].contains("ids") ||
          !specials[name]["ids"].is_array())
        throw std::runtime_error(at + ": special token '" + name + "' not listed in special_tokens");
      for (const auto& id : specials[name]["ids"])
        out.push_back({template_piece::special, id.get<token_id>(), json_field(s, "type_id", 0, at)});
    } else {
      throw std::runtime_error(at + ": expected Sequence or SpecialToken");
    }
  }
  return out;
}
}  // namespace post_processor_detail

// fallback is returned for processors that add nothing we model (null, ByteLevel).
inline special_template post_processor_from_json(const nlohmann::json& pp, const special_template& fallback,
                                                 const std::string& source) {
  using namespace post_processor_detail;
  if (!pp.is_object()) return fallback;
  const std::string type = json_field(pp, "type", std::string(), source + ": post_processor");
  if (type == "RobertaProcessing") return special_template::roberta(pair_id(pp, "cls", source), pair_id(pp, "sep", source));
  if (type == "BertProcessing") return special_template::bert(pair_id(pp, "cls", source), pair_id(pp, "sep", source));
  if (type == "TemplateProcessing") {
    const nlohmann::json specials = json_child(pp, "special_tokens");
    special_template t;
    t.single = pieces(json_child(pp, "single"), specials, source + ": post_processor.single");
    t.pair = pieces(json_child(pp, "pair"), specials, source + ": post_processor.pair");
    return t;
  }
  if (type == "Sequence" && pp.contains("processors") && pp["processors"].is_array()) {
    special_template t = fallback;
    for (const auto& p : pp["processors"]) t = post_processor_from_json(p, t, source);
    return t;
  }
  if (type == "ByteLevel" || type.empty()) return fallback;
  throw std::runtime_error(source + ": unsupported post_processor type '" + type + "'");
}

}  // namespace vtrans::text
