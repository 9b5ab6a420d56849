// ONNX files run in ONNX Runtime (onnxruntime-node, CPU) give vtrans's outputs within 1e-4 in
// float32, for two batch/sequence shapes (the axes are dynamic): a pruned heterogeneous BERT
// sequence classifier, a pruned RoBERTa token classifier and a pruned GPT-2 LM.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include <nlohmann/json.hpp>

#include "export/pruning.hpp"
#include "export/runtimes.hpp"
#include "vtrans/export/to_onnx.hpp"
#include "vtrans/tensor/cpu.hpp"

using namespace vtrans;
namespace fs = std::filesystem;

namespace {

nlohmann::json encoder_config(const char* type, const char* architecture) {
  return {{"model_type", type},
          {"architectures", {architecture}},
          {"vocab_size", 200},
          {"hidden_size", 32},
          {"num_hidden_layers", 3},
          {"num_attention_heads", 4},
          {"intermediate_size", 64},
          {"max_position_embeddings", 40},
          {"type_vocab_size", std::string(type) == "bert" ? 2 : 1},
          {"pad_token_id", 1},
          {"initializer_range", 0.2},
          {"id2label", {{"0", "A"}, {"1", "B"}, {"2", "C"}}}};
}

// Random ids in [3, vocab), the last `pad` tokens of every other row padded.
nn::batch_input sample(vtrans::index batch, vtrans::index seq, vtrans::index vocab, std::int32_t pad_id, bool segments, std::uint64_t seed) {
  nn::batch_input in;
  in.batch = batch, in.seq = seq;
  for (vtrans::index b = 0; b < batch; ++b)
    for (vtrans::index s = 0; s < seq; ++s) {
      const bool padded = b % 2 == 1 && s >= seq - 1 - b / 2;
      const auto id = std::int32_t(3 + math::uniform(seed, std::uint64_t(b * seq + s)) * double(vocab - 3));
      in.ids.push_back(padded ? pad_id : id);
      in.attention_mask.push_back(padded ? 0 : 1);
      if (segments) in.token_type_ids.push_back(s >= seq / 2 ? 1 : 0);
    }
  return in;
}

nlohmann::json ids_json(const std::vector<std::int32_t>& v, const nn::batch_input& in) {
  return {{"dims", {in.batch, in.seq}}, {"data", v}};
}

// Models exported for ONNX Runtime (onnx_run.mjs), checked once it has run them all.
class onnx_session {
 public:
  // Exports `model` (which must outlive run()); after run(), compares its outputs on each batch
  // with vtrans's.
  template <class Model>
  void add(const Model& model, const std::vector<nn::batch_input>& batches, io::onnx::element matrices, double tolerance,
           const std::string& output = "logits") {
    const fs::path prefix = node_.dir() / ("model" + std::to_string(models_++));
    exports::write_onnx(model, {matrices}, prefix.string() + ".onnx");
    nlohmann::json runs = nlohmann::json::array();
    for (std::size_t i = 0; i < batches.size(); ++i) {
      const auto& in = batches[i];
      nlohmann::json inputs{{"input_ids", ids_json(in.ids, in)}, {"attention_mask", ids_json(in.attention_mask, in)}};
      if (!in.token_type_ids.empty()) inputs["token_type_ids"] = ids_json(in.token_type_ids, in);
      runs.push_back({{"inputs", inputs}, {"out", prefix.string() + "-" + std::to_string(i)}});
    }
    node_.add_job({{"model", prefix.string() + ".onnx"}, {"output", output}, {"runs", runs}});
    node_.add_check([prefix, &model, batches, tolerance] {
      autodiff::no_record guard;
      for (std::size_t i = 0; i < batches.size(); ++i) {
        const auto out = model.forward(batches[i]).logits;
        const auto want = out.value().to_host();
        const std::string run = prefix.string() + "-" + std::to_string(i);
        const auto got = vtrans_test::read_f32_file(run + ".f32");
        const auto dims = nlohmann::json::parse(vtrans_test::read_text_file(run + ".json")).at("dims");
        std::vector<std::int64_t> want_dims;
        for (int d = 0; d < out.shape().rank(); ++d) want_dims.push_back(out.shape()[d]);
        CHECK(dims.get<std::vector<std::int64_t>>() == want_dims);
        REQUIRE(got.size() == want.size());
        double worst = 0;
        for (std::size_t j = 0; j < want.size(); ++j) worst = std::max(worst, std::abs(double(want[j]) - got[j]));
        MESSAGE(prefix.filename().string() << ", batch " << batches[i].batch << " x " << batches[i].seq << ": max |difference| " << worst);
        CHECK(worst <= tolerance);
      }
    });
  }
  void run(const vtrans_test::runtimes& rt) { node_.run(rt); }

 private:
  vtrans_test::node_session node_{"onnx_run.mjs"};
  int models_ = 0;
};

}  // namespace

TEST_CASE("ONNX Runtime runs a pruned, heterogeneous BERT classifier as vtrans does") {
  const auto* rt = vtrans_test::runtimes_or_skip();
  if (!rt) return;
  const nn::transformer<nn::bert, masks::none, cpu, float> teacher(io::parse_config(encoder_config("bert", "BertForSequenceClassification")),
                                                                  nn::head_kind::sequence_classification, 11);
  vtrans_test::prune_plan plan;
  plan.hidden = 24;
  plan.heads = {{true, false, true, true}, {false, true, false, false}, {}};
  plan.intermediate = {40, 0, 17};
  plan.mlp = {true, false, true};
  plan.attention = {true, true, false};
  const auto pruned = vtrans_test::pruned_copy(teacher, plan);
  CHECK(pruned.config().layers[0].heads == 3);
  CHECK_FALSE(pruned.config().layers[2].has_attention);
  const std::vector<nn::batch_input> batches{sample(2, 7, 200, 0, true, 1), sample(3, 12, 200, 0, true, 2)};
  onnx_session session;
  session.add(pruned, batches, io::onnx::element::float32, 1e-4);
  session.add(teacher, batches, io::onnx::element::float32, 1e-4);
  session.add(pruned, batches, io::onnx::element::float16, 2e-2);  // half-precision storage: the weights' rounding only
  session.run(*rt);
}

TEST_CASE("ONNX Runtime runs a pruned RoBERTa token classifier as vtrans does") {
  const auto* rt = vtrans_test::runtimes_or_skip();
  if (!rt) return;
  const nn::transformer<nn::roberta, masks::none, cpu, float> teacher(
      io::parse_config(encoder_config("roberta", "RobertaForTokenClassification")), nn::head_kind::token_classification, 12);
  vtrans_test::prune_plan plan;
  plan.hidden = 20;
  plan.heads = {{false, true, true, true}, {true, true, false, false}, {true, false, false, true}};
  plan.intermediate = {50, 9, 0};
  plan.mlp = {true, true, false};
  const auto pruned = vtrans_test::pruned_copy(teacher, plan);
  onnx_session session;
  session.add(pruned, {sample(2, 9, 200, 1, false, 3), sample(1, 20, 200, 1, false, 4)}, io::onnx::element::float32, 1e-4);
  session.run(*rt);
}

TEST_CASE("ONNX Runtime runs a pruned GPT-2 LM as vtrans does") {
  const auto* rt = vtrans_test::runtimes_or_skip();
  if (!rt) return;
  const nlohmann::json j{{"model_type", "gpt2"}, {"architectures", {"GPT2LMHeadModel"}}, {"vocab_size", 300}, {"n_embd", 32},
                         {"n_layer", 3}, {"n_head", 4}, {"n_inner", 48}, {"n_positions", 32}, {"initializer_range", 0.2}};
  const nn::transformer<nn::gpt2, masks::none, cpu, float> teacher(io::parse_config(j), nn::head_kind::causal_lm, 13);
  vtrans_test::prune_plan plan;
  plan.hidden = 28;
  plan.heads = {{true, true, false, true}, {}, {false, false, true, false}};
  plan.intermediate = {0, 20, 30};
  plan.attention = {true, false, true};
  const auto pruned = vtrans_test::pruned_copy(teacher, plan);
  onnx_session session;
  session.add(pruned, {sample(2, 6, 300, 0, false, 5), sample(3, 16, 300, 0, false, 6)}, io::onnx::element::float32, 1e-4);
  session.run(*rt);
}

TEST_CASE("ONNX Runtime runs every head as vtrans does") {
  const auto* rt = vtrans_test::runtimes_or_skip();
  if (!rt) return;
  const std::vector<nn::batch_input> encoder_batches{sample(2, 7, 200, 1, false, 7), sample(1, 11, 200, 1, false, 8)};
  const std::vector<nn::batch_input> bert_batches{sample(2, 7, 200, 0, true, 7)};
  using io::onnx::element;
  using bert_t = nn::transformer<nn::bert, masks::none, cpu, float>;
  using roberta_t = nn::transformer<nn::roberta, masks::none, cpu, float>;
  using gpt2_t = nn::transformer<nn::gpt2, masks::none, cpu, float>;
  const bert_t bert_mlm(io::parse_config(encoder_config("bert", "BertForMaskedLM")), nn::head_kind::masked_lm, 21);
  const bert_t bert_base(io::parse_config(encoder_config("bert", "BertModel")), nn::head_kind::base, 22);
  const roberta_t roberta_cls(io::parse_config(encoder_config("roberta", "RobertaForSequenceClassification")),
                              nn::head_kind::sequence_classification, 23);
  const roberta_t roberta_mlm(io::parse_config(encoder_config("roberta", "RobertaForMaskedLM")), nn::head_kind::masked_lm, 24);
  // GPT-2 classifies from the last token that is not padding (rows are right-padded), or from the
  // last position without a padding id
  nlohmann::json j{{"model_type", "gpt2"}, {"architectures", {"GPT2ForSequenceClassification"}}, {"vocab_size", 300}, {"n_embd", 32},
                   {"n_layer", 2}, {"n_head", 4}, {"n_positions", 32}, {"initializer_range", 0.2}, {"pad_token_id", 0},
                   {"id2label", {{"0", "A"}, {"1", "B"}}}};
  const gpt2_t gpt2_cls(io::parse_config(j), nn::head_kind::sequence_classification, 25);
  j.erase("pad_token_id");
  const gpt2_t gpt2_cls_no_pad(io::parse_config(j), nn::head_kind::sequence_classification, 26);
  j["architectures"] = {"GPT2ForTokenClassification"};
  const gpt2_t gpt2_tokens(io::parse_config(j), nn::head_kind::token_classification, 27);
  const std::vector<nn::batch_input> gpt2_batches{sample(4, 6, 300, 0, false, 9), sample(1, 9, 300, 0, false, 10)};

  onnx_session session;
  session.add(bert_mlm, bert_batches, element::float32, 1e-4);
  session.add(bert_base, bert_batches, element::float32, 1e-4, "last_hidden_state");
  session.add(roberta_cls, encoder_batches, element::float32, 1e-4);
  session.add(roberta_mlm, encoder_batches, element::float32, 1e-4);
  session.add(gpt2_cls, gpt2_batches, element::float32, 1e-4);
  session.add(gpt2_cls_no_pad, gpt2_batches, element::bfloat16, 5e-2);
  session.add(gpt2_tokens, gpt2_batches, element::float32, 1e-4);
  session.run(*rt);
}
