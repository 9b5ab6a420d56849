// vtrans export --model DIR --format gguf|onnx|hf --dtype f32|f16|bf16 [--quant q8_0] --out PATH:
// a model (pruned or not) in the format of the runtime it is deployed on.
#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "command.hpp"
#include "vtrans/export/to_gguf.hpp"
#include "vtrans/export/to_onnx.hpp"
#include "vtrans/nn/copy_weights.hpp"
#include "vtrans/nn/load.hpp"
#include "vtrans/nn/save.hpp"
#include "vtrans/tensor/cpu.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace vtrans;

namespace {

struct export_args {
  std::string model, format, dtype = "f32", quant, tokenizer, out;
};

std::string size_text(std::uintmax_t bytes) {
  char buf[32];
  if (bytes >= (1u << 20)) std::snprintf(buf, sizeof buf, "%.1f MiB", double(bytes) / (1 << 20));
  else std::snprintf(buf, sizeof buf, "%.1f KiB", double(bytes) / 1024);
  return buf;
}

template <class V>
std::string joined(const V& values, const char* separator = " ") {
  std::ostringstream s;
  for (const auto& v : values) s << (s.tellp() > 0 ? separator : "") << v;
  return s.str();
}

template <class Model>
void export_gguf(const Model& model, const export_args& a) {
  exports::gguf_options opt;
  opt.weights = a.dtype == "f16" ? io::ggml_type::f16 : a.dtype == "bf16" ? io::ggml_type::bf16 : io::ggml_type::f32;
  opt.q8_0 = a.quant == "q8_0";
  opt.name = fs::path(a.model).filename().string();
  if (opt.name.empty()) opt.name = fs::path(a.model).parent_path().filename().string();
  exports::plan_gguf(model.config(), model.head());  // can llama.cpp run it at all? (before asking for a tokenizer)
  const std::string tokenizer = a.tokenizer.empty() ? a.model : a.tokenizer;
  exports::gguf_vocab vocab;
  try {
    vocab = exports::read_gguf_vocab(tokenizer, model.config().vocab_size);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string(e.what()) + " (a GGUF file carries the tokenizer; --tokenizer DIR names another folder)");
  }
  const auto s = exports::write_gguf(model, vocab, opt, a.out);
  std::vector<std::string> ffn;
  for (std::size_t b = 0; b < s.ffn.size(); ++b) ffn.push_back(std::to_string(s.ffn[b]) + (model.config().layers[s.layers[b]].has_mlp ? "" : "*"));
  std::vector<std::string> types;
  for (const auto& [t, n] : s.tensor_types) types.push_back(t + " " + std::to_string(n));
  std::cout << "wrote " << a.out << " (" << size_text(fs::file_size(a.out)) << "): llama.cpp architecture " << s.arch << ", " << s.layers.size()
            << (s.layers.size() == 1 ? " block" : " blocks") << "\n"
            << "  layers      " << joined(s.layers) << "\n"
            << "  heads       " << joined(s.heads) << "\n"
            << "  kv heads    " << joined(s.kv_heads) << "\n"
            << "  ffn         " << joined(ffn) << "\n"
            << "  tensors     " << joined(types) << "\n"
            << "  tokenizer   " << vocab.model << ", " << vocab.tokens.size() << " tokens" << (vocab.merges.empty() ? "" : ", " + std::to_string(vocab.merges.size()) + " merges")
            << "\n";
  if (s.placeholder_ffn) std::cout << "  * no FFN: written as one zero neuron (llama.cpp's deci graph would skip the whole layer)\n";
  if (s.placeholder_attention) std::cout << "  first block without attention: written with one zero key/value head (llama.cpp reads the head size there)\n";
  for (const auto& n : s.notes) std::cout << "  note: " << n << "\n";
}

template <class Model>
void export_onnx(const Model& model, const export_args& a) {
  exports::onnx_options opt;
  opt.matrices = a.dtype == "f16" ? io::onnx::element::float16 : a.dtype == "bf16" ? io::onnx::element::bfloat16 : io::onnx::element::float32;
  const auto m = exports::onnx_model(model, opt);
  io::onnx::write_model(a.out, m);
  std::vector<std::string> inputs;
  for (const auto& i : m.inputs) inputs.push_back(i.name);
  const auto& out = m.outputs.front();
  std::vector<std::string> dims;
  for (const auto& d : out.dims) dims.push_back(std::holds_alternative<std::string>(d) ? std::get<std::string>(d) : std::to_string(std::get<std::int64_t>(d)));
  std::cout << "wrote " << a.out << " (" << size_text(fs::file_size(a.out)) << "): " << m.graph_name << ", opset " << m.opset << ", "
            << m.nodes.size() << " nodes, " << m.initializers.size() << " initializers\n"
            << "  inputs      " << joined(inputs) << " (int64 [batch_size, sequence_length])\n"
            << "  output      " << out.name << " [" << joined(dims, ", ") << "]\n";
}

// config.json and model.safetensors, plus the folder's other files (tokenizer, training arguments)
template <class Model>
void export_hf(const Model& model, const export_args& a) {
  if (a.dtype == "f32") nn::save_pretrained(model, a.out);
  else nn::save_pretrained(nn::with_matrices(model, a.dtype == "bf16" ? nn::matrix_dtype::bf16 : nn::matrix_dtype::f16), a.out);
  for (const auto& e : fs::directory_iterator(a.model)) {
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file() || name == "config.json" || name.find(".safetensors") != std::string::npos) continue;
    fs::copy_file(e.path(), fs::path(a.out) / name, fs::copy_options::overwrite_existing);
  }
  std::cout << "wrote " << a.out << ": config.json, model.safetensors and the model folder's other files\n";
}

void check_combination(const export_args& a) {
  if (a.format != "gguf" && a.format != "onnx" && a.format != "hf") throw vtrans::usage_error("--format must be gguf, onnx or hf, not " + a.format);
  if (a.dtype != "f32" && a.dtype != "f16" && a.dtype != "bf16") throw vtrans::usage_error("--dtype must be f32, f16 or bf16, not " + a.dtype);
  if (!a.quant.empty() && a.quant != "q8_0") throw vtrans::usage_error("--quant must be q8_0, not " + a.quant);
  if (!a.quant.empty() && a.format != "gguf") throw vtrans::usage_error("--quant q8_0 is a GGUF type; ONNX and Hugging Face folders hold floats");
  if (!a.tokenizer.empty() && a.format != "gguf") throw vtrans::usage_error("--tokenizer is for --format gguf (the file carries the tokenizer)");
}

int run(int argc, char** argv) {
  export_args a;
  po::options_description opts(
      "vtrans export: write a model (pruned or not) for the runtime it is deployed on\n"
      "  gguf  llama.cpp: LLaMA (per-layer sizes as the deci architecture) and uniform GPT-2 LMs, with the tokenizer\n"
      "  onnx  ONNX Runtime: BERT, RoBERTa and GPT-2 with their heads, dynamic batch and sequence axes\n"
      "  hf    a Hugging Face folder (per_layer_config for per-layer sizes)");
  opts.add_options()("help,h", "show this help")("model", po::value(&a.model)->required(), "model folder (config.json + safetensors)")(
      "format", po::value(&a.format)->required(), "gguf, onnx or hf")("dtype", po::value(&a.dtype)->default_value(a.dtype),
                                                                      "weight matrices as f32, f16 or bf16 (norms and biases stay f32; hf: the layers' matrices)")(
      "quant", po::value(&a.quant), "q8_0: GGUF matrices whose rows are a multiple of 32 values, the others as --dtype")(
      "tokenizer", po::value(&a.tokenizer), "GGUF: the tokenizer's folder (default: the model folder)")(
      "out", po::value(&a.out)->required(), "the .gguf or .onnx file, or the folder for hf");
  po::variables_map vm;
  if (!cli::parse_options(argc, argv, opts, vm)) return 0;
  check_combination(a);
  const auto config = io::load_config((fs::path(a.model) / "config.json").string());
  return nn::with_family(config.family, [&](auto family) {
    using F = decltype(family);
    const auto model = nn::load_pretrained<F>(a.model);
    if (a.format == "gguf") export_gguf(model, a);
    else if (a.format == "onnx") export_onnx(model, a);
    else export_hf(model, a);
    return 0;
  });
}

const bool registered = cli::add("export", "write a model as GGUF (llama.cpp), ONNX or a Hugging Face folder", run);

}  // namespace
