#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "text_test_util.hpp"
#include "vtrans/text/sentencepiece.hpp"

using namespace vtrans::text;
using text_test::data;

TEST_CASE("sentencepiece wrapper matches spm_encode and decodes back") {
  const sentencepiece_tokenizer sp(data("sentencepiece/tokenizer.model"));
  CHECK(sp.vocab_size() == 1000);
  CHECK(sp.unk_id() == 0);
  CHECK(sp.bos_id() == 1);
  CHECK(sp.eos_id() == 2);
  std::ifstream in(data("sentencepiece/golden.tsv"));
  REQUIRE(in);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) {
    const auto tab = line.rfind('\t');
    REQUIRE(tab != std::string::npos);
    const std::string text = line.substr(0, tab);
    std::vector<token_id> want;
    std::istringstream ids(line.substr(tab + 1));
    for (token_id id; ids >> id;) want.push_back(id);
    INFO("text: " << text);
    CHECK(sp.encode(text, false) == want);
    auto with_bos = want;
    with_bos.insert(with_bos.begin(), 1);
    CHECK(sp.encode(text) == with_bos);
    CHECK(sp.decode(with_bos) == text);  // byte fallback and kept spaces make this exact
    ++n;
  }
  CHECK(n == 105);
  const auto pair = sp.encode_pair("a", "b");
  CHECK(pair.ids.front() == 1);
  CHECK(pair.type_ids.back() == 1);
  CHECK(sp.decode({1, sp.encode("hi", false)[0], 2}, false).find("<s>") == 0);
  CHECK_THROWS_AS(sp.decode({1000}), vtrans::usage_error);
}

TEST_CASE("sentencepiece errors name the file") {
  const auto dir = text_test::scratch("sentencepiece_bad");
  text_test::write(dir / "tokenizer.model", "this is not a protobuf");
  auto msg = text_test::error_of([&] { sentencepiece_tokenizer sp(dir / "tokenizer.model"); });
  CHECK(msg.find((dir / "tokenizer.model").string() + ": not a SentencePiece model") == 0);
  msg = text_test::error_of([&] { sentencepiece_tokenizer sp(dir / "missing.model"); });
  CHECK(msg.find("cannot open " + (dir / "missing.model").string()) != std::string::npos);
}
