#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "text_test_util.hpp"
#include "vtrans/text/tokenizer.hpp"

using namespace vtrans::text;
using text_test::data;
namespace fs = std::filesystem;

TEST_CASE("load_tokenizer picks by the files present") {
  const auto gpt2 = load_tokenizer(data("gpt2"));  // encoder.json + vocab.bpe
  CHECK(gpt2->kind() == "byte_bpe");
  CHECK(gpt2->encode("Hello world") == std::vector<token_id>{15496, 995});
  CHECK(gpt2->specials().eos == 50256);
  CHECK(gpt2->num_special_tokens(true) == 0);
  CHECK(gpt2->id_to_token(995) == "\xC4\xA0world");

  const auto dir = text_test::scratch("load_hf_names");  // vocab.json + merges.txt
  fs::copy_file(data("gpt2/encoder.json"), dir / "vocab.json");
  fs::copy_file(data("gpt2/vocab.bpe"), dir / "merges.txt");
  CHECK(load_tokenizer(dir)->encode("Hello world") == std::vector<token_id>{15496, 995});

  const auto wp = load_tokenizer(data("wordpiece"));
  CHECK(wp->kind() == "wordpiece");
  CHECK(wp->specials().cls == 2);
  CHECK(wp->specials().sep == 3);
  CHECK(wp->num_special_tokens(false) == 2);
  CHECK(wp->num_special_tokens(true) == 3);
  const auto ids = wp->encode("The jury said.");
  CHECK(ids.front() == 2);
  CHECK(wp->decode(ids) == "the jury said .");
  const auto pair = wp->encode_pair("a", "b");
  CHECK(pair.type_ids.back() == 1);

  const auto sp = load_tokenizer(data("sentencepiece"));
  CHECK(sp->kind() == "sentencepiece");
  CHECK(sp->specials().bos == 1);
  CHECK(sp->decode(sp->encode("The jury said.")) == "The jury said.");
}

TEST_CASE("load_tokenizer: cased vocab.txt via tokenizer_config.json, WordPiece tokenizer.json") {
  const auto dir = text_test::scratch("load_cased");
  text_test::write(dir / "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nHi\nhi\n");
  text_test::write(dir / "tokenizer_config.json", R"({"do_lower_case": false})");
  CHECK(load_tokenizer(dir)->encode("Hi hi", false) == std::vector<token_id>{4, 5});

  const auto jdir = text_test::scratch("load_wordpiece_json");
  text_test::write(jdir / "tokenizer.json", R"({"version": "1.0", "added_tokens": [],
    "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                   "strip_accents": null, "lowercase": true},
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "post_processor": {"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
      "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
               {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
               {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
      "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                         "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
              "max_input_chars_per_word": 100,
              "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "un": 4, "##aff": 5, "##able": 6}}})");
  const auto tok = load_tokenizer(jdir);
  CHECK(tok->kind() == "wordpiece");
  CHECK(tok->encode("UNAFFABLE x") == std::vector<token_id>{2, 4, 5, 6, 1, 3});
  const auto pair = tok->encode_pair("un", "un");
  CHECK(pair.ids == std::vector<token_id>{2, 4, 3, 4, 3});
  CHECK(pair.type_ids == std::vector<token_id>{0, 0, 0, 1, 1});
}

TEST_CASE("load_tokenizer errors") {
  auto msg = text_test::error_of([] { load_tokenizer("/nonexistent/dir"); });
  CHECK(msg == "/nonexistent/dir: not a directory");
  const auto empty = text_test::scratch("load_empty");
  msg = text_test::error_of([&] { load_tokenizer(empty); });
  CHECK(msg.find("no tokenizer files") != std::string::npos);

  const auto bad = text_test::scratch("load_bad_json");
  text_test::write(bad / "tokenizer.json", "{\"model\": ");
  msg = text_test::error_of([&] { load_tokenizer(bad); });
  CHECK(msg.find("tokenizer.json: not valid JSON") != std::string::npos);

  text_test::write(bad / "tokenizer.json", R"({"model": {"type": "Unigram", "vocab": []}})");
  msg = text_test::error_of([&] { load_tokenizer(bad); });
  CHECK(msg.find("unsupported model.type \"Unigram\"") != std::string::npos);

  // A SentencePiece-style BPE tokenizer.json falls back to tokenizer.model when present.
  fs::copy_file(data("sentencepiece/tokenizer.model"), bad / "tokenizer.model");
  text_test::write(bad / "tokenizer.json", R"({"model": {"type": "BPE", "vocab": {}, "merges": [], "byte_fallback": true},
    "pre_tokenizer": {"type": "Metaspace"}, "decoder": {"type": "Sequence", "decoders": [{"type": "ByteFallback"}]}})");
  CHECK(load_tokenizer(bad)->kind() == "sentencepiece");
}
