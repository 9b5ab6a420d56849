#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "io_test_util.hpp"
#include "vtrans/io/model_config.hpp"

using namespace vtrans::io;
using io_test::format_error_of;
using io_test::temp_dir;
using json = nlohmann::json;

namespace {

constexpr family bert = vtrans::nn::bert::id, roberta = vtrans::nn::roberta::id, gpt2 = vtrans::nn::gpt2::id,
                 llama = vtrans::nn::llama::id, qwen2 = vtrans::nn::qwen2::id, mistral = vtrans::nn::mistral::id;

// config.json files as published on the Hugging Face hub.
const char* bert_base_uncased = R"({
  "architectures": ["BertForMaskedLM"], "attention_probs_dropout_prob": 0.1, "gradient_checkpointing": false,
  "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 768, "initializer_range": 0.02,
  "intermediate_size": 3072, "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "model_type": "bert",
  "num_attention_heads": 12, "num_hidden_layers": 12, "pad_token_id": 0, "position_embedding_type": "absolute",
  "transformers_version": "4.6.0.dev0", "type_vocab_size": 2, "use_cache": true, "vocab_size": 30522})";

const char* roberta_base = R"({
  "architectures": ["RobertaForMaskedLM"], "attention_probs_dropout_prob": 0.1, "bos_token_id": 0, "eos_token_id": 2,
  "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 768, "initializer_range": 0.02,
  "intermediate_size": 3072, "layer_norm_eps": 1e-05, "max_position_embeddings": 514, "model_type": "roberta",
  "num_attention_heads": 12, "num_hidden_layers": 12, "pad_token_id": 1, "type_vocab_size": 1, "vocab_size": 50265})";

const char* gpt2_small = R"({
  "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1, "bos_token_id": 50256,
  "embd_pdrop": 0.1, "eos_token_id": 50256, "initializer_range": 0.02, "layer_norm_epsilon": 1e-05,
  "model_type": "gpt2", "n_ctx": 1024, "n_embd": 768, "n_head": 12, "n_layer": 12, "n_positions": 1024,
  "resid_pdrop": 0.1, "summary_activation": null, "summary_first_dropout": 0.1, "summary_proj_to_labels": true,
  "summary_type": "cls_index", "summary_use_proj": true,
  "task_specific_params": {"text-generation": {"do_sample": true, "max_length": 50}}, "vocab_size": 50257})";

const char* llama2_7b = R"({
  "architectures": ["LlamaForCausalLM"], "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
  "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 11008, "max_position_embeddings": 4096,
  "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 32,
  "pretraining_tp": 1, "rms_norm_eps": 1e-05, "rope_scaling": null, "tie_word_embeddings": false,
  "torch_dtype": "float16", "transformers_version": "4.31.0.dev0", "use_cache": true, "vocab_size": 32000})";

const char* llama3_8b_instruct = R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0, "bos_token_id": 128000,
  "eos_token_id": [128001, 128009], "hidden_act": "silu", "hidden_size": 4096, "initializer_range": 0.02,
  "intermediate_size": 14336, "max_position_embeddings": 8192, "model_type": "llama", "num_attention_heads": 32,
  "num_hidden_layers": 32, "num_key_value_heads": 8, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
  "rope_scaling": null, "rope_theta": 500000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
  "transformers_version": "4.40.0.dev0", "use_cache": true, "vocab_size": 128256})";

const char* qwen2_0_5b = R"({
  "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643, "eos_token_id": 151643,
  "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02, "intermediate_size": 4864,
  "max_position_embeddings": 131072, "max_window_layers": 24, "model_type": "qwen2", "num_attention_heads": 14,
  "num_hidden_layers": 24, "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
  "sliding_window": 131072, "tie_word_embeddings": true, "torch_dtype": "bfloat16", "transformers_version": "4.40.1",
  "use_cache": true, "use_sliding_window": false, "vocab_size": 151936})";

const char* qwen2_7b_instruct = R"({
  "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643, "eos_token_id": 151645,
  "hidden_act": "silu", "hidden_size": 3584, "initializer_range": 0.02, "intermediate_size": 18944,
  "max_position_embeddings": 32768, "max_window_layers": 28, "model_type": "qwen2", "num_attention_heads": 28,
  "num_hidden_layers": 28, "num_key_value_heads": 4, "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000.0,
  "sliding_window": null, "tie_word_embeddings": false, "torch_dtype": "bfloat16", "transformers_version": "4.43.1",
  "use_cache": true, "use_sliding_window": false, "vocab_size": 152064})";

const char* mistral_7b_v01 = R"({
  "architectures": ["MistralForCausalLM"], "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
  "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 14336, "max_position_embeddings": 32768,
  "model_type": "mistral", "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
  "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "sliding_window": 4096, "tie_word_embeddings": false,
  "torch_dtype": "bfloat16", "transformers_version": "4.34.0.dev0", "use_cache": true, "vocab_size": 32000})";

const char* mistral_7b_v03 = R"({
  "architectures": ["MistralForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": 2,
  "hidden_act": "silu", "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 14336,
  "max_position_embeddings": 32768, "model_type": "mistral", "num_attention_heads": 32, "num_hidden_layers": 32,
  "num_key_value_heads": 8, "rms_norm_eps": 1e-05, "rope_theta": 1000000.0, "sliding_window": null,
  "tie_word_embeddings": false, "torch_dtype": "bfloat16", "transformers_version": "4.42.0.dev0", "use_cache": true,
  "vocab_size": 32768})";

std::vector<vtrans::index> windows_of(const model_config& c) {
  std::vector<vtrans::index> v;
  for (const auto& l : c.layers) v.push_back(l.window);
  return v;
}

model_config parse(const std::string& text) { return parse_config(json::parse(text), "test/config.json"); }

std::string parse_error(const std::string& text) {
  return format_error_of([&] { parse(text); });
}

std::vector<vtrans::index> heads_of(const model_config& c) {
  std::vector<vtrans::index> v;
  for (const auto& l : c.layers) v.push_back(l.heads);
  return v;
}

}  // namespace

TEST_CASE("model_config: bert-base-uncased") {
  const auto c = parse(bert_base_uncased);
  CHECK(c.family == bert);
  CHECK(c.model_type == "bert");
  CHECK(c.architectures == std::vector<std::string>{"BertForMaskedLM"});
  CHECK(c.vocab_size == 30522);
  CHECK(c.hidden_size == 768);
  CHECK(c.num_layers == 12);
  CHECK(c.num_heads == 12);
  CHECK(c.num_kv_heads == 12);
  CHECK(c.head_dim == 64);
  CHECK(c.intermediate_size == 3072);
  CHECK(c.max_positions == 512);
  CHECK(c.type_vocab_size == 2);
  CHECK(c.norm_eps == 1e-12);
  CHECK(c.activation == "gelu");
  CHECK(c.pad_token_id == 0);
  CHECK(c.bos_token_id == -1);
  CHECK(c.eos_token_id == -1);
  CHECK(c.rope_theta == 0);
  CHECK(c.tie_word_embeddings);
  CHECK(has_bias(c, vtrans::nn::bert::spec.layer.q.bias));  // BERT's projections always have biases
  CHECK(c.num_labels == 2);
  CHECK(c.id2label == std::vector<std::string>{"LABEL_0", "LABEL_1"});
  REQUIRE(c.layers.size() == 12);
  CHECK(c.layers[7] == layer_sizes{12, 12, 3072, true, true});
  CHECK(max_sequence_length(c) == 512);
}

TEST_CASE("model_config: roberta-base keeps its 514-row position table") {
  const auto c = parse(roberta_base);
  CHECK(c.family == roberta);
  CHECK(c.max_positions == 514);
  CHECK(max_sequence_length(c) == 512);  // positions start after the padding index 1
  CHECK(c.type_vocab_size == 1);
  CHECK(c.norm_eps == 1e-5);
  CHECK(c.vocab_size == 50265);
  CHECK(c.pad_token_id == 1);
  CHECK(c.bos_token_id == 0);
  CHECK(c.eos_token_id == 2);
}

TEST_CASE("model_config: gpt2 attribute names") {
  const auto c = parse(gpt2_small);
  CHECK(c.family == gpt2);
  CHECK(c.hidden_size == 768);
  CHECK(c.num_layers == 12);
  CHECK(c.num_heads == 12);
  CHECK(c.intermediate_size == 3072);  // n_inner absent: 4 * n_embd
  CHECK(c.max_positions == 1024);
  CHECK(c.norm_eps == 1e-5);
  CHECK(c.activation == "gelu_new");
  CHECK(c.bos_token_id == 50256);
  CHECK(c.eos_token_id == 50256);
  CHECK(c.pad_token_id == -1);
  CHECK(c.type_vocab_size == 0);
  CHECK(c.tie_word_embeddings);

  json j = json::parse(gpt2_small);
  j["n_inner"] = nullptr;
  CHECK(parse_config(j, "x").intermediate_size == 3072);
  j["n_inner"] = 1000;
  CHECK(parse_config(j, "x").intermediate_size == 1000);
  j["hidden_size"] = 768;  // attribute_map alias, consistent
  CHECK(parse_config(j, "x").hidden_size == 768);
  j["hidden_size"] = 512;
  CHECK_ERROR_NAMES(format_error_of([&] { parse_config(j, "gpt2/config.json"); }), "gpt2/config.json", "\"n_embd\"",
                    "\"hidden_size\"");
}

TEST_CASE("model_config: llama 2 and llama 3") {
  const auto l2 = parse(llama2_7b);
  CHECK(l2.family == llama);
  CHECK(l2.num_kv_heads == 32);
  CHECK(l2.head_dim == 128);
  CHECK(l2.rope_theta == 10000.0);
  CHECK(l2.norm_eps == 1e-5);
  CHECK(l2.max_positions == 4096);
  CHECK_FALSE(l2.tie_word_embeddings);
  CHECK_FALSE(l2.attention_bias);
  CHECK_FALSE(l2.mlp_bias);
  CHECK(l2.activation == "silu");
  CHECK(l2.bos_token_id == 1);
  CHECK(l2.pad_token_id == -1);

  const auto l3 = parse(llama3_8b_instruct);
  CHECK(l3.num_kv_heads == 8);
  CHECK(l3.layers[31].kv_heads == 8);
  CHECK(l3.rope_theta == 500000.0);
  CHECK(l3.eos_token_id == 128001);  // the first of the listed ids
  CHECK(l3.vocab_size == 128256);
  const json back = to_json(l3);
  CHECK(back["eos_token_id"] == json::array({128001, 128009}));  // the list survives
}

TEST_CASE("model_config: llama defaults and optional keys") {
  json j = {{"model_type", "llama"}};
  auto c = parse_config(j, "x");
  CHECK(c.vocab_size == 32000);
  CHECK(c.hidden_size == 4096);
  CHECK(c.intermediate_size == 11008);
  CHECK(c.num_layers == 32);
  CHECK(c.num_heads == 32);
  CHECK(c.num_kv_heads == 32);  // None -> heads
  CHECK(c.head_dim == 128);     // None -> hidden / heads
  CHECK(c.max_positions == 2048);
  CHECK(c.norm_eps == 1e-6);
  CHECK(c.rope_theta == 10000.0);
  CHECK(c.bos_token_id == 1);
  CHECK(c.eos_token_id == 2);
  CHECK_FALSE(c.tie_word_embeddings);

  j = {{"model_type", "llama"}, {"num_key_value_heads", nullptr}, {"head_dim", nullptr}, {"pad_token_id", -1}};
  c = parse_config(j, "x");
  CHECK(c.num_kv_heads == 32);
  CHECK(c.head_dim == 128);
  CHECK(c.pad_token_id == -1);

  // An explicit head_dim need not equal hidden / heads and lifts the divisibility rule.
  j = {{"model_type", "llama"}, {"hidden_size", 3000}, {"num_attention_heads", 16}, {"head_dim", 128}};
  c = parse_config(j, "x");
  CHECK(c.head_dim == 128);
  CHECK(parse_config(to_json(c), "x") == c);
}

TEST_CASE("model_config: qwen2 as published, with Qwen2Config's defaults") {
  const auto q = parse(qwen2_0_5b);
  CHECK(q.family == qwen2);
  CHECK(q.num_heads == 14);
  CHECK(q.num_kv_heads == 2);
  CHECK(q.head_dim == 64);
  CHECK(q.rope_theta == 1000000.0);
  CHECK(q.tie_word_embeddings);
  CHECK(windows_of(q) == std::vector<vtrans::index>(24, 0));  // use_sliding_window false
  const auto& spec = vtrans::nn::qwen2::spec;
  CHECK(has_bias(q, spec.layer.q.bias));  // biases on q, k, v; none on o or the FFN
  CHECK(has_bias(q, spec.layer.v.bias));
  CHECK_FALSE(has_bias(q, spec.layer.o.bias));
  CHECK_FALSE(has_bias(q, spec.layer.up.bias));
  CHECK_FALSE(parse(qwen2_7b_instruct).tie_word_embeddings);
  CHECK(parse(qwen2_7b_instruct).eos_token_id == 151645);

  const auto d = default_config(qwen2);
  CHECK((d.vocab_size == 151936 && d.hidden_size == 4096 && d.intermediate_size == 22016 && d.num_layers == 32 &&
         d.num_heads == 32 && d.num_kv_heads == 32 && d.max_positions == 32768 && d.norm_eps == 1e-6 &&
         d.rope_theta == 10000.0 && !d.tie_word_embeddings && d.bos_token_id == -1 && d.eos_token_id == -1 &&
         d.pad_token_id == -1 && d.activation == "silu"));
  CHECK(parse(R"({"model_type": "qwen2", "num_key_value_heads": null})").num_kv_heads == 32);  // None: as many as heads
  // absent, num_key_value_heads is Qwen2Config's 32, not the head count
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "qwen2", "num_attention_heads": 16})"), "test/config.json",
                    "num_key_value_heads (32)", "16");
}

TEST_CASE("model_config: qwen2 sliding windows on the upper layers, by max_window_layers or layer_types") {
  auto j = json::parse(qwen2_0_5b);
  j["use_sliding_window"] = true;
  j["sliding_window"] = 4096;
  j["max_window_layers"] = 20;
  auto c = parse_config(j, "x");
  for (std::size_t i = 0; i < 24; ++i) CHECK(c.layers[i].window == (i >= 20 ? 4096 : 0));
  j["max_window_layers"] = 28;  // more than the layers: none
  CHECK(windows_of(parse_config(j, "x")) == std::vector<vtrans::index>(24, 0));
  j.erase("max_window_layers");  // Qwen2Config's default is 28
  CHECK(windows_of(parse_config(j, "x")) == std::vector<vtrans::index>(24, 0));
  j["sliding_window"] = nullptr;
  j["max_window_layers"] = 0;
  CHECK(windows_of(parse_config(j, "x")) == std::vector<vtrans::index>(24, 0));

  // transformers 4.5x / 5 save layer_types, which then decide
  json t = {{"model_type", "qwen2"}, {"num_hidden_layers", 3}, {"use_sliding_window", true}, {"sliding_window", 8},
            {"layer_types", {"sliding_attention", "full_attention", "sliding_attention"}}};
  c = parse_config(t, "x");
  CHECK(windows_of(c) == std::vector<vtrans::index>{8, 0, 8});
  const json back = to_json(c);
  CHECK(back["layer_types"] == t["layer_types"]);
  CHECK(parse_config(back, "x") == c);
  t["use_sliding_window"] = false;
  CHECK(windows_of(parse_config(t, "x")) == std::vector<vtrans::index>{0, 0, 0});
  t["layer_types"] = {"sliding_attention", "chunked_attention", "full_attention"};
  CHECK_ERROR_NAMES(format_error_of([&] { parse_config(t, "q/config.json"); }), "q/config.json", "layer_types[1]",
                    "\"chunked_attention\"");
  t["layer_types"] = {"full_attention"};
  CHECK_ERROR_NAMES(format_error_of([&] { parse_config(t, "q/config.json"); }), "q/config.json", "\"layer_types\"", "3 layer types");

  // written back: windowed upper layers as max_window_layers, anything else as layer_types
  c = parse(R"({"model_type": "qwen2", "num_hidden_layers": 4, "use_sliding_window": true, "sliding_window": 16,
                "max_window_layers": 1})");
  json w = to_json(c);
  CHECK(w["max_window_layers"] == 1);
  CHECK_FALSE(w.contains("layer_types"));
  c.layers[2].window = 0;
  w = to_json(c);
  CHECK(w["layer_types"] == json{"full_attention", "sliding_attention", "full_attention", "sliding_attention"});
  CHECK(parse_config(w, "x") == c);
  c.layers[1].window = 5;
  CHECK_ERROR_NAMES(format_error_of([&] { to_json(c); }), "different sliding windows");
  for (auto& l : c.layers) l.window = 0;
  w = to_json(c);
  CHECK(w["use_sliding_window"] == false);
  CHECK(parse_config(w, "x") == c);
}

TEST_CASE("model_config: mistral as published, with MistralConfig's defaults") {
  const auto v1 = parse(mistral_7b_v01);
  CHECK(v1.family == mistral);
  CHECK(v1.num_kv_heads == 8);
  CHECK(v1.head_dim == 128);
  CHECK(v1.rope_theta == 10000.0);
  CHECK(windows_of(v1) == std::vector<vtrans::index>(32, 4096));
  CHECK_FALSE(has_bias(v1, vtrans::nn::mistral::spec.layer.q.bias));
  const auto v3 = parse(mistral_7b_v03);
  CHECK(windows_of(v3) == std::vector<vtrans::index>(32, 0));  // null: full attention
  CHECK(v3.rope_theta == 1000000.0);
  CHECK(v3.vocab_size == 32768);
  CHECK(to_json(v3)["sliding_window"].is_null());

  const auto d = default_config(mistral);
  CHECK((d.vocab_size == 32000 && d.hidden_size == 4096 && d.intermediate_size == 14336 && d.num_layers == 32 &&
         d.num_heads == 32 && d.num_kv_heads == 8 && d.head_dim == 128 && d.max_positions == 131072 && d.norm_eps == 1e-6 &&
         d.rope_theta == 10000.0 && !d.tie_word_embeddings && d.bos_token_id == 1 && d.eos_token_id == 2 &&
         d.pad_token_id == -1));
  CHECK(windows_of(d) == std::vector<vtrans::index>(32, 4096));  // absent: 4096
  CHECK(parse(R"({"model_type": "mistral", "num_key_value_heads": null})").num_kv_heads == 32);
  CHECK(parse(R"({"model_type": "mistral", "hidden_size": 1024, "num_attention_heads": 8, "head_dim": 256})").head_dim == 256);
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "mistral", "sliding_window": 0})"), "test/config.json", "\"sliding_window\"");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "mistral", "num_attention_heads": 12})"), "test/config.json",
                    "num_key_value_heads (8)", "12");  // MistralConfig's 8 key/value heads
}

TEST_CASE("model_config: rope_theta at the top level, in rope_parameters, with rope_scaling") {
  auto theta = [](json j) {
    j["model_type"] = "llama";
    return parse_config(j, "x").rope_theta;
  };
  CHECK(theta({{"rope_theta", 500000.0}}) == 500000.0);
  CHECK(theta({{"rope_parameters", {{"rope_type", "default"}, {"rope_theta", 250000.0}}}}) == 250000.0);
  CHECK(theta({{"rope_parameters", {{"rope_theta", 250000.0}}}, {"rope_theta", 250000.0}}) == 250000.0);
  CHECK(theta({{"rope_scaling", {{"rope_type", "default"}}}, {"rope_theta", 1e6}}) == 1e6);
  CHECK(theta({{"rope_scaling", {{"type", nullptr}}}}) == 10000.0);

  const json llama31 = {{"model_type", "llama"},
                        {"rope_scaling", {{"factor", 8.0}, {"rope_type", "llama3"}, {"original_max_position_embeddings", 8192}}}};
  CHECK_ERROR_NAMES(format_error_of([&] { parse_config(llama31, "l31/config.json"); }), "l31/config.json",
                    "rope_scaling", "\"llama3\"");
  const json yarn = {{"model_type", "llama"}, {"rope_parameters", {{"rope_type", "yarn"}, {"rope_theta", 1e4}}}};
  CHECK_ERROR_NAMES(format_error_of([&] { parse_config(yarn, "y.json"); }), "y.json", "rope_parameters", "\"yarn\"");
  const json disagree = {{"model_type", "llama"}, {"rope_theta", 1e4}, {"rope_parameters", {{"rope_theta", 5e5}}}};
  CHECK_ERROR_NAMES(format_error_of([&] { parse_config(disagree, "d.json"); }), "d.json", "rope_theta", "disagree");

  // Round trip writes rope_theta back where it came from.
  auto v5 = parse_config({{"model_type", "llama"}, {"rope_parameters", {{"rope_type", "default"}, {"rope_theta", 5e5}}}}, "x");
  v5.rope_theta = 1e6;
  const json out = to_json(v5);
  CHECK(out["rope_parameters"]["rope_theta"] == 1e6);
  CHECK_FALSE(out.contains("rope_theta"));
  CHECK(parse_config(out, "x") == v5);
}

TEST_CASE("model_config: defaults of every family match transformers' config classes") {
  const auto b = default_config(bert);
  CHECK((b.vocab_size == 30522 && b.hidden_size == 768 && b.num_layers == 12 && b.num_heads == 12 &&
         b.intermediate_size == 3072 && b.max_positions == 512 && b.type_vocab_size == 2 && b.norm_eps == 1e-12 &&
         b.pad_token_id == 0 && b.activation == "gelu"));
  const auto r = default_config(roberta);  // RobertaConfig keeps BERT's size defaults
  CHECK((r.vocab_size == 30522 && r.max_positions == 512 && r.type_vocab_size == 2 && r.norm_eps == 1e-12 &&
         r.pad_token_id == 1 && r.bos_token_id == 0 && r.eos_token_id == 2));
  const auto g = default_config(gpt2);
  CHECK((g.vocab_size == 50257 && g.max_positions == 1024 && g.hidden_size == 768 && g.intermediate_size == 3072 &&
         g.norm_eps == 1e-5 && g.activation == "gelu_new" && g.bos_token_id == 50256 && g.eos_token_id == 50256));
  CHECK(default_config(llama).num_layers == 32);
}

TEST_CASE("model_config: labels") {
  auto c = parse(R"({"model_type": "bert", "id2label": {"0": "NEGATIVE", "1": "POSITIVE", "2": "NEUTRAL"},
                     "label2id": {"NEGATIVE": 0, "POSITIVE": 1, "NEUTRAL": 2}, "problem_type": "single_label_classification"})");
  CHECK(c.num_labels == 3);
  CHECK(c.id2label == std::vector<std::string>{"NEGATIVE", "POSITIVE", "NEUTRAL"});
  CHECK(c.problem_type == "single_label_classification");
  c = parse(R"({"model_type": "roberta", "num_labels": 1, "problem_type": "regression"})");
  CHECK(c.num_labels == 1);
  CHECK(c.id2label == std::vector<std::string>{"LABEL_0"});
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "bert", "num_labels": 3, "id2label": {"0": "a", "1": "b"}})"),
                    "test/config.json", "num_labels", "id2label");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "bert", "id2label": {"0": "a", "2": "b"}})"), "test/config.json",
                    "id2label", "\"2\"");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "bert", "id2label": {"0": "a", "x": "b"}})"), "test/config.json",
                    "id2label", "\"x\"");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "bert", "problem_type": "ranking"})"), "test/config.json",
                    "\"problem_type\"", "\"ranking\"");
}

TEST_CASE("model_config: pruned_heads reduce per-layer heads (transformers' GPT-2 example)") {
  const auto c = parse(R"({"model_type": "gpt2", "n_layer": 4, "n_head": 4, "n_embd": 64,
                           "pruned_heads": {"0": [1], "1": [2, 3]}})");
  CHECK(heads_of(c) == std::vector<vtrans::index>{3, 2, 4, 4});
  CHECK(c.layers[1].kv_heads == 2);
  CHECK(c.num_heads == 4);
  CHECK(c.head_dim == 16);

  const auto b = parse(R"({"model_type": "bert", "num_hidden_layers": 2, "pruned_heads": {"1": [0, 0, 11]}})");
  CHECK(heads_of(b) == std::vector<vtrans::index>{12, 10});  // a repeated index counts once

  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "bert", "num_hidden_layers": 2, "pruned_heads": {"1": [12]}})"),
                    "test/config.json", "pruned_heads[\"1\"]", "12");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "bert", "num_hidden_layers": 2, "pruned_heads": {"2": [0]}})"),
                    "test/config.json", "pruned_heads", "\"2\"");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "llama", "pruned_heads": {"0": [1]}})"), "test/config.json",
                    "\"pruned_heads\"", "llama");
  CHECK(parse(R"({"model_type": "llama", "pruned_heads": {}})").layers[0].heads == 32);
}

TEST_CASE("model_config: per_layer_config (the transformers documentation example)") {
  const auto c = parse(R"({"model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
    "num_attention_heads": 32, "num_key_value_heads": 8,
    "per_layer_config": {"5": {"intermediate_size": 8192}, "11": {"num_key_value_heads": 4, "num_attention_heads": 8},
                         "23": {"skip": ["mlp"]}, "27": {"skip": ["attention"]}, "28": {"skip": ["self_attn", "mlp"]}}})");
  CHECK(c.layers[0] == layer_sizes{32, 8, 14336, true, true});
  CHECK(c.layers[5] == layer_sizes{32, 8, 8192, true, true});
  CHECK(c.layers[11] == layer_sizes{8, 4, 14336, true, true});
  CHECK(c.layers[23] == layer_sizes{32, 8, 14336, true, false});
  CHECK(c.layers[27] == layer_sizes{32, 8, 14336, false, true});
  CHECK(c.layers[28] == layer_sizes{32, 8, 14336, false, false});
  CHECK(c.num_kv_heads == 8);

  // BERT: heads set per layer; per_layer_config applies first, then pruned_heads removes from it.
  const auto b = parse(R"({"model_type": "bert", "num_hidden_layers": 3,
    "per_layer_config": {"0": {"num_attention_heads": 6, "intermediate_size": 100}}, "pruned_heads": {"0": [5]}})");
  CHECK(b.layers[0] == layer_sizes{5, 5, 100, true, true});
  const auto g = parse(R"({"model_type": "gpt2", "n_layer": 2, "per_layer_config": {"1": {"n_head": 3, "n_inner": 7}}})");
  CHECK(g.layers[1] == layer_sizes{3, 3, 7, true, true});

  const std::string f = "test/config.json";
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "llama", "num_hidden_layers": 4, "per_layer_config": {"4": {}}})"), f,
                    "per_layer_config", "\"4\"", "out of range");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "llama", "per_layer_config": {"1": {"head_dim": 64}}})"), f,
                    "per_layer_config[\"1\"]", "\"head_dim\"");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "llama", "per_layer_config": {"1": {"intermediate_size": "big"}}})"), f,
                    "intermediate_size", "\"big\"");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "llama", "per_layer_config": {"1": {"skip": ["ffn"]}}})"), f, "skip",
                    "\"ffn\"");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "bert", "per_layer_config": {"1": {"num_key_value_heads": 4}}})"), f,
                    "\"num_key_value_heads\"");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "llama", "num_key_value_heads": 8,
                                   "per_layer_config": {"3": {"num_attention_heads": 12}}})"),
                    f, "layer 3", "8 key/value heads", "12");
}

TEST_CASE("model_config: errors name the file and the key or value") {
  const std::string f = "test/config.json";
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "t5", "d_model": 512})"), f, "unknown model_type", "\"t5\"");
  CHECK_ERROR_NAMES(parse_error(R"({"hidden_size": 768})"), f, "missing", "model_type");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": 3})"), f, "\"model_type\"");
  CHECK_ERROR_NAMES(parse_error(R"([1, 2])"), f, "object");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "bert", "hidden_size": "768"})"), f, "\"hidden_size\"", "integer", "string");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "bert", "hidden_size": 768.5})"), f, "\"hidden_size\"", "768.5");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "bert", "num_hidden_layers": -1})"), f, "\"num_hidden_layers\"", "-1");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "bert", "layer_norm_eps": "1e-12"})"), f, "\"layer_norm_eps\"", "number");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "bert", "hidden_act": 5})"), f, "\"hidden_act\"", "string");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "llama", "tie_word_embeddings": "no"})"), f, "\"tie_word_embeddings\"");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "llama", "architectures": "LlamaForCausalLM"})"), f, "\"architectures\"");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "bert", "pad_token_id": "0"})"), f, "\"pad_token_id\"");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "bert", "hidden_size": 100, "num_attention_heads": 12})"), f,
                    "hidden size 100", "12 attention heads");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "gpt2", "n_embd": 100, "n_head": 3})"), f, "hidden size 100", "3");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "llama", "num_attention_heads": 32, "num_key_value_heads": 5})"), f,
                    "num_key_value_heads (5)", "32");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "llama", "num_hidden_layers": 1000000000000})"), f, "implausibly");
  const std::string deep = std::string(300000, '[') + std::string(300000, ']');
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "bert", "extra": )" + deep + "}"), f, "nests deeper");
}

TEST_CASE("model_config: load_config reads files and folders, and rejects malformed JSON") {
  temp_dir d;
  io_test::write_bytes(d.file("config.json"), gpt2_small);
  CHECK(load_config(d.path.string()).family == gpt2);
  CHECK(load_config(d.file("config.json")).hidden_size == 768);

  const std::string bad = d.file("broken.json");
  io_test::write_bytes(bad, R"({"model_type": "bert", "hidden_size": 768,)");
  CHECK_ERROR_NAMES(format_error_of([&] { load_config(bad); }), bad, "not valid JSON");
  io_test::write_bytes(bad, R"({"model_type": "bart"})");
  CHECK_ERROR_NAMES(format_error_of([&] { load_config(bad); }), bad, "\"bart\"");
  io_test::write_bytes(bad, R"({"model_type": "bert", "intermediate_size": [3072]})");
  CHECK_ERROR_NAMES(format_error_of([&] { load_config(bad); }), bad, "\"intermediate_size\"", "array");
  try {
    load_config(d.file("missing.json"));
    FAIL("expected file_error");
  } catch (const file_error& e) {
    CHECK(io_test::contains(e.what(), d.file("missing.json")));
  }
}

TEST_CASE("model_config: to_json writes each family's stock spelling and keeps unknown keys") {
  const json g = to_json(parse(gpt2_small));
  for (const char* k : {"n_embd", "n_layer", "n_head", "n_positions", "layer_norm_epsilon", "activation_function"})
    CHECK_MESSAGE(g.contains(k), k);
  for (const char* k : {"hidden_size", "num_hidden_layers", "num_attention_heads", "per_layer_config", "id2label"})
    CHECK_MESSAGE(!g.contains(k), k);
  CHECK(g["n_inner"].is_null());
  CHECK(g["task_specific_params"]["text-generation"]["max_length"] == 50);  // unknown keys round-trip
  CHECK(g["n_ctx"] == 1024);

  const json b = to_json(parse(bert_base_uncased));
  CHECK(b == [] {
    json expect = json::parse(bert_base_uncased);
    expect["tie_word_embeddings"] = true;  // the only key added: written explicitly
    expect["bos_token_id"] = nullptr;
    expect["eos_token_id"] = nullptr;
    return expect;
  }());

  const json l = to_json(parse(llama2_7b));
  CHECK(l["rms_norm_eps"] == 1e-5);
  CHECK(l["num_key_value_heads"] == 32);
  CHECK(l["rope_theta"] == 10000.0);
  CHECK_FALSE(l.contains("head_dim"));  // implied by hidden / heads, as in the stock file
  CHECK(l["torch_dtype"] == "float16");
}

TEST_CASE("model_config: parse(to_json(c)) == c for every family, per-layer sizes included") {
  std::vector<model_config> cases;
  for (const char* text : {bert_base_uncased, roberta_base, gpt2_small, llama2_7b, llama3_8b_instruct, qwen2_0_5b, qwen2_7b_instruct,
                           mistral_7b_v01, mistral_7b_v03})
    cases.push_back(parse(text));

  auto qwen = parse(qwen2_7b_instruct);  // pruned: groups, FFN, a skipped MLP, windows on the upper layers
  qwen.layers[3].heads = 14;
  qwen.layers[3].kv_heads = 2;
  qwen.layers[5].intermediate = 9000;
  qwen.layers[6].has_mlp = false;
  for (std::size_t i = 20; i < qwen.layers.size(); ++i) qwen.layers[i].window = 1024;
  cases.push_back(qwen);
  auto mis = parse(mistral_7b_v01);
  mis.layers[0].kv_heads = 2;
  mis.layers[0].heads = 8;
  mis.layers[31].has_attention = false;
  for (auto& l : mis.layers) l.window = 2048;
  cases.push_back(mis);

  auto bert = parse(bert_base_uncased);  // pruned: heads, FFN, a skipped attention
  bert.layers[0].heads = bert.layers[0].kv_heads = 9;
  bert.layers[3].intermediate = 1234;
  bert.layers[11].has_attention = false;
  bert.id2label = {"neg", "pos", "neutral"};
  bert.num_labels = 3;
  bert.problem_type = "single_label_classification";
  cases.push_back(bert);

  auto rob = parse(roberta_base);
  rob.layers[5].has_mlp = false;
  rob.pad_token_id = -1;  // differs from RobertaConfig's default: must be written as null
  cases.push_back(rob);

  auto gpt = parse(gpt2_small);
  gpt.layers[2].heads = gpt.layers[2].kv_heads = 4;
  gpt.layers[7].intermediate = 2048;
  gpt.intermediate_size = 3000;  // n_inner no longer implied
  for (auto& L : gpt.layers)
    if (L.intermediate == 3072) L.intermediate = 3000;
  cases.push_back(gpt);

  auto llama = parse(llama3_8b_instruct);
  llama.layers[1].kv_heads = 4;
  llama.layers[2].heads = 16;
  llama.layers[2].kv_heads = 2;
  llama.layers[3].intermediate = 7000;
  llama.layers[30] = layer_sizes{32, 8, 14336, false, false};
  llama.rope_theta = 123456.5;
  llama.norm_eps = 1e-6;
  cases.push_back(llama);

  auto pruned = parse(R"({"model_type": "gpt2", "n_layer": 4, "n_head": 4, "n_embd": 64, "pruned_heads": {"0": [1], "1": [2, 3]}})");
  cases.push_back(pruned);

  for (const auto& c : cases) {
    CAPTURE(c.model_type);
    const json j = to_json(c);
    const model_config back = parse_config(j, "round trip");
    CHECK(back == c);
    CHECK(to_json(back) == j);
    CHECK_FALSE(j.contains("pruned_heads"));
  }

  const json pj = to_json(pruned);  // pruned heads become per-layer head counts
  CHECK(pj["per_layer_config"] == json{{"0", {{"n_head", 3}}}, {"1", {{"n_head", 2}}}});
  const json lj = to_json(llama);
  CHECK(lj["per_layer_config"]["2"] == json{{"num_attention_heads", 16}, {"num_key_value_heads", 2}});
  CHECK(lj["per_layer_config"]["30"]["skip"] == json::array({"attention", "mlp"}));
  CHECK(lj["per_layer_config"].size() == 4);

  temp_dir d;
  save_config(d.file("config.json"), llama);
  CHECK(load_config(d.path.string()) == llama);
}

TEST_CASE("model_config: to_json refuses configs it cannot express") {
  auto c = parse(bert_base_uncased);
  c.layers.pop_back();
  CHECK_ERROR_NAMES(format_error_of([&] { to_json(c); }), "11 layer entries", "12");
  c = parse(bert_base_uncased);
  c.layers[4].kv_heads = 3;
  CHECK_ERROR_NAMES(format_error_of([&] { to_json(c); }), "layer 4");
}

TEST_CASE("model_config: a pruned hidden size keeps its head_dim through to_json (vtrans extension)") {
  auto c = parse(gpt2_small);
  c.hidden_size = 700;  // hidden units removed, heads of 64 kept
  const json j = to_json(c);
  CHECK(j["head_dim"] == 64);
  CHECK(parse_config(j, "x") == c);
  auto b = parse(bert_base_uncased);
  b.hidden_size = 512;
  CHECK(parse_config(to_json(b), "x") == b);
  CHECK_FALSE(to_json(parse(bert_base_uncased)).contains("head_dim"));
}

TEST_CASE("model_config: use_most_common_layer_sizes makes uniform pruning a stock config") {
  auto c = parse(llama2_7b);
  for (auto& L : c.layers) L = layer_sizes{16, 16, 5000, true, true};
  c.layers[3].intermediate = 4000;
  CHECK(to_json(c)["per_layer_config"].size() == 32);
  use_most_common_layer_sizes(c);
  CHECK(c.num_heads == 16);
  CHECK(c.num_kv_heads == 16);
  CHECK(c.intermediate_size == 5000);
  const json j = to_json(c);
  CHECK(j["per_layer_config"] == json{{"3", {{"intermediate_size", 4000}}}});
  CHECK(j["head_dim"] == 128);  // no longer hidden / heads, so written
  CHECK(parse_config(j, "x") == c);

  auto b = parse(bert_base_uncased);  // BERT keeps its global heads (they fix head_dim)
  for (auto& L : b.layers) L.heads = L.kv_heads = 8;
  use_most_common_layer_sizes(b);
  CHECK(b.num_heads == 12);
}

TEST_CASE("model_config: sizes are checked against limits before anything is sized by them") {
  const std::string f = "test/config.json";
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "llama", "num_hidden_layers": 0})"), f, "\"num_hidden_layers\"", "at least 1", "got 0");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "bert", "layer_norm_eps": -1e-12})"), f, "\"layer_norm_eps\"", "positive finite");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "bert", "layer_norm_eps": 0})"), f, "\"layer_norm_eps\"", "positive finite");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "llama", "rms_norm_eps": -1})"), f, "\"rms_norm_eps\"", "positive finite");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "bert", "vocab_size": 100000000})"), f, "\"vocab_size\"", "100000000",
                    "limit of 16777216");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "llama", "intermediate_size": 1099511627775})"), f, "\"intermediate_size\"",
                    "limit of 1048576");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "llama", "intermediate_size": 1099511627777})"), f, "\"intermediate_size\"",
                    "implausibly");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "gpt2", "n_embd": 262144, "n_head": 2})"), f, "\"n_embd\"", "limit of 131072");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "gpt2", "n_positions": 100000000})"), f, "\"n_positions\"", "limit");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "llama", "head_dim": 1000000})"), f, "\"head_dim\"", "limit");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "llama", "num_hidden_layers": 2,
                                    "per_layer_config": {"1": {"intermediate_size": 1099511627776}}})"),
                    f, "per_layer_config[\"1\"].intermediate_size", "[0, 1048576]");
  CHECK_ERROR_NAMES(parse_error(R"({"model_type": "llama", "num_hidden_layers": 2,
                                    "per_layer_config": {"0": {"num_attention_heads": 100000}}})"),
                    f, "per_layer_config[\"0\"].num_attention_heads", "[0, 16384]");
  // The largest published sizes stay accepted.
  CHECK_NOTHROW(parse_config(nlohmann::json::parse(R"({"model_type": "llama", "vocab_size": 256000, "hidden_size": 16384,
      "num_attention_heads": 128, "num_key_value_heads": 8, "intermediate_size": 53248, "num_hidden_layers": 126,
      "max_position_embeddings": 1048576})")));
}
