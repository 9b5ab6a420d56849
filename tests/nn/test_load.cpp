// Loading straight into the model: no random initialisation of what a checkpoint overwrites, a
// memory cap that refuses a checkpoint before anything is allocated, sizes parsed strictly, and
// layer matrices kept in 16 bits giving the logits of the fp32 load.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "reference/golden_models.hpp"
#include "vtrans/io/make_config.hpp"
#include "vtrans/nn/copy_weights.hpp"
#include "vtrans/nn/load.hpp"
#include "vtrans/nn/save.hpp"
#include "vtrans/tensor/cpu.hpp"

using namespace vtrans;

namespace {
const std::string models_dir = vtrans_test::models_dir();

// A BERT classifier large enough that its matrices come from the cpu block cache (>= 64 KiB each).
std::string write_mid_sized_bert() {
  const std::string dir = (std::filesystem::temp_directory_path() / "vtrans_test_load_bert").string();
  io::fresh_model m;
  m.vocab_size = 1000;
  m.hidden_size = 128;
  m.intermediate_size = 512;
  m.labels = {"a", "b"};
  nn::transformer<nn::bert> model(io::make_config(io::family(nn::bert::spec), m), nn::head_kind::sequence_classification, 7);
  nn::save_pretrained(model, dir);
  return dir;
}

// The golden folder's checkpoint with every floating tensor rounded to BF16, written as a BF16
// safetensors file beside a copy of its config.json.
std::string write_bf16_copy(const std::string& name) {
  namespace fs = std::filesystem;
  const std::string from = models_dir + name, to = (fs::temp_directory_path() / ("vtrans_test_bf16_" + name)).string();
  fs::create_directories(to);
  fs::copy_file(from + "/config.json", to + "/config.json", fs::copy_options::overwrite_existing);
  const io::checkpoint_reader reader(from);
  nlohmann::json header = nlohmann::json::object();
  std::string bytes;
  for (const auto& t : reader.names_in_file_order()) {
    if (!io::is_floating(reader.info(t).dtype)) continue;  // integer buffers: not parameters
    const std::size_t begin = bytes.size();
    for (float v : reader.read<float>(t)) {
      const std::uint16_t b = bf16::from_float(v).bits;
      bytes += char(b & 0xff);
      bytes += char(b >> 8);
    }
    header[t] = {{"dtype", "BF16"}, {"shape", reader.info(t).shape}, {"data_offsets", {begin, bytes.size()}}};
  }
  std::string h = header.dump();
  h.resize((h.size() + 7) / 8 * 8, ' ');
  std::ofstream out(to + "/model.safetensors", std::ios::binary);
  for (int i = 0; i < 8; ++i) out.put(char((std::uint64_t(h.size()) >> (8 * i)) & 0xff));
  out << h << bytes;
  return to;
}

nn::batch_input golden_batch(const std::string& dir) {
  const auto rows = [](const std::string& path) {
    std::vector<std::int32_t> flat;
    std::ifstream in(path);
    vtrans::index n = 0;
    for (std::string line; std::getline(in, line);) {
      std::istringstream s(line);
      bool any = false;
      for (long v; s >> v; any = true) flat.push_back(static_cast<std::int32_t>(v));
      n += any;
    }
    return std::make_pair(n, flat);
  };
  nn::batch_input in;
  auto [batch, ids] = rows(dir + "/input_ids.txt");
  in.batch = batch;
  in.seq = vtrans::index(ids.size()) / batch;
  in.ids = ids;
  in.attention_mask = rows(dir + "/attention_mask.txt").second;
  if (std::filesystem::exists(dir + "/token_type_ids.txt")) in.token_type_ids = rows(dir + "/token_type_ids.txt").second;
  return in;
}

// max |a - b| / (1 + |b|) over the logits of two models on the golden inputs of `golden`
template <class A, class Bm>
double logit_difference(const A& a, const Bm& b, const std::string& golden) {
  const auto in = golden_batch(golden);
  autodiff::no_record guard;
  const auto x = a.forward(in).logits.value().to_host(), y = b.forward(in).logits.value().to_host();
  REQUIRE(x.size() == y.size());
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(double(x[i]) - y[i]) / (1.0 + std::abs(double(y[i]))));
  return worst;
}

std::uint64_t block_cache_in_use() { return cpu_detail::block_cache::instance().stats().in_use; }
}  // namespace

TEST_CASE("a model loaded from a checkpoint draws no random numbers for its parameters") {
  for (const auto& name : vtrans_test::golden_models()) {
    INFO("model " << name);
    const std::string dir = models_dir + name;
    const auto config = io::load_config(dir + "/config.json");
    const auto head = nn::head_from_architectures(config.family, config.architectures, dir);
    // the counter sees the draws of a freshly initialised model of the same config ...
    const std::uint64_t before_fresh = nn::parameter_draws;
    const nn::transformer<nn::any_family> fresh(config, head);
    CHECK(nn::parameter_draws - before_fresh > 0);
    // ... and none while loading
    const std::uint64_t before = nn::parameter_draws;
    const auto loaded = nn::load_pretrained<nn::any_family>(dir);
    CHECK(nn::parameter_draws == before);
    CHECK(loaded.parameter_count() == fresh.parameter_count());
  }
}

TEST_CASE("loading fills every parameter with the checkpoint's values, read once into the model") {
  const std::string dir = write_mid_sized_bert();
  const io::checkpoint_reader reader(dir);
  const std::uint64_t in_use = block_cache_in_use();
  const auto model = nn::load_pretrained<nn::bert>(dir);
  // the model's own tensors and nothing else stay allocated
  std::uint64_t model_bytes = 0;
  for (const auto& [name, p] : model.parameters())
    if (p.numel() * vtrans::index(sizeof(float)) >= vtrans::index(cpu_detail::block_cache::min_cached)) model_bytes += (std::uint64_t(p.numel()) * 4 + 4095) / 4096 * 4096;
  CHECK(block_cache_in_use() - in_use == model_bytes);
  for (const auto& [name, p] : model.parameters()) {
    INFO(name);
    const auto want = reader.read<float>(reader.has(name) ? name : "bert." + name);
    CHECK(p.value().to_host() == want);
  }
}

TEST_CASE("a checkpoint bigger than the memory cap is refused before anything is allocated") {
  const std::string dir = write_mid_sized_bert();
  const io::checkpoint_reader reader(dir);
  const auto config = io::load_config(dir + "/config.json");
  const std::uint64_t need = nn::bytes_to_load(reader, config, sizeof(float));
  CHECK(need > 4 * 1000 * 128);  // at least the word embeddings

  nn::load_options cap;
  cap.memory_cap = need - 1;
  const std::uint64_t in_use = block_cache_in_use();
  const auto segments = cpu_detail::block_cache::instance().stats().segments_allocated;
  CHECK_THROWS_WITH_AS(nn::load_pretrained<nn::bert>(dir, cap), doctest::Contains((dir + "/model.safetensors: its tensors take " + std::to_string(need) + " bytes").c_str()),
                       resource_error);
  CHECK_THROWS_WITH_AS(nn::load_pretrained<nn::bert>(dir, cap), doctest::Contains(("more than the memory cap of " + std::to_string(need - 1)).c_str()), resource_error);
  CHECK(block_cache_in_use() == in_use);
  CHECK(cpu_detail::block_cache::instance().stats().segments_allocated == segments);

  cap.memory_cap = need;  // exactly enough
  CHECK(nn::load_pretrained<nn::bert>(dir, cap).parameter_count() * 4 == vtrans::index(need));

  // the same cap from the environment
  ::setenv(nn::memory_cap_variable, "1K", 1);
  CHECK_THROWS_WITH_AS(nn::load_pretrained<nn::bert>(dir), doctest::Contains("memory cap of 1024 bytes (VTRANS_MEMORY_CAP)"), resource_error);
  ::setenv(nn::memory_cap_variable, "lots", 1);
  CHECK_THROWS_WITH_AS(nn::load_pretrained<nn::bert>(dir), doctest::Contains("VTRANS_MEMORY_CAP: \"lots\" is not a size"), usage_error);
  ::unsetenv(nn::memory_cap_variable);
  CHECK(nn::load_pretrained<nn::bert>(dir).parameter_count() * 4 == vtrans::index(need));
}

TEST_CASE("a config that disagrees with its checkpoint is refused by load_pretrained before the model is allocated") {
  namespace fs = std::filesystem;
  const std::string dir = write_mid_sized_bert(), edited = (fs::temp_directory_path() / "vtrans_test_load_edited").string();
  fs::remove_all(edited);
  fs::copy(dir, edited, fs::copy_options::recursive);
  auto j = nlohmann::json::parse(std::ifstream(edited + "/config.json"));
  j["intermediate_size"] = 1 << 20;  // 4 GiB per FFN matrix if it were allocated
  std::ofstream(edited + "/config.json") << j.dump();
  const auto segments = cpu_detail::block_cache::instance().stats().segments_allocated;
  CHECK_THROWS_WITH_AS(nn::load_pretrained<nn::bert>(edited),
                       doctest::Contains("intermediate.dense.weight has shape [512, 128], but "), format_error);
  CHECK_THROWS_WITH_AS(nn::load_pretrained<nn::any_family>(edited), doctest::Contains("(layer 0: intermediate_size 1048576, hidden_size 128) implies [1048576, 128]"), format_error);
  CHECK(cpu_detail::block_cache::instance().stats().segments_allocated == segments);
  fs::remove_all(edited);
}

TEST_CASE("memory sizes: bytes or K, M, G, T in powers of 1024") {
  CHECK(nn::parse_memory_size("512", "x") == 512);
  CHECK(nn::parse_memory_size("1.5K", "x") == 1536);
  CHECK(nn::parse_memory_size("2MiB", "x") == (std::uint64_t(2) << 20));
  CHECK(nn::parse_memory_size("8g", "x") == (std::uint64_t(8) << 30));
  CHECK(nn::parse_memory_size("3TB", "x") == (std::uint64_t(3) << 40));
  for (const char* bad : {"", "-1", " 5", "5X", "5KK", "inf", "nan", "G", "1e30T"}) {
    INFO(bad);
    CHECK_THROWS_WITH_AS(nn::parse_memory_size(bad, "--memory-cap"), doctest::Contains(("--memory-cap: \"" + std::string(bad) + "\" is not a size").c_str()), usage_error);
  }
}

TEST_CASE("tensors are read in file order, and their pages can be given back and read again") {
  const io::checkpoint_reader reader(models_dir + "llama-sharded");
  const auto order = reader.names_in_file_order();
  REQUIRE(order.size() == reader.names().size());
  for (std::size_t i = 1; i < order.size(); ++i) {
    const auto& a = reader.info(order[i - 1]);
    const auto& b = reader.info(order[i]);
    const bool same_shard = reader.shard_path(order[i - 1]) == reader.shard_path(order[i]);
    if (same_shard) CHECK(a.end <= b.begin);
  }
  for (const auto& name : order) {
    const auto first = reader.read<float>(name);
    reader.release(name);
    CHECK(reader.read<float>(name) == first);
  }
}

TEST_CASE("a BF16 checkpoint with its layer matrices kept in 16 bits gives the logits of the fp32 load") {
  // Same weights (BF16 widens exactly), only the products' blocking differs: 1e-5 relative.
  nn::load_options as_stored;
  as_stored.matrices = nn::matrix_dtype::as_stored;
  for (const auto& name : vtrans_test::golden_models()) {
    INFO("model " << name);
    const std::string dir = write_bf16_copy(name);
    const auto wide = nn::load_pretrained<nn::any_family>(dir);
    const auto half = nn::load_pretrained<nn::any_family>(dir, as_stored);
    CHECK(wide.matrices() == nn::matrix_dtype::compute);
    CHECK(half.matrices() == nn::matrix_dtype::bf16);
    CHECK(!half.frozen_matrices().empty());
    CHECK(half.parameter_count() == wide.parameter_count());
    const double d = logit_difference(half, wide, models_dir + name);
    MESSAGE(name << ": bf16 matrices vs fp32, max scaled logit difference " << d);
    CHECK(d <= 1e-5);
    std::filesystem::remove_all(dir);
  }
}

TEST_CASE("16-bit matrices from an F16 checkpoint, and an F32 checkpoint rounded to BF16 on loading") {
  nn::load_options o;
  o.matrices = nn::matrix_dtype::as_stored;
  const std::string f16_dir = models_dir + "gpt2-f16";  // GPT-2: Conv1D matrices transposed in 16 bits
  const auto half = nn::load_pretrained<nn::any_family>(f16_dir, o);
  CHECK(half.matrices() == nn::matrix_dtype::f16);
  CHECK(logit_difference(half, nn::load_pretrained<nn::any_family>(f16_dir), f16_dir) <= 1e-5);

  // an F32 checkpoint: as_stored keeps fp32; asking for bf16 rounds every matrix to 8 significant
  // bits, and the logits move by that rounding (0.078 scaled on this small random model)
  const std::string f32_dir = models_dir + "llama-gqa";
  CHECK(nn::load_pretrained<nn::any_family>(f32_dir, o).matrices() == nn::matrix_dtype::compute);
  o.matrices = nn::matrix_dtype::bf16;
  const auto rounded = nn::load_pretrained<nn::any_family>(f32_dir, o);
  const double d = logit_difference(rounded, nn::load_pretrained<nn::any_family>(f32_dir), f32_dir);
  MESSAGE("llama-gqa: matrices rounded to bf16 vs fp32, max scaled logit difference " << d);
  CHECK(d > 0);
  CHECK(d <= 0.1);

  // 16-bit matrices count 2 bytes against the memory cap
  const io::checkpoint_reader reader(f32_dir);
  const auto config = io::load_config(f32_dir + "/config.json");
  std::uint64_t matrices = 0;
  for (const auto& m : rounded.frozen_matrices()) matrices += std::uint64_t(m.shape.numel());
  CHECK(nn::bytes_to_load(reader, config, 4) - nn::bytes_to_load(reader, config, 4, nn::matrix_dtype::bf16) == 2 * matrices);
}

TEST_CASE("a model with 16-bit matrices is saved in 16 bits and loads back bit for bit") {
  nn::load_options as_stored;
  as_stored.matrices = nn::matrix_dtype::as_stored;
  namespace fs = std::filesystem;
  // BERT and LLaMA from a BF16 copy; GPT-2 from F16, whose Conv1D matrices are stored transposed
  for (const auto& [name, dir] : {std::pair<std::string, std::string>{"bert-cls", write_bf16_copy("bert-cls")},
                                  {"llama-gqa", write_bf16_copy("llama-gqa")},
                                  {"gpt2-f16", models_dir + "gpt2-f16"}}) {
    INFO(name);
    const auto half = nn::load_pretrained<nn::any_family>(dir, as_stored);
    REQUIRE(half.matrices() != nn::matrix_dtype::compute);
    const std::string saved = (fs::temp_directory_path() / ("vtrans_test_saved16_" + name)).string();
    nn::save_pretrained(half, saved);
    const io::checkpoint_reader reader(saved);
    std::size_t sixteen = 0;
    for (const auto& t : reader.names_in_file_order()) sixteen += reader.info(t).dtype != io::dtype::f32;
    CHECK(sixteen == half.frozen_matrices().size());  // the layer matrices, nothing else
    const auto back = nn::load_pretrained<nn::any_family>(saved, as_stored);
    CHECK(back.matrices() == half.matrices());
    CHECK(logit_difference(back, half, models_dir + name) == 0.0);
    // and through float: widening then rounding gives the same bits back
    const auto round_trip = nn::with_matrices(nn::with_matrices(half, nn::matrix_dtype::compute), half.matrices());
    CHECK(logit_difference(round_trip, half, models_dir + name) == 0.0);
    fs::remove_all(saved);
    if (name != "gpt2-f16") fs::remove_all(dir);
  }
}
