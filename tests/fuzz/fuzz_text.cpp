// Fuzz harnesses of the tokenizer files (vocab.txt, vocab.json + merges.txt, tokenizer.json,
// tokenizer.model), each loaded by load_tokenizer and then used; and of text encoded by the
// repository's three test tokenizers.
#include <memory>
#include <string>
#include <vector>

#include "fuzz_harness.hpp"
#include "vtrans/data/text_file.hpp"
#include "vtrans/text/tokenizer.hpp"

namespace {

using namespace vtrans;

// Encodes and decodes a few texts (specials, CJK, accents, empty) as a training run would.
void use(const text::tokenizer& tok) {
  for (const char* s : {"Hello world, it's a test.", "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC  x", "[CLS] <s> <|endoftext|> [MASK]", "", " a  b "}) {
    const auto ids = tok.encode(s);
    (void)tok.decode(ids);
    (void)tok.decode(ids, false);
  }
  const auto pair = tok.encode_pair("first text", "second");
  (void)tok.decode(pair.ids);
  (void)tok.num_special_tokens(true);
  for (std::size_t id = 0; id < std::min<std::size_t>(tok.vocab_size(), 8); ++id) (void)tok.token_to_id(tok.id_to_token(static_cast<text::token_id>(id)));
}

void load_and_use(const std::filesystem::path& dir, std::string_view) { use(*text::load_tokenizer(dir)); }

const std::vector<std::string> words{
    "{", "}", "[", "]", ",", ":", "\"", "\\u0000", "null", "true", "-1", "0", "1e999", "4294967301", "2147483647",
    "18446744073709551615", "\n", "\r\n", " ", "#version: 0.2", "##", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "<s>", "</s>",
    "<unk>", "<|endoftext|>", "\xC4\xA0", "\xC3", "\xFF", "\xED\xA0\x80", "\"model\"", "\"type\"", "\"BPE\"", "\"WordPiece\"",
    "\"vocab\"", "\"merges\"", "\"added_tokens\"", "\"id\"", "\"content\"", "\"special\"", "\"post_processor\"",
    "\"TemplateProcessing\"", "\"RobertaProcessing\"", "\"BertProcessing\"", "\"Sequence\"", "\"SpecialToken\"", "\"type_id\"",
    "\"special_tokens\"", "\"ids\"", "\"pre_tokenizer\"", "\"ByteLevel\"", "\"add_prefix_space\"", "\"normalizer\"",
    "\"BertNormalizer\"", "\"lowercase\"", "\"unk_token\"", "\"continuing_subword_prefix\"", "\"max_input_chars_per_word\"",
    "\"ignore_merges\"", "\"processors\"", "\"pretokenizers\"", "\"normalizers\""};

VTRANS_FUZZ_HARNESS({"vocab_txt", "a WordPiece vocab.txt", [](std::string_view in) { return vtrans_fuzz::files{{"vocab.txt", std::string(in)}}; },
                     load_and_use, words});

// Input: vocab.json, the line "#merges.txt", merges.txt.
VTRANS_FUZZ_HARNESS({"bpe_files", "byte-level BPE vocab.json + merges.txt (split at a \"#merges.txt\" line)",
                     [](std::string_view in) {
                       const auto parts = vtrans_fuzz::split_parts(in, "\n#merges.txt\n", 2);
                       return vtrans_fuzz::files{{"vocab.json", parts[0]}, {"merges.txt", parts[1]}};
                     },
                     load_and_use, words});

VTRANS_FUZZ_HARNESS({"tokenizer_json", "an HF tokenizer.json (byte-level BPE or WordPiece)",
                     [](std::string_view in) { return vtrans_fuzz::files{{"tokenizer.json", std::string(in)}}; }, load_and_use, words});

VTRANS_FUZZ_HARNESS({"sentencepiece", "a SentencePiece tokenizer.model",
                     [](std::string_view in) { return vtrans_fuzz::files{{"tokenizer.model", std::string(in)}}; }, load_and_use,
                     {std::string("\x0a", 1), std::string("\x12", 1), std::string("\x1a", 1), std::string("\x22", 1),
                      std::string("\x08\x00", 2), std::string("\x15\x00\x00\x80\xbf", 5), "\xff\xff\xff\xff\x0f", "\xe2\x96\x81",
                      "<unk>", "<s>", "</s>", "<0x41>"}});

// The repository's test tokenizers: GPT-2's byte-level BPE, a WordPiece and a SentencePiece.
const std::vector<std::unique_ptr<text::tokenizer>>& test_tokenizers() {
  static const auto all = [] {
    std::vector<std::unique_ptr<text::tokenizer>> v;
    for (const char* dir : {"gpt2", "wordpiece", "sentencepiece"}) v.push_back(text::load_tokenizer(std::string(VTRANS_TEST_DATA_DIR "/text/") + dir));
    return v;
  }();
  return all;
}

// Text read as a data file (invalid UTF-8 is the reader's error, naming the file) and then
// encoded by the test tokenizers: valid text must always encode.
VTRANS_FUZZ_HARNESS({"text_encode", "UTF-8 text encoded by the test tokenizers (tests/data/text)",
                     [](std::string_view in) { return vtrans_fuzz::files{{"text.txt", std::string(in)}}; },
                     [](const std::filesystem::path& dir, std::string_view) {
                       const std::string text = data::read_file_text(dir / "text.txt");
                       for (const auto& tok : test_tokenizers()) {
                         const auto ids = tok->encode(text);
                         (void)tok->decode(ids);
                         (void)tok->encode_pair(text, text);
                       }
                     },
                     {" ", "  ", "\t", "\n", "'s", "'ll", "\xC2\xA0", "\xE3\x80\x80", "\xCE\xA3", "\xC4\xB0", "\xCC\x81", "\xF0\x9F\x98\x80",
                      "\xE6\x97\xA5", "<|endoftext|>", "[MASK]", "<s>", "\xEF\xBB\xBF", "\xED\xA0\x80", "\xC3", "\xFF", "0123456789"},
                     [] { (void)test_tokenizers(); }});

}  // namespace
