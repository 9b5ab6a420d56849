#pragma once
// A small, strict XML well-formedness checker for the SVG tests: one root element, balanced and
// properly nested tags, attributes written name="value" without duplicates, no raw '<' in values,
// and every '&' starting one of the predefined entities or a character reference. It returns the
// elements it saw so that tests can count marks by class.
#include <cctype>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace xml_check {

struct element {
  std::string name;
  std::map<std::string, std::string> attrs;
  std::string text;  // character data directly inside (for <text> and <title>)

  bool has_class(const std::string& c) const {
    auto it = attrs.find("class");
    if (it == attrs.end()) return false;
    std::istringstream in(it->second);
    std::string w;
    while (in >> w)
      if (w == c) return true;
    return false;
  }
};

struct document {
  std::vector<element> elements;  // in document order
  std::size_t count_class(const std::string& c) const {
    std::size_t n = 0;
    for (const auto& e : elements) n += e.has_class(c);
    return n;
  }
  std::size_t count_name(const std::string& name) const {
    std::size_t n = 0;
    for (const auto& e : elements) n += e.name == name;
    return n;
  }
};

namespace detail {
inline bool name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }
inline bool name_char(char c) { return name_start(c) || std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.'; }

// Decode character data or an attribute value; throws on a bare '&' or '<'.
inline std::string decode(const std::string& s, std::size_t at) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '<') throw std::runtime_error("raw '<' near offset " + std::to_string(at + i));
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    const auto end = s.find(';', i);
    if (end == std::string::npos) throw std::runtime_error("unterminated entity near offset " + std::to_string(at + i));
    const std::string ent = s.substr(i + 1, end - i - 1);
    static const std::map<std::string, char> named{{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
    if (auto it = named.find(ent); it != named.end()) {
      out += it->second;
    } else if (ent.size() > 1 && ent[0] == '#') {
      const bool hex = ent[1] == 'x';
      if (ent.size() == (hex ? 2u : 1u)) throw std::runtime_error("empty character reference near offset " + std::to_string(at + i));
      for (std::size_t k = hex ? 2 : 1; k < ent.size(); ++k)
        if (!(hex ? std::isxdigit(static_cast<unsigned char>(ent[k])) : std::isdigit(static_cast<unsigned char>(ent[k]))))
          throw std::runtime_error("bad character reference &" + ent + "; near offset " + std::to_string(at + i));
      out += '?';
    } else {
      throw std::runtime_error("unknown entity &" + ent + "; near offset " + std::to_string(at + i));
    }
    i = end;
  }
  return out;
}
}  // namespace detail

// Parses `xml`; throws std::runtime_error naming the problem and its offset.
inline document parse(const std::string& xml) {
  document doc;
  std::vector<std::size_t> open;  // indices into doc.elements
  std::size_t i = 0, roots = 0;
  auto fail = [&](const std::string& what) { throw std::runtime_error(what + " at offset " + std::to_string(i)); };
  auto skip_space = [&] {
    while (i < xml.size() && std::isspace(static_cast<unsigned char>(xml[i]))) ++i;
  };
  auto read_name = [&] {
    if (i >= xml.size() || !detail::name_start(xml[i])) fail("expected a name");
    const std::size_t s = i;
    while (i < xml.size() && detail::name_char(xml[i])) ++i;
    return xml.substr(s, i - s);
  };
  if (xml.compare(0, 5, "<?xml") == 0) {
    const auto end = xml.find("?>");
    if (end == std::string::npos) fail("unterminated XML declaration");
    i = end + 2;
  }
  while (i < xml.size()) {
    if (xml[i] != '<') {
      const auto next = xml.find('<', i);
      const std::string chunk = xml.substr(i, next == std::string::npos ? std::string::npos : next - i);
      const std::string text = detail::decode(chunk, i);
      if (open.empty()) {
        for (char c : text)
          if (!std::isspace(static_cast<unsigned char>(c))) fail("text outside the root element");
      } else {
        doc.elements[open.back()].text += text;
      }
      i = next == std::string::npos ? xml.size() : next;
      continue;
    }
    if (xml.compare(i, 4, "<!--") == 0) {
      const auto end = xml.find("-->", i);
      if (end == std::string::npos) fail("unterminated comment");
      i = end + 3;
      continue;
    }
    if (xml.compare(i, 2, "</") == 0) {
      i += 2;
      const std::string name = read_name();
      skip_space();
      if (i >= xml.size() || xml[i] != '>') fail("expected '>' closing </" + name);
      ++i;
      if (open.empty() || doc.elements[open.back()].name != name)
        fail("</" + name + "> does not close " + (open.empty() ? std::string("anything") : "<" + doc.elements[open.back()].name + ">"));
      open.pop_back();
      continue;
    }
    ++i;
    element e;
    e.name = read_name();
    bool self_closing = false;
    for (;;) {
      const std::size_t before = i;
      skip_space();
      if (i >= xml.size()) fail("unterminated tag <" + e.name);
      if (xml[i] == '>') {
        ++i;
        break;
      }
      if (xml.compare(i, 2, "/>") == 0) {
        i += 2;
        self_closing = true;
        break;
      }
      if (i == before) fail("expected whitespace before an attribute of <" + e.name + ">");
      const std::string key = read_name();
      if (i >= xml.size() || xml[i] != '=') fail("attribute " + key + " without '='");
      ++i;
      if (i >= xml.size() || (xml[i] != '"' && xml[i] != '\'')) fail("attribute " + key + " value not quoted");
      const char q = xml[i++];
      const auto end = xml.find(q, i);
      if (end == std::string::npos) fail("unterminated value of " + key);
      if (e.attrs.count(key)) fail("duplicate attribute " + key + " on <" + e.name + ">");
      e.attrs[key] = detail::decode(xml.substr(i, end - i), i);
      i = end + 1;
    }
    if (open.empty()) {
      if (++roots > 1) fail("second root element <" + e.name + ">");
    }
    doc.elements.push_back(e);
    if (!self_closing) open.push_back(doc.elements.size() - 1);
  }
  if (!open.empty()) throw std::runtime_error("unclosed <" + doc.elements[open.back()].name + "> at end of document");
  if (roots != 1) throw std::runtime_error("no root element");
  return doc;
}

}  // namespace xml_check
