// Tokenizer files and text that are malformed, hostile or just large: ids range-checked at 64
// bits, sparse id tables refused, duplicate JSON keys refused, invalid UTF-8 refused by every
// tokenizer, and byte-level BPE merging in O(n log n) with the ids of GPT-2's own algorithm.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "text_test_util.hpp"
#include "vtrans/text/tokenizer.hpp"

using namespace vtrans::text;
using text_test::data;
namespace fs = std::filesystem;

namespace {

template <class F>
double seconds(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// GPT-2's encoder.py bpe() as written there: find the lowest-ranked adjacent pair, merge every
// occurrence left to right, repeat. Quadratic, kept here as the reference for the heap version.
std::vector<std::string> reference_bpe(std::vector<std::string> word, const std::vector<byte_bpe::merge>& merges) {
  const auto rank = [&](const std::string& a, const std::string& b) {
    for (std::size_t r = 0; r < merges.size(); ++r)
      if (merges[r].first == a && merges[r].second == b) return static_cast<long>(r);
    return -1L;
  };
  while (word.size() > 1) {
    long best = -1;
    for (std::size_t i = 0; i + 1 < word.size(); ++i) {
      const long r = rank(word[i], word[i + 1]);
      if (r >= 0 && (best < 0 || r < best)) best = r;
    }
    if (best < 0) break;
    const auto& [first, second] = merges[static_cast<std::size_t>(best)];
    std::vector<std::string> merged;
    for (std::size_t i = 0; i < word.size();) {
      if (i + 1 < word.size() && word[i] == first && word[i + 1] == second) {
        merged.push_back(first + second);
        i += 2;
      } else {
        merged.push_back(word[i++]);
      }
    }
    word = std::move(merged);
  }
  return word;
}

// A tokenizer.json of a tiny byte-level BPE: the letters a..c, their merges, and extra fields.
nlohmann::json tiny_bpe_json() {
  return nlohmann::json::parse(R"({
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3}, "merges": ["a b"]},
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false},
    "added_tokens": [{"id": 4, "content": "<x>", "special": true}]})");
}

std::string load_error(const fs::path& dir, const std::string& tokenizer_json) {
  text_test::write(dir / "tokenizer.json", tokenizer_json);
  return text_test::error_of([&] { load_tokenizer(dir); });
}

}  // namespace

TEST_CASE("byte BPE: the heap merge gives encoder.py's symbols for any merge list") {
  // Random words over four letters and random merge lists, including lists where a merge of a
  // longer symbol comes before the merges that build it ("inverted" ranks).
  std::mt19937 rng(7);
  const std::vector<std::string> letters{"a", "b", "c", "d"};
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<std::string> symbols = letters;
    std::vector<byte_bpe::merge> merges;
    for (int m = 0; m < 12; ++m) {
      const auto& x = symbols[rng() % symbols.size()];
      const auto& y = symbols[rng() % symbols.size()];
      merges.emplace_back(x, y);
      symbols.push_back(x + y);
    }
    std::shuffle(merges.begin() + 6, merges.end(), rng);
    std::unordered_map<std::string, token_id> vocab;
    for (const auto& s : symbols) vocab.emplace(s, static_cast<token_id>(vocab.size()));
    const byte_bpe bpe(vocab, merges, "random");
    std::string word;
    std::vector<std::string> chars;
    for (int i = 0, n = 1 + static_cast<int>(rng() % 24); i < n; ++i) {
      chars.push_back(letters[rng() % 4]);
      word += chars.back();
    }
    std::vector<token_id> want;
    for (const auto& s : reference_bpe(chars, merges)) want.push_back(vocab.at(s));
    INFO("word " << word);
    CHECK(bpe.encode(word, false) == want);
  }
}

TEST_CASE("byte BPE: one long word costs O(n log n), not O(n^2), and round-trips") {
  const auto bpe = byte_bpe::from_files(data("gpt2/encoder.json"), data("gpt2/vocab.bpe"));
  std::string word;
  std::mt19937 rng(1);
  while (word.size() < 200000) word += static_cast<char>('a' + rng() % 26);  // one pre-tokenizer piece
  std::vector<token_id> ids;
  const double t = seconds([&] { ids = bpe.encode(word, false); });
  CHECK(ids.size() > 50000);
  CHECK(bpe.decode(ids) == word);
  CHECK_MESSAGE(t < 20, "200 kB word took " << t << " s");  // the quadratic merge took minutes
}

TEST_CASE("token ids are range-checked at 64 bits, never truncated") {
  const auto dir = text_test::scratch("bad_ids");
  text_test::write(dir / "merges.txt", "a b\n");
  text_test::write(dir / "big.json", R"({"a": 0, "b": 4294967301})");  // 2^32 + 5, once read as 5
  auto msg = text_test::error_of([&] { byte_bpe::from_files(dir / "big.json", dir / "merges.txt"); });
  CHECK(msg.find("big.json: token \"b\": id 4294967301 is above the largest token id 2147483647") != std::string::npos);
  text_test::write(dir / "neg.json", R"({"a": 0, "b": -1})");
  msg = text_test::error_of([&] { byte_bpe::from_files(dir / "neg.json", dir / "merges.txt"); });
  CHECK(msg.find("neg.json: token \"b\": id -1 is negative") != std::string::npos);

  auto j = tiny_bpe_json();
  j["added_tokens"][0]["id"] = std::uint64_t{4294967300};
  msg = load_error(dir, j.dump());
  CHECK(msg.find("tokenizer.json: added_tokens[0]: id 4294967300 is above the largest token id") != std::string::npos);

  j = tiny_bpe_json();
  j["post_processor"] = {{"type", "RobertaProcessing"}, {"sep", {"</s>", 2}}, {"cls", {"<s>", std::uint64_t{1} << 33}}};
  msg = load_error(dir, j.dump());
  CHECK(msg.find("tokenizer.json: post_processor.cls: id 8589934592 is above") != std::string::npos);

  j = nlohmann::json::parse(R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 4294967297}}})");
  msg = load_error(dir, j.dump());
  CHECK(msg.find("tokenizer.json: model.vocab[\"a\"]: id 4294967297 is above") != std::string::npos);
}

TEST_CASE("an added token far beyond the vocabulary is refused before any table is sized by it") {
  const auto dir = text_test::scratch("sparse_added");
  auto j = tiny_bpe_json();
  j["added_tokens"][0]["id"] = 2147483647;  // once: a 2^31-entry table
  std::string msg;
  const double t = seconds([&] { msg = load_error(dir, j.dump()); });
  CHECK(msg.find("tokenizer.json: ids of the added tokens are not dense (largest id 2147483647 for 5 tokens)") != std::string::npos);
  CHECK(t < 5);

  // Ids just after the vocabulary, as real files have them, load; many of them load fast.
  j = tiny_bpe_json();
  for (int i = 0; i < 20000; ++i) j["added_tokens"].push_back({{"id", 5 + i}, {"content", "<t" + std::to_string(i) + ">"}});
  std::unique_ptr<tokenizer> tok;
  CHECK(seconds([&] {
          text_test::write(dir / "tokenizer.json", j.dump());
          tok = load_tokenizer(dir);
        }) < 20);
  CHECK(tok->encode("ab<t19999>c<x>", false) == std::vector<token_id>{3, 20004, 2, 4});
}

TEST_CASE("duplicate keys in tokenizer JSON files are refused") {
  const auto dir = text_test::scratch("dup_keys");
  text_test::write(dir / "merges.txt", "a b\n");
  text_test::write(dir / "dup.json", R"({"a": 0, "b": 1, "a": 2})");
  auto msg = text_test::error_of([&] { byte_bpe::from_files(dir / "dup.json", dir / "merges.txt"); });
  CHECK(msg.find("dup.json: duplicate key \"a\" in the top-level object") != std::string::npos);

  msg = load_error(dir, R"({"model": {"type": "BPE", "vocab": {"a": 0, "a": 1}, "merges": []}, "pre_tokenizer": {"type": "ByteLevel"}})");
  CHECK(msg.find("tokenizer.json: duplicate key \"a\" in \"model\".\"vocab\"") != std::string::npos);
  msg = load_error(dir, R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}, "model": {"type": "BPE"}})");
  CHECK(msg.find("tokenizer.json: duplicate key \"model\"") != std::string::npos);

  fs::remove(dir / "tokenizer.json");
  text_test::write(dir / "vocab.txt", "[UNK]\na\n");
  const std::string config = R"({"do_lower_case": true, "do_lower_case": false})";
  text_test::write(dir / "tokenizer_config.json", config);
  msg = text_test::error_of([&] { load_tokenizer(dir); });
  CHECK(msg.find("tokenizer_config.json: duplicate key \"do_lower_case\"") != std::string::npos);
  // Refused files are left as they were, and nothing is written beside them.
  CHECK(text_test::read(dir / "tokenizer_config.json") == config);
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 4);  // merges, dup.json, vocab.txt, config
}

TEST_CASE("every tokenizer refuses invalid UTF-8 text") {
  const std::string bad = "ok \xC3 then";
  const auto sp = load_tokenizer(data("sentencepiece"));
  CHECK_THROWS_AS(sp->encode(bad), utf8_error);
  CHECK_THROWS_AS(sp->encode_pair("fine", bad), utf8_error);
  CHECK_THROWS_AS(load_tokenizer(data("gpt2"))->encode(bad), utf8_error);
  CHECK_THROWS_AS(load_tokenizer(data("wordpiece"))->encode(bad), utf8_error);
  try {
    sp->encode(bad);
  } catch (const utf8_error& e) {
    CHECK(e.offset() == 3);
    CHECK(std::string(e.what()).find("invalid UTF-8 at byte offset 3") != std::string::npos);
  }
}

TEST_CASE("WordPiece: a huge max_input_chars_per_word does not make long words quadratic") {
  const auto dir = text_test::scratch("wordpiece_long");
  text_test::write(dir / "tokenizer.json", R"({"model": {"type": "WordPiece", "max_input_chars_per_word": 100000000,
    "vocab": {"[UNK]": 0, "a": 1, "##a": 2, "##aa": 3}}})");
  const auto wp = load_tokenizer(dir);
  std::vector<token_id> ids;
  CHECK(seconds([&] { ids = wp->encode(std::string(100000, 'a'), false); }) < 20);
  REQUIRE(ids.size() == 50001);  // "a", then 49,999 "##aa" greedily, then the last "##a"
  CHECK(ids.front() == 1);
  CHECK(ids[1] == 3);
  CHECK(ids.back() == 2);
}
