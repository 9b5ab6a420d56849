// GGUF files run in llama.cpp (node-llama-cpp 3.21.1, CPU) give vtrans's next-token
// distribution and tokenize text to vtrans's ids: for a random LLaMA teacher with GQA and a
// SentencePiece vocabulary, for a pruned copy of it (hidden size, heads per GQA group, FFN widths,
// one FFN and one attention sub-layer removed: llama.cpp's per-layer `deci` graph), for a LLaMA
// with GPT-2's byte-level BPE vocabulary and for a GPT-2 with a WordPiece vocabulary.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include <nlohmann/json.hpp>

#include "export/pruning.hpp"
#include "export/runtimes.hpp"
#include "vtrans/data/brown.hpp"
#include "vtrans/export/to_gguf.hpp"
#include "vtrans/tensor/cpu.hpp"

using namespace vtrans;
namespace fs = std::filesystem;

namespace {

const fs::path text_data = fs::path(VTRANS_TEST_DATA_DIR) / "text";

nlohmann::json llama_json(vtrans::index vocab, vtrans::index layers = 4) {
  return nlohmann::json{{"model_type", "llama"},        {"architectures", {"LlamaForCausalLM"}},
                         {"vocab_size", vocab},          {"hidden_size", 64},
                         {"num_hidden_layers", layers},  {"num_attention_heads", 8},
                         {"num_key_value_heads", 4},     {"intermediate_size", 96},
                         {"max_position_embeddings", 256}, {"rms_norm_eps", 1e-5},
                         {"rope_theta", 10000.0},        {"tie_word_embeddings", false},
                         {"initializer_range", 0.15},    {"bos_token_id", 1},
                         {"eos_token_id", 2}};
}
io::model_config llama_config(vtrans::index vocab, vtrans::index layers = 4) { return io::parse_config(llama_json(vocab, layers), "llama teacher"); }

// The teacher pruned: hidden 64 -> 48 (head size 8 kept), GQA groups of two query heads
// removed (8 -> 6, 4 and 2 heads, one key/value head left in layer 3), FFN widths, layer 1's FFN
// and layer 2's attention removed.
template <class Teacher>
auto pruned_llama(const Teacher& teacher) {
  vtrans_test::prune_plan plan;
  plan.hidden = 48;
  plan.heads = {{true, false, true, true}, {false, true, true, false}, {}, {true, false, false, false}};
  plan.intermediate = {70, 0, 33, 90};
  plan.mlp = {true, false, true, true};
  plan.attention = {true, true, false, true};
  return vtrans_test::pruned_copy(teacher, plan);
}

// A Brown passage as plain text (the first sentences of document ca01).
std::string brown_passage(const fs::path& brown, std::size_t sentences) {
  const auto doc = data::read_brown_document(brown / "ca01");
  std::string text;
  for (std::size_t i = 0; i < sentences && i < doc.sentences.size(); ++i) text += (i ? " " : "") + data::brown_sentence_text(doc.sentences[i]);
  return text;
}

template <class Model>
std::vector<double> vtrans_probabilities(const Model& model, const std::vector<text::token_id>& ids) {
  nn::batch_input in;
  in.batch = 1;
  in.seq = vtrans::index(ids.size());
  in.ids.assign(ids.begin(), ids.end());
  autodiff::no_record guard;
  const auto logits = model.forward(in).logits.value().to_host();
  const std::size_t V = std::size_t(model.config().vocab_size);
  std::vector<double> p(logits.size());
  for (std::size_t r = 0; r < ids.size(); ++r) {
    double mx = -1e300, sum = 0;
    for (std::size_t v = 0; v < V; ++v) mx = std::max(mx, double(logits[r * V + v]));
    for (std::size_t v = 0; v < V; ++v) sum += p[r * V + v] = std::exp(double(logits[r * V + v]) - mx);
    for (std::size_t v = 0; v < V; ++v) p[r * V + v] /= sum;
  }
  return p;
}

struct gap {
  double max_abs = 0;    // largest |p_vtrans - p_llama.cpp| over every position and token
  double max_kl = 0;     // largest KL(p_vtrans || p_llama.cpp) over positions
  double top1 = 1;       // share of positions whose most likely token agrees
};

gap compare(const std::vector<double>& want, const std::vector<float>& got, std::size_t vocab) {
  REQUIRE(want.size() == got.size());
  gap g;
  std::size_t agree = 0, rows = want.size() / vocab;
  for (std::size_t r = 0; r < rows; ++r) {
    double kl = 0;
    std::size_t a = 0, b = 0;
    for (std::size_t v = 0; v < vocab; ++v) {
      const double p = want[r * vocab + v], q = got[r * vocab + v];
      g.max_abs = std::max(g.max_abs, std::abs(p - q));
      if (p > 0) kl += p * (std::log(p) - std::log(std::max(q, 1e-30)));
      if (p > want[r * vocab + a]) a = v;
      if (q > got[r * vocab + b]) b = v;
    }
    g.max_kl = std::max(g.max_kl, kl);
    agree += a == b;
  }
  g.top1 = double(agree) / double(rows);
  return g;
}

struct gguf_run {
  std::string name;
  exports::gguf_options options;
  double max_abs, max_kl;  // tolerances
};

// GGUF files for llama.cpp (llama_cpp_eval.mjs), checked once it has run them all.
class llama_cpp_session {
 public:
  // Writes each variant of `model` (which must outlive run()); after run(), checks that llama.cpp
  // tokenizes `text` to vtrans's ids and, with probabilities, gives vtrans's next-token
  // distribution after every position. Without probabilities the files are loaded vocabulary-only.
  template <class Model>
  void add(const Model& model, const fs::path& tokenizer_dir, const std::string& text, const std::vector<gguf_run>& runs,
           const std::string& expect_arch, bool probabilities = true) {
    const auto ids = text::load_tokenizer(tokenizer_dir)->encode(text);
    const auto vocab = exports::read_gguf_vocab(tokenizer_dir, model.config().vocab_size);
    const fs::path dir = node_.dir();
    for (const auto& r : runs) {
      const fs::path path = dir / (r.name + ".gguf");
      CHECK(exports::write_gguf(model, vocab, r.options, path.string()).arch == expect_arch);
      node_.add_job({{"path", path.string()}, {"out", (dir / r.name).string()}, {"text", text}, {"vocab", model.config().vocab_size},
                     {"probabilities", probabilities}});
    }
    node_.add_check([dir, &model, ids, runs, probabilities] {
      const auto want = probabilities ? vtrans_probabilities(model, ids) : std::vector<double>();
      for (const auto& r : runs) {
        INFO(r.name);
        const auto got_ids = nlohmann::json::parse(vtrans_test::read_text_file(dir / (r.name + ".json"))).at("ids");
        CHECK(got_ids.get<std::vector<text::token_id>>() == ids);
        if (!probabilities) continue;
        const auto g = compare(want, vtrans_test::read_f32_file(dir / (r.name + ".f32")), std::size_t(model.config().vocab_size));
        MESSAGE(r.name << ": " << ids.size() << " positions, max |dp| " << g.max_abs << ", max KL " << g.max_kl << ", top-1 agreement "
                       << g.top1);
        CHECK(g.max_abs <= r.max_abs);
        CHECK(g.max_kl <= r.max_kl);
      }
    });
  }
  void run(const vtrans_test::runtimes& rt) { node_.run(rt); }

 private:
  vtrans_test::node_session node_{"llama_cpp_eval.mjs"};
};

std::vector<gguf_run> every_type(const std::string& prefix) {
  using io::ggml_type;
  // tolerances about three times what was measured (docs/formats.md); the f32 gap is float
  // rounding in llama.cpp's softmax, the others are the precision of the stored weights (and, for
  // Q8_0, of the activations llama.cpp quantizes before each Q8_0 product)
  return {{prefix + "-f32", {ggml_type::f32, false, prefix}, 1e-6, 1e-5},
          {prefix + "-f16", {ggml_type::f16, false, prefix}, 1.5e-3, 1e-4},
          {prefix + "-bf16", {ggml_type::bf16, false, prefix}, 1e-2, 3e-3},
          {prefix + "-q8_0", {ggml_type::f16, true, prefix}, 2e-2, 4e-2}};
}

}  // namespace

TEST_CASE("llama.cpp runs a LLaMA teacher and its pruned, heterogeneous copy as vtrans does") {
  const auto* rt = vtrans_test::runtimes_or_skip();
  if (!rt) return;
  const fs::path spm = text_data / "sentencepiece";
  const nn::transformer<nn::llama, masks::none, cpu, float> teacher(llama_config(1000), nn::head_kind::causal_lm, 7);
  const auto pruned = pruned_llama(teacher);
  const auto& layers = pruned.config().layers;
  REQUIRE(pruned.config().hidden_size == 48);
  CHECK(layers[1].heads == 4);
  CHECK(layers[3].kv_heads == 1);
  CHECK_FALSE(layers[1].has_mlp);
  CHECK_FALSE(layers[2].has_attention);

  // pruned alike in every layer (only the hidden size, 64 -> 40, head size 8 kept): still `llama`
  vtrans_test::prune_plan narrow;
  narrow.hidden = 40;
  const auto uniform = vtrans_test::pruned_copy(teacher, narrow);

  // the other shapes deci needs help with: no attention in the first layer, a layer removed whole
  vtrans_test::prune_plan holes;
  holes.attention = {false, true, true, false};
  holes.mlp = {true, true, true, false};
  const auto holey = vtrans_test::pruned_copy(teacher, holes);
  exports::gguf_summary plan = exports::plan_gguf(holey.config(), holey.head());
  CHECK(plan.layers == std::vector<vtrans::index>{0, 1, 2});  // layer 3 computes the identity: left out
  CHECK(plan.heads == std::vector<std::uint32_t>{1, 8, 8});     // one zero key/value head in block 0
  CHECK(plan.placeholder_attention == 1);

  const std::string text = brown_passage(rt->brown_dir, 2);
  llama_cpp_session session;
  session.add(teacher, spm, text, every_type("teacher"), "llama");
  session.add(pruned, spm, text, every_type("pruned"), "deci");
  session.add(uniform, spm, text, {every_type("narrow").front()}, "llama");
  session.add(holey, spm, text, {every_type("holes").front()}, "deci");
  session.run(*rt);
}

TEST_CASE("llama.cpp runs Qwen2 (q/k/v biases, halves rotated) and Mistral (sliding window longer than the text) as vtrans does") {
  const auto* rt = vtrans_test::runtimes_or_skip();
  if (!rt) return;
  auto qj = llama_json(1000, 2);
  qj["model_type"] = "qwen2";
  qj["architectures"] = {"Qwen2ForCausalLM"};
  const nn::transformer<nn::qwen2, masks::none, cpu, float> qwen2(io::parse_config(qj, "qwen2"), nn::head_kind::causal_lm, 11);
  CHECK(qwen2.has_parameter("layers.0.self_attn.q_proj.bias"));
  auto mj = llama_json(1000, 2);
  mj["model_type"] = "mistral";
  mj["architectures"] = {"MistralForCausalLM"};
  mj["sliding_window"] = 200;
  const nn::transformer<nn::mistral, masks::none, cpu, float> mistral(io::parse_config(mj, "mistral"), nn::head_kind::causal_lm, 12);
  REQUIRE(mistral.config().layers[0].window == 200);
  const auto notes = exports::plan_gguf(mistral.config(), mistral.head()).notes;
  CHECK(std::any_of(notes.begin(), notes.end(), [](const std::string& n) { return n.find("sliding window of 200") != std::string::npos; }));

  const fs::path spm = text_data / "sentencepiece";
  const std::string text = brown_passage(rt->brown_dir, 2);
  llama_cpp_session session;
  session.add(qwen2, spm, text, {every_type("qwen2").front(), every_type("qwen2")[1]}, "qwen2");
  session.add(mistral, spm, text, {every_type("mistral").front()}, "llama");
  session.run(*rt);
}

TEST_CASE("llama.cpp tokenizes as vtrans: byte-level BPE in a LLaMA, WordPiece in a uniform GPT-2") {
  const auto* rt = vtrans_test::runtimes_or_skip();
  if (!rt) return;
  using io::ggml_type;
  llama_cpp_session session;
  const nn::transformer<nn::llama, masks::none, cpu, float> bpe_llama(llama_config(50257, 1), nn::head_kind::causal_lm, 3);
  session.add(bpe_llama, text_data / "gpt2", brown_passage(rt->brown_dir, 4), {{"bpe", {ggml_type::f32, false, "bpe"}, 0, 0}}, "llama", false);
  const nlohmann::json j{{"model_type", "gpt2"}, {"architectures", {"GPT2LMHeadModel"}}, {"vocab_size", 4141}, {"n_embd", 32},
                         {"n_layer", 2}, {"n_head", 4}, {"n_inner", 64}, {"n_positions", 128}, {"initializer_range", 0.15}};
  const nn::transformer<nn::gpt2, masks::none, cpu, float> gpt2(io::parse_config(j, "gpt2"), nn::head_kind::causal_lm, 5);
  // llama.cpp's GELU reads a table of half-precision values: its f32 file differs by ~1e-4 in probability
  session.add(gpt2, text_data / "wordpiece", brown_passage(rt->brown_dir, 2), {{"gpt2-f32", {ggml_type::f32, false, "gpt2"}, 1e-3, 1e-4}},
              "gpt2");
  session.run(*rt);
}

TEST_CASE("GGUF refuses what llama.cpp cannot run, naming why") {
  auto vocab = exports::read_gguf_vocab(text_data / "wordpiece", 4141);
  const nlohmann::json j{{"model_type", "gpt2"}, {"architectures", {"GPT2LMHeadModel"}}, {"vocab_size", 4141}, {"n_embd", 32},
                         {"n_layer", 2}, {"n_head", 4}, {"per_layer_config", {{"1", {{"n_head", 2}}}}}};
  const nn::transformer<nn::gpt2, masks::none, cpu, float> hetero(io::parse_config(j, "gpt2"), nn::head_kind::causal_lm);
  CHECK_THROWS_WITH_AS(exports::gguf_file(hetero, vocab, {}), doctest::Contains("builds every layer with the same sizes"), vtrans::usage_error);
  const nlohmann::json k{{"model_type", "gpt2"}, {"architectures", {"GPT2ForSequenceClassification"}}, {"vocab_size", 4141}, {"n_embd", 32},
                         {"n_layer", 1}, {"n_head", 4}};
  const nn::transformer<nn::gpt2, masks::none, cpu, float> classifier(io::parse_config(k, "gpt2"), nn::head_kind::sequence_classification);
  CHECK_THROWS_WITH_AS(exports::gguf_file(classifier, vocab, {}), doctest::Contains("sequence_classification head"), vtrans::usage_error);
  CHECK_THROWS_WITH_AS(exports::read_gguf_vocab(text_data / "wordpiece", 100), doctest::Contains("4141 tokens but the model's embedding only 100"),
                       vtrans::usage_error);
}
