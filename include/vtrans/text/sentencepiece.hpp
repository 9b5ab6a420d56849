#pragma once
// LLaMA-1/2 tokenizer.model: a thin wrapper over libsentencepiece (the reference implementation),
// adding BOS like HF LlamaTokenizer and errors that name the file.
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <sentencepiece_processor.h>

#include "vtrans/error.hpp"
#include "vtrans/io/errors.hpp"
#include "vtrans/text/encoding.hpp"
#include "vtrans/text/read_file.hpp"
#include "vtrans/text/special_template.hpp"
#include "vtrans/text/unicode.hpp"

namespace vtrans::text {

class sentencepiece_tokenizer {
 public:
  explicit sentencepiece_tokenizer(const std::filesystem::path& model_file)
      : source_(model_file.string()), sp_(std::make_shared<::sentencepiece::SentencePieceProcessor>()) {
    // Read ourselves so a missing file says so instead of the library's generic message.
    const std::string bytes = read_file(model_file);
    const auto status = sp_->LoadFromSerializedProto(bytes);
    if (!status.ok())
      throw format_error(source_ + ": not a SentencePiece model: " + io::detail::quote(status.ToString()));
    template_ = bos_id() >= 0 ? special_template::bos_prefix(bos_id()) : special_template::none();
  }

  // Text must be valid UTF-8, as for the other tokenizers (the library would accept it silently).
  std::vector<token_id> encode_plain(std::string_view text) const {
    utf8_validate(text);
    std::vector<int> ids;
    const auto status = sp_->Encode(text, &ids);
    if (!status.ok()) throw format_error(source_ + ": encode failed: " + io::detail::quote(status.ToString()));
    return std::vector<token_id>(ids.begin(), ids.end());
  }

  std::vector<std::string> encode_pieces(std::string_view text) const {
    utf8_validate(text);
    std::vector<std::string> pieces;
    const auto status = sp_->Encode(text, &pieces);
    if (!status.ok()) throw format_error(source_ + ": encode failed: " + io::detail::quote(status.ToString()));
    return pieces;
  }

  // <s> text (LLaMA adds BOS, no EOS).
  std::vector<token_id> encode(std::string_view text, bool add_special = true) const {
    auto ids = encode_plain(text);
    return add_special ? template_.apply(ids).ids : ids;
  }

  // <s> a <s> b with token types 0 / 1 (HF LlamaTokenizer).
  encoding encode_pair(std::string_view a, std::string_view b, bool add_special = true) const {
    return (add_special ? template_ : special_template::none()).apply(encode_plain(a), encode_plain(b));
  }

  // Control tokens (<s>, </s>) are dropped, or written as their piece when skip_special is false.
  std::string decode(const std::vector<token_id>& ids, bool skip_special = true) const {
    std::string out;
    std::vector<int> run;
    const auto flush = [&] {
      if (run.empty()) return;
      std::string text;
      const auto status = sp_->Decode(run, &text);
      if (!status.ok()) throw format_error(source_ + ": decode failed: " + io::detail::quote(status.ToString()));
      out += text;
      run.clear();
    };
    for (token_id id : ids) {
      if (id < 0 || id >= sp_->GetPieceSize())
        throw usage_error(source_ + ": token id " + std::to_string(id) + " outside [0, " +
                                std::to_string(sp_->GetPieceSize()) + ")");
      if (sp_->IsControl(id)) {
        if (!skip_special) {
          flush();
          out += sp_->IdToPiece(id);
        }
        continue;
      }
      run.push_back(id);
    }
    flush();
    return out;
  }

  token_id token_to_id(std::string_view piece) const {
    const int id = sp_->PieceToId(piece);
    return id == sp_->unk_id() && sp_->IdToPiece(id) != piece ? -1 : id;
  }
  const std::string& id_to_token(token_id id) const {
    if (id < 0 || id >= sp_->GetPieceSize())
      throw usage_error(source_ + ": token id " + std::to_string(id) + " outside the vocabulary");
    return sp_->IdToPiece(id);
  }
  std::size_t vocab_size() const { return static_cast<std::size_t>(sp_->GetPieceSize()); }
  token_id bos_id() const { return sp_->bos_id(); }  // -1 when the model has none
  token_id eos_id() const { return sp_->eos_id(); }
  token_id unk_id() const { return sp_->unk_id(); }
  token_id pad_id() const { return sp_->pad_id(); }
  bool is_special(token_id id) const { return id >= 0 && id < sp_->GetPieceSize() && sp_->IsControl(id); }
  const special_template& post_template() const { return template_; }
  void set_post_template(special_template t) { template_ = std::move(t); }

 private:
  std::string source_;
  std::shared_ptr<::sentencepiece::SentencePieceProcessor> sp_;  // shared: the processor is not copyable
  special_template template_;
};

}  // namespace vtrans::text
