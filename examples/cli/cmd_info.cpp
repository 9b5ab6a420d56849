// vtrans info --model DIR: family, per-layer sizes, parameters and FLOPs per token.
#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <string>
#include <iostream>

#include "command.hpp"
#include "vtrans/io/config_check.hpp"
#include "vtrans/nn/heads.hpp"
#include "vtrans/prune/cost.hpp"
#include "vtrans/tensor/cpu.hpp"

namespace po = boost::program_options;
using namespace vtrans;

namespace {

std::string millions(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, v >= 1e6 ? "%.2fM" : "%.0f", v >= 1e6 ? v / 1e6 : v);
  return buf;
}

int run(int argc, char** argv) {
  std::string model;
  vtrans::index seq_len = 128;
  po::options_description opts("vtrans info: describe a Hugging Face model folder");
  opts.add_options()("help,h", "show this help")("model", po::value(&model)->required(), "model folder (config.json + safetensors)")(
      "seq-len", po::value(&seq_len)->default_value(128), "sequence length for the FLOPs count (attention grows with it)");
  po::variables_map vm;
  if (!cli::parse_options(argc, argv, opts, vm)) return 0;
  const auto c = io::check_model_folder(model);  // describe only a model whose weights agree with its config
  const auto head = nn::head_from_architectures(c.family, c.architectures, model + "/config.json");
  const auto m = prune::cost(c, head, seq_len);
  std::cout << "model        " << model << "\n"
            << "family       " << io::family_name(c.family) << " (" << nn::architecture_name(c.family, head) << ")\n"
            << "hidden       " << c.hidden_size << ", head_dim " << c.head_dim << ", vocab " << c.vocab_size << "\n"
            << "layers       " << c.num_layers << "\n";
  bool windows = false;  // a column of its own only for models with sliding windows
  for (const auto& l : c.layers) windows = windows || l.window > 0;
  std::cout << "  layer  heads  kv_heads  ffn    attention  mlp" << (windows ? "      window" : "") << "\n";
  for (std::size_t i = 0; i < c.layers.size(); ++i) {
    const auto& l = c.layers[i];
    std::printf("  %5zu  %5lld  %8lld  %5lld  %-9s  ", i, (long long)l.heads, (long long)l.kv_heads, (long long)l.intermediate,
                l.has_attention ? "yes" : "removed");
    const char* mlp = l.has_mlp ? "yes" : "removed";
    if (windows) std::printf("%-7s  %6s\n", mlp, l.window > 0 ? std::to_string(l.window).c_str() : "-");
    else std::printf("%s\n", mlp);
  }
  std::cout << "parameters   " << millions(double(m.total_params())) << " (" << m.total_params() << "; embeddings " << m.embedding_params
            << ", layers " << m.layer_params << ", head " << m.head_params << ")\n"
            << "FLOPs/token  " << millions(m.flops_per_token()) << " at sequence length " << seq_len << " (layers "
            << millions(m.layer_flops_per_token) << ", head " << millions(m.head_flops_per_token) << ")\n";
  return 0;
}

const bool registered = cli::add("info", "family, per-layer sizes, parameters and FLOPs of a model", run);

}  // namespace
