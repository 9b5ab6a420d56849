#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "text_test_util.hpp"
#include "vtrans/text/wordpiece.hpp"

using namespace vtrans::text;
using text_test::data;

namespace {
const wordpiece& brown_wordpiece() {
  static const wordpiece wp = wordpiece::from_vocab_file(data("wordpiece/vocab.txt"));
  return wp;
}
}  // namespace

TEST_CASE("wordpiece matches the Python reference on Brown sentences and hard cases") {
  const auto& wp = brown_wordpiece();
  CHECK(wp.vocab_size() == 4141);
  CHECK(wp.pad_id() == 0);
  CHECK(wp.unk_id() == 1);
  CHECK(wp.cls_id() == 2);
  CHECK(wp.sep_id() == 3);
  CHECK(wp.mask_id() == 4);
  std::size_t singles = 0, pairs = 0;
  for (const auto& g : text_test::read_jsonl(data("wordpiece_golden.jsonl"))) {
    if (g.contains("text")) {
      const std::string text = g["text"];
      INFO("text: " << text);
      const auto ids = wp.encode(text);
      CHECK(ids == g["ids"].get<std::vector<token_id>>());
      CHECK(wp.decode(ids) == g["decoded"].get<std::string>());
      const auto plain = wp.encode(text, false);
      CHECK(plain.size() + 2 == ids.size());
      ++singles;
    } else {
      INFO("pair: " << g["a"] << " | " << g["b"]);
      const auto enc = wp.encode_pair(g["a"].get<std::string>(), g["b"].get<std::string>());
      CHECK(enc.ids == g["ids"].get<std::vector<token_id>>());
      CHECK(enc.type_ids == g["type_ids"].get<std::vector<token_id>>());
      ++pairs;
    }
  }
  CHECK(singles == 220);
  CHECK(pairs == 20);
}

TEST_CASE("wordpiece basics on a hand-made vocabulary") {
  wordpiece wp({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "runn", "##ing", ",", "a", "##a"});
  CHECK(wp.tokenize("UnAffable, RUNNING") == std::vector<std::string>{"un", "##aff", "##able", ",", "runn", "##ing"});
  CHECK(wp.encode("unaffablex") == std::vector<token_id>{2, 1, 3});  // one bad piece -> whole word [UNK]
  CHECK(wp.decode({2, 5, 6, 7, 10, 8, 9, 3}) == "unaffable , running");
  CHECK(wp.decode({2, 5, 3}, false) == "[CLS] un [SEP]");
  CHECK(wp.encode("un[MASK] [SEP]a", false) == std::vector<token_id>{5, 4, 3, 11});  // specials kept whole
  CHECK(wp.encode("[mask]", false) == std::vector<token_id>{1, 1, 1});  // only the exact spelling
  CHECK(wp.encode(std::string(100, 'a'), false).size() == 100);
  CHECK(wp.encode(std::string(101, 'a'), false) == std::vector<token_id>{1});
  const auto pair = wp.encode_pair("un", "a", false);
  CHECK(pair.ids == std::vector<token_id>{5, 11});
  CHECK(pair.type_ids == std::vector<token_id>{0, 0});

  wordpiece_options cased;
  cased.lower_case = false;
  wordpiece wc({"[UNK]", "Un", "un", "##aff"}, cased);
  CHECK(wc.tokenize("Unaff unaff UNaff") == std::vector<std::string>{"Un", "##aff", "un", "##aff", "[UNK]"});
  CHECK(wc.cls_id() == -1);
  CHECK(wc.encode("un") == std::vector<token_id>{2});  // no [CLS]/[SEP] in vocab: nothing added
}

TEST_CASE("wordpiece rejects bad vocab files with file and line") {
  const auto dir = text_test::scratch("wordpiece_bad");
  text_test::write(dir / "dup.txt", "[UNK]\na\nb\na\n");
  auto msg = text_test::error_of([&] { wordpiece::from_vocab_file(dir / "dup.txt"); });
  CHECK(msg.find("dup.txt:4") != std::string::npos);
  CHECK(msg.find("duplicate token \"a\"") != std::string::npos);

  text_test::write(dir / "nounk.txt", "a\nb\n");
  msg = text_test::error_of([&] { wordpiece::from_vocab_file(dir / "nounk.txt"); });
  CHECK(msg.find("nounk.txt") != std::string::npos);
  CHECK(msg.find("[UNK]") != std::string::npos);

  text_test::write(dir / "empty_line.txt", "[UNK]\n\nb\n");
  msg = text_test::error_of([&] { wordpiece::from_vocab_file(dir / "empty_line.txt"); });
  CHECK(msg.find("empty_line.txt:2: empty token") != std::string::npos);

  text_test::write(dir / "badutf8.txt", "[UNK]\nok\nx\xC3\n");
  msg = text_test::error_of([&] { wordpiece::from_vocab_file(dir / "badutf8.txt"); });
  CHECK(msg.find("badutf8.txt:3") != std::string::npos);

  text_test::write(dir / "crlf.txt", "[UNK]\r\n[CLS]\r\n[SEP]\r\nhi\r\n");
  CHECK(wordpiece::from_vocab_file(dir / "crlf.txt").encode("hi") == std::vector<token_id>{1, 3, 2});

  msg = text_test::error_of([&] { wordpiece::from_vocab_file(dir / "missing.txt"); });
  CHECK(msg.find("cannot open " + (dir / "missing.txt").string()) != std::string::npos);

  const auto& wp = brown_wordpiece();
  CHECK_THROWS_AS(wp.encode("bad \xFF byte"), utf8_error);
  CHECK_THROWS_AS(wp.decode({999999}), vtrans::usage_error);
}
