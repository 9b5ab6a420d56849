// Fuzz harnesses of the data readers: labelled TSV (text pairs and GLUE layouts) and JSONL. The
// input's first byte picks the reader's options; the rest is the file. Examples read are then
// encoded with and without special tokens, as training would.
#include <string>
#include <vector>

#include "fuzz_harness.hpp"
#include "vtrans/data/encode.hpp"
#include "vtrans/data/glue.hpp"
#include "vtrans/data/text_pairs.hpp"

namespace {

using namespace vtrans;

unsigned char options_byte(std::string_view in) { return in.empty() ? 0 : static_cast<unsigned char>(in[0]); }
std::string_view body(std::string_view in) { return in.empty() ? in : in.substr(1); }

data::text_pairs_options pairs_options(unsigned char b) {
  data::text_pairs_options o;
  o.pair = b & 2;
  o.labelled = !(b & 4);
  o.has_header = b & 8;
  o.regression = b & 16;
  o.freeze_labels = b & 32;
  return o;
}

// Byte ids: a tokenizer without special tokens (GPT-2, LLaMA) and one with (BERT).
void encode(const std::vector<data::example>& examples) {
  const data::tokenize_fn bytes = [](const std::string& s) { return std::vector<std::int32_t>(s.begin(), s.end()); };
  data::encode_options bert;
  bert.cls_id = 1;
  bert.sep_id = 2;
  bert.max_length = 16;
  (void)data::encode_all(examples, data::make_encoder(bytes, bert));
  (void)data::encode_all(examples, data::make_encoder(bytes));
}

const std::vector<std::string> words{"\t", "\n", "\r\n", "\xEF\xBB\xBF", "\xC3", "\xFF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "0", "1",
                                     "-1", "nan", "inf", "1e39", "0.5", "entailment", "not_entailment", "contradiction",
                                     "neutral", "{", "}", "\"text\"", "\"text_pair\"", "\"label\"", "\"id\"", ":", ",", "\"",
                                     "null", "18446744073709551615", "1e999"};

// First byte: bit 0 selects GLUE (task = byte / 2 % 9, a test file when bit 7 is set) or text
// pairs (options from the other bits); the rest is the file.
VTRANS_FUZZ_HARNESS({"tsv", "a labelled TSV (text pairs or a GLUE task's layout)",
                     [](std::string_view in) { return vtrans_fuzz::files{{"data.tsv", std::string(body(in))}}; },
                     [](const std::filesystem::path& dir, std::string_view in) {
                       const unsigned char b = options_byte(in);
                       if (b & 1) {
                         const auto task = static_cast<data::glue_task>((b / 2) % data::glue_task_count);
                         encode(data::read_glue_tsv(task, dir / "data.tsv", b & 128).examples);
                       } else {
                         encode(data::read_text_pairs_tsv(dir / "data.tsv", pairs_options(b)).examples);
                       }
                     },
                     words});

// First byte: the options; the rest is the file.
VTRANS_FUZZ_HARNESS({"jsonl", "a JSONL file of {\"text\", \"text_pair\", \"label\", \"id\"} rows",
                     [](std::string_view in) { return vtrans_fuzz::files{{"data.jsonl", std::string(body(in))}}; },
                     [](const std::filesystem::path& dir, std::string_view in) {
                       encode(data::read_text_pairs_jsonl(dir / "data.jsonl", pairs_options(options_byte(in))).examples);
                     },
                     words});

}  // namespace
