// Data files with bad bytes or rows: invalid UTF-8, duplicate JSON keys, non-finite scores and
// texts that encode to nothing are errors naming the file and line; RoBERTa pairs keep one
// segment type; the files read are never modified.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "../io/io_test_util.hpp"
#include "temp_dir.hpp"
#include "vtrans/data/encode.hpp"
#include "vtrans/data/glue.hpp"
#include "vtrans/data/lm_text.hpp"
#include "vtrans/data/text_pairs.hpp"

using namespace vtrans::data;
using vtrans_test::temp_dir;

namespace {

template <class F>
std::string data_error_of(F&& f) {
  return io_test::error_of<data_error>(std::forward<F>(f));
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// One id per byte, as a tokenizer without special tokens (GPT-2, LLaMA) would give.
std::vector<std::int32_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

}  // namespace

TEST_CASE("invalid UTF-8 in a TSV, JSONL, GLUE or WikiText file names the file, line and byte") {
  temp_dir d;
  const std::string bad_tsv = "fine\tpos\nstill fine\tneg\nbro\xC3(ken\tpos\n";
  const auto tsv = d.write("bad.tsv", bad_tsv);
  auto m = data_error_of([&] { read_text_pairs_tsv(tsv); });
  CHECK(m.find(tsv.string() + ":3: invalid UTF-8 at byte offset 3 of the line") != std::string::npos);
  CHECK(slurp(tsv) == bad_tsv);  // read, never written

  const auto jsonl = d.write("bad.jsonl", "{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"\xFF\", \"label\": \"x\"}\n");
  m = data_error_of([&] { read_text_pairs_jsonl(jsonl); });
  CHECK(m.find(jsonl.string() + ":2: invalid UTF-8 at byte offset 10 of the line") != std::string::npos);

  const auto glue = d.write("SST-2/dev.tsv", "sentence\tlabel\ngood\t1\nbad \xED\xA0\x80 surrogate\t0\n");
  m = data_error_of([&] { load_glue(glue_task::sst2, d.path() / "SST-2", "dev"); });
  CHECK(m.find(glue.string() + ":3: invalid UTF-8 at byte offset 4 of the line: encoded surrogate") != std::string::npos);

  // A BOM is stripped before the check; offsets count from the line start after it.
  const auto wiki = d.write("wiki.test.raw", "\xEF\xBB\xBF = Title = \n text \xC0\xAF overlong\n");
  m = data_error_of([&] { read_wikitext_rows(wiki); });
  CHECK(m.find(wiki.string() + ":2: invalid UTF-8 at byte offset 6 of the line: overlong encoding") != std::string::npos);
}

TEST_CASE("JSONL: duplicate keys and non-finite scores are refused with file and line") {
  temp_dir d;
  const auto dup = d.write("dup.jsonl", "{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"a\", \"label\": \"x\", \"text\": \"b\"}\n");
  CHECK(data_error_of([&] { read_text_pairs_jsonl(dup); }).find(dup.string() + ":2: duplicate key \"text\"") != std::string::npos);

  text_pairs_options reg;
  reg.regression = true;
  const auto big = d.write("big.jsonl", "{\"text\": \"a\", \"label\": 0.5}\n{\"text\": \"b\", \"label\": 1e39}\n");
  CHECK(data_error_of([&] { read_text_pairs_jsonl(big, reg); }).find(big.string() + ":2: regression label 1e+39 is not a finite float") !=
        std::string::npos);
  const auto nan = d.write("nan.tsv", "a\t0.5\nb\tnan\n");
  CHECK(data_error_of([&] { read_text_pairs_tsv(nan, reg); }).find(nan.string() + ":2: bad regression label \"nan\"") != std::string::npos);

  // Large integer labels keep every digit (they were once read through a 64-bit signed cast).
  const auto wide = d.write("wide.jsonl", "{\"text\": \"a\", \"label\": 18446744073709551615}\n");
  CHECK(read_text_pairs_jsonl(wide).labels.names() == std::vector<std::string>{"18446744073709551615"});
}

TEST_CASE("a text that encodes to no tokens names its file and line") {
  temp_dir d;
  const auto tsv = d.write("texts.tsv", "a text\tpos\n\tneg\n");
  const auto data = read_text_pairs_tsv(tsv);
  REQUIRE(data.examples.size() == 2);
  CHECK(data.examples[1].origin == tsv.string() + ":2");
  // GPT-2 / LLaMA: no special tokens, so the empty text would be a sequence of length 0.
  try {
    encode_all(data.examples, make_encoder(bytes));
    FAIL("no throw");
  } catch (const vtrans::format_error& e) {
    CHECK(std::string(e.what()).find(tsv.string() + ":2: empty input: the text encodes to no tokens") != std::string::npos);
  }
  // BERT: [CLS] [SEP] around nothing is a valid input.
  encode_options bert;
  bert.cls_id = 101;
  bert.sep_id = 102;
  CHECK(encode_all(data.examples, make_encoder(bytes, bert))[1].ids == std::vector<std::int32_t>{101, 102});

  // An example built in code, without an origin, is named by its id.
  example e;
  e.id = "q7";
  try {
    encode_example(e, bytes);
    FAIL("no throw");
  } catch (const vtrans::format_error& err) {
    CHECK(std::string(err.what()).find("example q7: empty input") == 0);
  }
}

TEST_CASE("pairs: the second text's token type follows the model's segment types") {
  example e;
  e.text_a = "ab";
  e.text_b = "c";
  encode_options o;
  o.cls_id = 0;
  o.sep_id = 2;
  CHECK(encode_example(e, bytes, o).token_type_ids == std::vector<std::int32_t>{0, 0, 0, 0, 1, 1});  // BERT
  o.pair_type_id = 0;  // RoBERTa: type_vocab_size 1, its tokenizer gives 0 everywhere
  CHECK(encode_example(e, bytes, o).token_type_ids == std::vector<std::int32_t>{0, 0, 0, 0, 0, 0});
}
