// vtrans logits --model DIR --ids-file FILE --output OUT.npy: run a checkpoint on token ids.
#include <boost/program_options.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "command.hpp"
#include "load_model.hpp"
#include "logits_job.hpp"
#include "vtrans/io/atomic_file.hpp"
#include "vtrans/io/npy.hpp"
#include "vtrans/tensor/cpu.hpp"

namespace po = boost::program_options;
using namespace vtrans;

namespace {

// One sequence of whitespace-separated integers per line, every line of the same length.
std::vector<std::vector<std::int32_t>> read_id_rows(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::vector<std::vector<std::int32_t>> rows;
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    std::istringstream s(line);
    std::vector<std::int32_t> row;
    std::string tok;
    while (s >> tok) {
      std::size_t used = 0;
      long long v = 0;
      try {
        v = std::stoll(tok, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != tok.size() || v < INT32_MIN || v > INT32_MAX)
        throw std::runtime_error(path + ":" + std::to_string(n) + ": \"" + tok + "\" is not an integer id");
      row.push_back(static_cast<std::int32_t>(v));
    }
    if (row.empty()) continue;
    if (!rows.empty() && row.size() != rows[0].size())
      throw std::runtime_error(path + ":" + std::to_string(n) + ": " + std::to_string(row.size()) + " ids, but line 1 has " +
                               std::to_string(rows[0].size()) + " (all sequences must have one length)");
    rows.push_back(std::move(row));
  }
  if (rows.empty()) throw std::runtime_error(path + ": no sequences");
  return rows;
}

std::vector<std::int32_t> flatten(const std::vector<std::vector<std::int32_t>>& rows) {
  std::vector<std::int32_t> out;
  for (const auto& r : rows) out.insert(out.end(), r.begin(), r.end());
  return out;
}

int run(int argc, char** argv) {
  std::string model_dir, ids_file, mask_file, types_file, output, dtype = "auto";
  cli::device_args device;
  po::options_description opts("vtrans logits: run a model on token ids and write its outputs as .npy");
  opts.add_options()("help,h", "show this help")("model", po::value(&model_dir)->required(), "model folder (config.json + safetensors)")(
      "ids-file", po::value(&ids_file)->required(), "one sequence of whitespace-separated token ids per line, all of one length")(
      "mask-file", po::value(&mask_file), "attention mask rows (1 token, 0 padding) in the same layout; default all 1")(
      "token-types-file", po::value(&types_file), "token type rows (BERT segments) in the same layout; default all 0")(
      "dtype", po::value(&dtype), cli::matrix_dtype_help)(
      "output", po::value(&output)->required(),
      "float32 .npy: [batch, seq, vocab] for LM heads, [batch, labels] for sequence classification, [batch, seq, labels] for "
      "token classification, [batch, seq, hidden] for base models");
  cli::add_device_options(opts, device);
  po::variables_map vm;
  if (!cli::parse_options(argc, argv, opts, vm)) return 0;
  const cli::device_kind where = cli::choose_device(device);
  nn::load_options load = nn::load_options::from_environment();
  load.matrices = cli::parse_matrix_dtype(dtype);
  const auto rows = read_id_rows(ids_file);
  nn::batch_input in;
  in.batch = vtrans::index(rows.size());
  in.seq = vtrans::index(rows[0].size());
  in.ids = flatten(rows);
  auto same_layout = [&](const std::string& path) {
    auto r = read_id_rows(path);
    if (r.size() != rows.size() || r[0].size() != rows[0].size())
      throw std::runtime_error(path + ": layout differs from " + ids_file);
    return flatten(r);
  };
  if (!mask_file.empty()) in.attention_mask = same_layout(mask_file);
  if (!types_file.empty()) in.token_type_ids = same_layout(types_file);
  // Refused before the model is loaded: an unwritable output, ids outside its tables, too long rows.
  io::check_output_file(output, "--output");
  const io::model_config config = io::load_config((std::filesystem::path(model_dir) / "config.json").string());
  cli::check_model_input(config, in.ids, in.token_type_ids, in.seq, ids_file);

  const auto out = where == cli::device_kind::cuda ? cli::logits_on_cuda(model_dir, load, in)
                                                                       : cli::compute_logits<cpu>(model_dir, load, in);
  io::write_npy(output, out.dims, out.values);
  std::cerr << "wrote " << output << " " << shape::from_range(out.dims.begin(), out.dims.end()).str() << "\n";
  return 0;
}

const bool registered = cli::add("logits", "run a model on token ids, write its outputs as .npy", run);

}  // namespace
