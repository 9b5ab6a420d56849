#pragma once
// Where special tokens go around one or two encoded sequences (HF "post_processor"):
// BERT  [CLS] A [SEP] B [SEP] (types 0.. 1..), RoBERTa <s> A </s></s> B </s>, LLaMA <s> A <s> B, GPT-2 A B.
#include <cstddef>
#include <vector>

#include "vtrans/text/encoding.hpp"

namespace vtrans::text {

struct template_piece {
  enum kind_t { special, sequence_a, sequence_b } kind;
  token_id id;       // for special pieces
  token_id type_id;  // segment id given to the piece (every token of a sequence)
};

struct special_template {
  std::vector<template_piece> single;  // must not contain sequence_b
  std::vector<template_piece> pair;

  static special_template none() {
    return {{{template_piece::sequence_a, -1, 0}},
            {{template_piece::sequence_a, -1, 0}, {template_piece::sequence_b, -1, 0}}};
  }
  static special_template bert(token_id cls, token_id sep) {
    return {{{template_piece::special, cls, 0}, {template_piece::sequence_a, -1, 0}, {template_piece::special, sep, 0}},
            {{template_piece::special, cls, 0},
             {template_piece::sequence_a, -1, 0},
             {template_piece::special, sep, 0},
             {template_piece::sequence_b, -1, 1},
             {template_piece::special, sep, 1}}};
  }
  static special_template roberta(token_id bos, token_id eos) {
    return {{{template_piece::special, bos, 0}, {template_piece::sequence_a, -1, 0}, {template_piece::special, eos, 0}},
            {{template_piece::special, bos, 0},
             {template_piece::sequence_a, -1, 0},
             {template_piece::special, eos, 0},
             {template_piece::special, eos, 0},
             {template_piece::sequence_b, -1, 0},
             {template_piece::special, eos, 0}}};
  }
  // LLaMA (HF LlamaTokenizer with add_bos_token): <s> A, pair <s> A <s> B.
  static special_template bos_prefix(token_id bos) {
    return {{{template_piece::special, bos, 0}, {template_piece::sequence_a, -1, 0}},
            {{template_piece::special, bos, 0},
             {template_piece::sequence_a, -1, 0},
             {template_piece::special, bos, 1},
             {template_piece::sequence_b, -1, 1}}};
  }

  encoding apply(const std::vector<token_id>& a) const { return fill(single, a, {}); }
  encoding apply(const std::vector<token_id>& a, const std::vector<token_id>& b) const { return fill(pair, a, b); }

  // How many special tokens the template adds (for truncation budgets).
  std::size_t added(bool is_pair) const {
    std::size_t n = 0;
    for (const auto& p : is_pair ? pair : single) n += p.kind == template_piece::special;
    return n;
  }

 private:
  static encoding fill(const std::vector<template_piece>& pieces, const std::vector<token_id>& a,
                       const std::vector<token_id>& b) {
    encoding out;
    out.ids.reserve(a.size() + b.size() + pieces.size());
    for (const auto& p : pieces) {
      if (p.kind == template_piece::special) {
        out.ids.push_back(p.id);
        out.type_ids.push_back(p.type_id);
      } else {
        const auto& seq = p.kind == template_piece::sequence_a ? a : b;
        out.ids.insert(out.ids.end(), seq.begin(), seq.end());
        out.type_ids.insert(out.type_ids.end(), seq.size(), p.type_id);
      }
    }
    return out;
  }
};

}  // namespace vtrans::text
