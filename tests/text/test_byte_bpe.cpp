#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <vector>

#include "text_test_util.hpp"
#include "vtrans/text/byte_bpe.hpp"
#include "vtrans/text/tokenizer.hpp"

using namespace vtrans::text;
using text_test::data;

namespace {
const byte_bpe& gpt2() {
  static const byte_bpe bpe = byte_bpe::from_files(data("gpt2/encoder.json"), data("gpt2/vocab.bpe"));
  return bpe;
}

std::vector<std::string> split(std::string_view text) {
  std::vector<std::string> out;
  for (auto v : gpt2_pre_tokenize(text)) out.emplace_back(v);
  return out;
}

// An HF tokenizer.json made from GPT-2's files (what tests/text/make_tokenizer_json.py writes),
// with merges as "a b" strings or as ["a", "b"] pairs.
nlohmann::json gpt2_tokenizer_json(bool pair_merges) {
  nlohmann::json vocab = nlohmann::json::parse(vtrans::text::read_file(data("gpt2/encoder.json")));
  nlohmann::json merges = nlohmann::json::array();
  std::ifstream in(data("gpt2/vocab.bpe"));
  std::string line;
  std::getline(in, line);  // #version
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto sp = line.find(' ');
    if (pair_merges) merges.push_back({line.substr(0, sp), line.substr(sp + 1)});
    else merges.push_back(line);
  }
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", {{{"id", 50256}, {"content", "<|endoftext|>"}, {"single_word", false}, {"lstrip", false},
                             {"rstrip", false}, {"normalized", true}, {"special", true}}}},
          {"normalizer", nullptr},
          {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
          {"post_processor", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}}},
          {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
          {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", ""},
                     {"end_of_word_suffix", ""}, {"fuse_unk", false}, {"byte_fallback", false}, {"vocab", vocab},
                     {"merges", merges}}}};
}
}  // namespace

TEST_CASE("GPT-2 pre-split pattern") {
  CHECK(split("Hello world") == std::vector<std::string>{"Hello", " world"});
  CHECK(split("I'm don't they're") == std::vector<std::string>{"I", "'m", " don", "'t", " they", "'re"});
  CHECK(split("a  b") == std::vector<std::string>{"a", " ", " b"});
  CHECK(split("a   ") == std::vector<std::string>{"a", "   "});
  CHECK(split("x\n\ny") == std::vector<std::string>{"x", "\n", "\n", "y"});
  CHECK(split("x \n y") == std::vector<std::string>{"x", " \n", " y"});
  CHECK(split("abc123 45!?' 's") == std::vector<std::string>{"abc", "123", " 45", "!?'", " '", "s"});
  CHECK(split("caf\xC3\xA9 \xE2\x80\x94") == std::vector<std::string>{"caf\xC3\xA9", " \xE2\x80\x94"});
  CHECK(split("").empty());
  CHECK_THROWS_AS(split("ab\xC3"), utf8_error);
}

TEST_CASE("bytes_to_unicode is GPT-2's table") {
  const auto& t = bytes_to_unicode();
  CHECK(t['!'] == U'!');
  CHECK(t[' '] == 0x120);  // Ġ
  CHECK(t['\n'] == 0x10A);  // Ċ
  CHECK(t[0] == 0x100);
  CHECK(t[0xAD] == 0x143);
  CHECK(t[0xFF] == 0xFF);
}

TEST_CASE("GPT-2 BPE reproduces gpt-3-encoder's ids and round-trips") {
  const auto& bpe = gpt2();
  CHECK(bpe.vocab_size() == 50257);
  CHECK(bpe.merge_count() == 50000);
  CHECK(bpe.eos_id() == 50256);
  std::size_t n = 0;
  for (const auto& g : text_test::read_jsonl(data("gpt2_golden.jsonl"))) {
    const std::string text = g["text"];
    INFO("text: " << g["text"]);
    const auto ids = bpe.encode(text);
    CHECK(ids == g["ids"].get<std::vector<token_id>>());
    CHECK(bpe.decode(ids) == text);
    ++n;
  }
  CHECK(n == 225);
  // A second pass is served from the cache and must agree.
  CHECK(bpe.encode("Hello world") == std::vector<token_id>{15496, 995});
  CHECK(bpe.encode("Hello world") == std::vector<token_id>{15496, 995});
}

TEST_CASE("GPT-2 specials and decoding") {
  const auto& bpe = gpt2();
  CHECK(bpe.encode("a<|endoftext|>b") == std::vector<token_id>{64, 50256, 65});
  CHECK(bpe.encode_ordinary("<|endoftext|>").size() > 1);  // the plain-text path ignores added tokens
  CHECK(bpe.decode({64, 50256, 65}) == "ab");
  CHECK(bpe.decode({64, 50256, 65}, false) == "a<|endoftext|>b");
  const auto pair = bpe.encode_pair("Hello", " world");
  CHECK(pair.ids == std::vector<token_id>{15496, 995});
  // A partial UTF-8 character decodes to U+FFFD instead of throwing.
  const auto euro = bpe.encode("\xF0\x9F\x98\x80");  // 😀 is several byte tokens
  REQUIRE(euro.size() >= 2);
  CHECK(bpe.decode({euro[0]}) == "\xEF\xBF\xBD");
  CHECK_THROWS_AS(bpe.decode({50257}), vtrans::usage_error);
  CHECK_THROWS_AS(bpe.decode({-1}), vtrans::usage_error);
}

TEST_CASE("tokenizer.json merges in both spellings give identical ids") {
  const auto legacy = byte_bpe::from_tokenizer_json(gpt2_tokenizer_json(false), "legacy/tokenizer.json");
  const auto pairs = byte_bpe::from_tokenizer_json(gpt2_tokenizer_json(true), "pairs/tokenizer.json");
  CHECK(legacy.merge_count() == 50000);
  CHECK(pairs.merge_count() == 50000);
  const auto goldens = text_test::read_jsonl(data("gpt2_golden.jsonl"));
  for (const auto& g : goldens) {
    const std::string text = g["text"];
    INFO("text: " << g["text"]);
    const auto want = g["ids"].get<std::vector<token_id>>();
    CHECK(legacy.encode(text) == want);
    CHECK(pairs.encode(text) == want);
  }
  CHECK(pairs.encode("x<|endoftext|>") == std::vector<token_id>{87, 50256});

  // The same documents through load_tokenizer from a folder.
  for (bool p : {false, true}) {
    const auto dir = text_test::scratch(p ? "tokenizer_json_pairs" : "tokenizer_json_strings");
    text_test::write(dir / "tokenizer.json", gpt2_tokenizer_json(p).dump());
    const auto tok = load_tokenizer(dir);
    CHECK(tok->kind() == "byte_bpe");
    CHECK(tok->encode(goldens[0]["text"].get<std::string>()) == goldens[0]["ids"].get<std::vector<token_id>>());
  }
}

TEST_CASE("RoBERTa template and tokenizer.json post-processors") {
  // RoBERTa vocab.json: GPT-2's vocabulary shifted with <s> <pad> </s> <unk> first.
  auto j = gpt2_tokenizer_json(true);
  nlohmann::json vocab = {{"<s>", 0}, {"<pad>", 1}, {"</s>", 2}, {"<unk>", 3}};
  for (auto it = j["model"]["vocab"].begin(); it != j["model"]["vocab"].end(); ++it)
    if (it.key() != "<|endoftext|>") vocab[it.key()] = it.value().get<int>() + 4;
  vocab["<mask>"] = 50260;
  j["model"]["vocab"] = vocab;
  j["added_tokens"] = {{{"id", 0}, {"content", "<s>"}, {"special", true}},
                       {{"id", 2}, {"content", "</s>"}, {"special", true}},
                       {{"id", 50260}, {"content", "<mask>"}, {"special", true}}};
  j["post_processor"] = {{"type", "RobertaProcessing"}, {"sep", {"</s>", 2}}, {"cls", {"<s>", 0}},
                         {"trim_offsets", true}, {"add_prefix_space", false}};
  const auto rob = byte_bpe::from_tokenizer_json(j, "roberta/tokenizer.json");
  CHECK(rob.encode("Hello world") == std::vector<token_id>{0, 15496 + 4, 995 + 4, 2});
  const auto pair = rob.encode_pair("Hello", "world");
  CHECK(pair.ids == std::vector<token_id>{0, 15496 + 4, 2, 2, 6894 + 4, 2});
  CHECK(pair.type_ids == std::vector<token_id>(6, 0));
  CHECK(rob.decode(pair.ids) == "Helloworld");
  CHECK(rob.decode({0, 15496 + 4, 50260, 2}, false) == "<s>Hello<mask></s>");
  CHECK(rob.mask_id() == 50260);
  CHECK(rob.pad_id() == 1);

  // The same as a TemplateProcessing (how newer exports spell it).
  j["post_processor"] = nlohmann::json::parse(R"({"type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
               {"SpecialToken": {"id": "</s>", "type_id": 0}}],
    "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
             {"SpecialToken": {"id": "</s>", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
             {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "</s>", "type_id": 1}}],
    "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]},
                       "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}}})");
  const auto tmpl = byte_bpe::from_tokenizer_json(j, "template/tokenizer.json");
  const auto tp = tmpl.encode_pair("Hello", "world");
  CHECK(tp.ids == pair.ids);
  CHECK(tp.type_ids == std::vector<token_id>{0, 0, 0, 0, 1, 1});
}

TEST_CASE("byte BPE rejects bad files with file and line or field") {
  const auto dir = text_test::scratch("byte_bpe_bad");
  text_test::write(dir / "vocab.json", R"({"a": 0, "b": 1, "ab": 2})");
  text_test::write(dir / "merges.txt", "#version: 0.2\na b\n");
  CHECK(byte_bpe::from_files(dir / "vocab.json", dir / "merges.txt").encode("ab") == std::vector<token_id>{2});
  text_test::write(dir / "nohdr.txt", "a b\n");  // "#version" line is optional
  CHECK(byte_bpe::from_files(dir / "vocab.json", dir / "nohdr.txt").encode("ab") == std::vector<token_id>{2});

  text_test::write(dir / "bad_merges.txt", "#version: 0.2\na b\nabc\n");
  auto msg = text_test::error_of([&] { byte_bpe::from_files(dir / "vocab.json", dir / "bad_merges.txt"); });
  CHECK(msg.find("bad_merges.txt:3: malformed merge \"abc\"") != std::string::npos);
  text_test::write(dir / "three.txt", "a b c\n");
  msg = text_test::error_of([&] { byte_bpe::from_files(dir / "vocab.json", dir / "three.txt"); });
  CHECK(msg.find("three.txt:1") != std::string::npos);

  text_test::write(dir / "array.json", "[1, 2]");
  msg = text_test::error_of([&] { byte_bpe::from_files(dir / "array.json", dir / "merges.txt"); });
  CHECK(msg.find("array.json") != std::string::npos);
  CHECK(msg.find("must be a JSON object") != std::string::npos);
  text_test::write(dir / "strid.json", R"({"a": "0"})");
  msg = text_test::error_of([&] { byte_bpe::from_files(dir / "strid.json", dir / "merges.txt"); });
  CHECK(msg.find("strid.json: id of token \"a\" is not an integer") != std::string::npos);
  text_test::write(dir / "broken.json", R"({"a": 0,)");
  msg = text_test::error_of([&] { byte_bpe::from_files(dir / "broken.json", dir / "merges.txt"); });
  CHECK(msg.find("broken.json: not valid JSON") != std::string::npos);
  text_test::write(dir / "sparse.json", R"({"a": 0, "b": 2000000000})");
  msg = text_test::error_of([&] { byte_bpe::from_files(dir / "sparse.json", dir / "merges.txt"); });
  CHECK(msg.find("sparse.json: ids of the vocabulary are not dense") != std::string::npos);
  text_test::write(dir / "dupid.json", R"({"a": 0, "b": 0})");
  msg = text_test::error_of([&] { byte_bpe::from_files(dir / "dupid.json", dir / "merges.txt"); });
  CHECK(msg.find("dupid.json: id 0 used by") != std::string::npos);

  // A symbol BPE cannot map and no unk token: an error naming the file, not a crash.
  msg = text_test::error_of([&] { byte_bpe::from_files(dir / "vocab.json", dir / "merges.txt").encode("c"); });
  CHECK(msg.find("vocab.json: symbol \"c\"") != std::string::npos);

  auto j = gpt2_tokenizer_json(true);
  j["model"]["merges"][7] = nlohmann::json::array({"only-one"});
  msg = text_test::error_of([&] { byte_bpe::from_tokenizer_json(j, "x/tokenizer.json"); });
  CHECK(msg.find("x/tokenizer.json: model.merges[7]") != std::string::npos);
  j["model"]["merges"][7] = "nospace";
  msg = text_test::error_of([&] { byte_bpe::from_tokenizer_json(j, "x/tokenizer.json"); });
  CHECK(msg.find("model.merges[7]: expected \"a b\"") != std::string::npos);
  j["model"]["merges"] = "Ġ t";
  msg = text_test::error_of([&] { byte_bpe::from_tokenizer_json(j, "x/tokenizer.json"); });
  CHECK(msg.find("model.merges is not an array") != std::string::npos);
  j["model"]["merges"] = nlohmann::json::array();
  j["model"]["vocab"] = nlohmann::json::array();
  msg = text_test::error_of([&] { byte_bpe::from_tokenizer_json(j, "x/tokenizer.json"); });
  CHECK(msg.find("x/tokenizer.json: model.vocab") != std::string::npos);
}
