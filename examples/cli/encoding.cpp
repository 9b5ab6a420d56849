// Tokenizing a task's split for a model (encoding.hpp).
#include "encoding.hpp"

#include <stdexcept>
#include <string>

#include "vtrans/data/lm_text.hpp"

namespace vtrans::cli {

encoding_setup make_encoding_setup(io::family f, const text::tokenizer& tok, index max_length) {
  encoding_setup e;
  e.encoder = !f->causal;
  e.max_length = max_length;
  e.pair_type = f->config.fresh_type_vocab_size > 1 ? 1 : 0;
  const auto s = tok.specials();
  if (e.encoder) {
    e.cls = s.cls >= 0 ? s.cls : s.bos;
    e.sep = s.sep >= 0 ? s.sep : s.eos;
  }
  return e;
}

std::vector<data::sequence> encode_split(const task_spec& spec, split_items items, const text::tokenizer& tok, const encoding_setup& e) {
  const data::tokenize_fn tokenize = [&tok](const std::string& s) {
    auto ids = tok.encode(s, false);
    return std::vector<std::int32_t>(ids.begin(), ids.end());
  };
  data::encode_options o;
  if (e.cls >= 0) o.cls_id = e.cls;
  if (e.sep >= 0) o.sep_id = e.sep;
  o.max_length = e.max_length;
  o.pair_type_id = e.pair_type;
  o.space_prefix_words = tok.kind() == "byte_bpe";
  std::vector<data::sequence> out;
  switch (spec.source) {
    case source_kind::brown_pos:
      for (const auto& t : items.tagged) {
        auto s = data::encode_tagged_words(t.words, t.tags, tokenize, o);
        s.id = t.id;
        out.push_back(std::move(s));
      }
      return out;
    case source_kind::brown_lm:
    case source_kind::brown_mlm: {
      // The split's text tokenized once, cut into non-overlapping windows (the tail is dropped);
      // masked-LM windows get [CLS] / [SEP] around max_length - 2 tokens.
      const index specials = (e.cls >= 0 ? 1 : 0) + (e.sep >= 0 ? 1 : 0);
      const auto windows = data::eval_windows(tokenize(items.text), e.max_length - (e.encoder ? specials : 0));
      for (std::size_t i = 0; i < windows.size(); ++i) {
        data::sequence s;
        if (e.encoder && e.cls >= 0) s.ids.push_back(e.cls);
        const auto w = windows.window(i);
        s.ids.insert(s.ids.end(), w.begin(), w.end());
        if (e.encoder && e.sep >= 0) s.ids.push_back(e.sep);
        s.id = std::to_string(i);
        out.push_back(std::move(s));
      }
      return out;
    }
    default:
      for (const auto& ex : items.examples) out.push_back(data::encode_example(ex, tokenize, o));
      for (const auto& s : out)
        if (!s.label && !s.score) throw vtrans::usage_error("example " + s.id + " has no label");
      return out;
  }
}

}  // namespace vtrans::cli
