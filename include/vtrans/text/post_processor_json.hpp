#pragma once
// Reads the "post_processor" of an HF tokenizer.json into a special_template.
#include <string>

#include <nlohmann/json.hpp>

#include "vtrans/error.hpp"
#include "vtrans/io/errors.hpp"
#include "vtrans/text/json_field.hpp"
#include "vtrans/text/special_template.hpp"

namespace vtrans::text {

namespace post_processor_detail {
// Segment ids are small non-negative numbers (0 and 1 in every real template).
inline token_id type_id(const nlohmann::json& piece, const std::string& where) {
  const token_id t = json_field(piece, "type_id", token_id{0}, where);
  if (t < 0) throw format_error(where + ".type_id " + std::to_string(t) + " is negative");
  return t;
}

inline token_id pair_id(const nlohmann::json& pp, const char* field, const std::string& source) {
  const std::string where = source + ": post_processor." + field;
  if (!pp.contains(field) || !pp[field].is_array() || pp[field].size() != 2) throw format_error(where + " must be [token, id]");
  return json_token_id(pp[field][1], where);
}

inline std::vector<template_piece> pieces(const nlohmann::json& list, const nlohmann::json& specials,
                                          const std::string& where) {
  if (!list.is_array()) throw format_error(where + " is not an array");
  std::vector<template_piece> out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& p = list[i];
    const std::string at = where + "[" + std::to_string(i) + "]";
    if (p.contains("Sequence")) {
      const auto& s = p["Sequence"];
      const std::string which = json_field(s, "id", std::string("A"), at);
      if (which != "A" && which != "B") throw format_error(at + ": Sequence id must be A or B");
      out.push_back({which == "A" ? template_piece::sequence_a : template_piece::sequence_b, -1, type_id(s, at)});
    } else if (p.contains("SpecialToken")) {
      const auto& s = p["SpecialToken"];
      const std::string name = json_field(s, "id", std::string(), at);
      const auto& listed = json_child(specials, name.c_str());
      if (!json_child(listed, "ids").is_array())
        throw format_error(at + ": special token " + io::detail::quote(name) + " not listed in special_tokens");
      const auto& ids = listed["ids"];
      for (std::size_t k = 0; k < ids.size(); ++k)
        out.push_back({template_piece::special, json_token_id(ids[k], at + ": special_tokens." + io::detail::quote(name) + ".ids[" +
                                                                           std::to_string(k) + "]"),
                       type_id(s, at)});
    } else {
      throw format_error(at + ": expected Sequence or SpecialToken");
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
  throw format_error(source + ": unsupported post_processor type " + io::detail::quote(type));
}

}  // namespace vtrans::text
