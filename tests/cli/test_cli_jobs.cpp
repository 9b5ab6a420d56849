// The program's model work (examples/cli/*_job.hpp) on thrust_backend<thrust_omp> against the
// same work on vtrans::cpu: logits, evaluation, training, pruning and probing. The CUDA build of
// the program instantiates these templates on vtrans::cuda (examples/cli/cuda/); this is where CI
// runs them on a backend other than cpu, end to end through folders, tokenizers and reports.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "../data_sets/run_cli.hpp"
#include "eval_job.hpp"
#include "logits_job.hpp"
#include "probe_job.hpp"
#include "prune_job.hpp"
#include "train_job.hpp"
#include "vtrans/io/npy.hpp"
#include "vtrans/tensor/cpu.hpp"
#include "vtrans/tensor/thrust_backend.hpp"

namespace fs = std::filesystem;
using namespace vtrans;
using omp = thrust_backend<thrust_omp>;

namespace {

const fs::path models = fs::path(VTRANS_TEST_DATA_DIR) / "models";

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  REQUIRE_MESSAGE(in, p.string());
  return nlohmann::json::parse(in);
}

// Every number of `got` within `tol` (scaled by 1 + |want|) of the one at the same place in
// `want`; other values equal; `skip` keys are left out (timings, the device's name).
void check_close(const nlohmann::json& got, const nlohmann::json& want, double tol, const std::string& where,
                 const std::vector<std::string>& skip = {}) {
  if (want.is_number() && got.is_number()) {
    const double g = got.get<double>(), w = want.get<double>();
    CHECK_MESSAGE(std::abs(g - w) <= tol * (1 + std::abs(w)), where << ": " << g << " vs " << w);
  } else if (want.is_object() && got.is_object()) {
    for (auto it = want.begin(); it != want.end(); ++it) {
      if (std::find(skip.begin(), skip.end(), it.key()) != skip.end()) continue;
      REQUIRE_MESSAGE(got.contains(it.key()), where << "." << it.key() << " is missing");
      check_close(got[it.key()], it.value(), tol, where + "." + it.key(), skip);
    }
  } else if (want.is_array() && got.is_array()) {
    REQUIRE_MESSAGE(got.size() == want.size(), where << ": " << got.size() << " vs " << want.size() << " entries");
    for (std::size_t i = 0; i < want.size(); ++i) check_close(got[i], want[i], tol, where + "[" + std::to_string(i) + "]", skip);
  } else {
    CHECK_MESSAGE(got == want, where << ": " << got.dump() << " vs " << want.dump());
  }
}

// A two-label TSV task and a three-layer teacher trained on it by the program (cpu), once.
struct teacher_fixture {
  vtrans_test::temp_dir tmp;
  fs::path data, teacher;
  teacher_fixture() {
    std::string rows;
    for (int i = 0; i < 48; ++i)
      rows += std::string(i % 2 ? "a bad awful dull day " : "a fine good bright day ") + std::to_string(i % 7) + "\t" + (i % 2 ? "neg" : "pos") + "\n";
    data = tmp.write("task.tsv", rows);
    teacher = tmp.path() / "teacher";
    const auto r = vtrans_test::run_cli(tmp, "train --task tsv --data " + data.string() + " --out " + teacher.string() +
                                                 " --steps 30 --lr 3e-3 --batch-size 8 --hidden 32 --layers 3 --heads 4 --ffn 64 --max-length 16 --vocab-size 80 --quiet");
    INFO(r.err);
    REQUIRE(r.status == 0);
  }
};
const teacher_fixture& fixture() {
  static const teacher_fixture f;
  return f;
}

}  // namespace

TEST_CASE("logits job: thrust_omp gives the reference logits of a golden checkpoint") {
  const fs::path dir = models / "bert-cls";
  const auto rows = [&](const char* file) {
    std::vector<std::int32_t> v;
    std::ifstream in(dir / file);
    for (std::int32_t x; in >> x;) v.push_back(x);
    return v;
  };
  nn::batch_input in;
  in.ids = rows("input_ids.txt");
  in.attention_mask = rows("attention_mask.txt");
  in.token_type_ids = rows("token_type_ids.txt");
  in.batch = 3;
  in.seq = vtrans::index(in.ids.size()) / in.batch;
  const auto want = cli::compute_logits<cpu>(dir.string(), {}, in), got = cli::compute_logits<omp>(dir.string(), {}, in);
  REQUIRE(got.dims == want.dims);
  REQUIRE(got.values.size() == want.values.size());
  for (std::size_t i = 0; i < want.values.size(); ++i) CHECK(got.values[i] == doctest::Approx(want.values[i]).epsilon(1e-5));
  // and the independent reference (tests/data/models/README)
  const auto ref = io::read_npy<float>((dir / "expected.npy").string());
  REQUIRE(ref.data.size() == got.values.size());
  for (std::size_t i = 0; i < got.values.size(); ++i) CHECK(got.values[i] == doctest::Approx(ref.data[i]).epsilon(1e-4));
}

TEST_CASE("eval job: thrust_omp and cpu agree on a trained model's metrics") {
  const auto& f = fixture();
  const auto prepared = [&] { return cli::prepare_split(f.teacher.string(), "", f.data.string(), "train", 0, false, false); };
  const auto want = cli::evaluate_prepared<cpu>(prepared(), f.teacher.string(), 16, true, nn::matrix_dtype::compute);
  const auto got = cli::evaluate_prepared<omp>(prepared(), f.teacher.string(), 16, true, nn::matrix_dtype::compute);
  REQUIRE(want.count("accuracy"));
  check_close(nlohmann::json(got), nlohmann::json(want), 1e-5, "metrics");
}

TEST_CASE("train job: thrust_omp trains the same model as cpu") {
  const auto& f = fixture();
  nlohmann::json runs;
  for (const std::string backend : {"cpu", "thrust_omp"}) {
    cli::train_args a;
    a.task = "tsv";
    a.data = a.eval_data = f.data.string();
    a.out = (f.tmp.path() / ("trained-" + backend)).string();
    a.hidden = 32, a.layers = 3, a.heads = 4, a.ffn = 64, a.max_length = 16, a.steps = 10, a.lr = 3e-3, a.batch_size = 8, a.quiet = true;
    const auto family = nn::find_family("bert");
    const cli::task_spec spec = cli::parse_task(a.task, *family, false);
    cli::task_source src(spec, cli::make_source_options(spec, a.data, a.eval_data, false, false, false));
    io::folder_writer folder = cli::work_folder({a.out, false, false, "training checkpoint", [](const fs::path&) { return false; }, true});
    cli::copy_tokenizer_files(f.teacher.string(), folder.path());
    auto tok = text::load_tokenizer(f.teacher.string());
    const int rc = backend == "cpu" ? cli::train_model<cpu>(a, *family, src, std::move(tok), folder)
                                    : cli::train_model<omp>(a, *family, src, std::move(tok), folder);
    REQUIRE(rc == 0);
    std::ifstream log(fs::path(a.out) / "train_log.jsonl");
    for (std::string line; std::getline(log, line);) {
      auto j = nlohmann::json::parse(line);
      if (j["event"] == "train" || j["event"] == "eval") runs[backend].push_back(j);
    }
  }
  REQUIRE(runs["cpu"].size() >= 2);  // training records and the dev/test evaluations
  check_close(runs["thrust_omp"], runs["cpu"], 1e-4, "train_log", {"tokens_per_s", "elapsed_s"});
}

TEST_CASE("prune job: thrust_omp prunes to the same structure and metrics as cpu") {
  const auto& f = fixture();
  nlohmann::json reports;
  for (const std::string backend : {"cpu", "thrust_omp"}) {
    cli::prune_args a;
    a.model = f.teacher.string();
    a.data = f.data.string();
    a.split = "train";
    a.out = (f.tmp.path() / ("pruned-" + backend)).string();
    a.budget = "params=0.7";
    a.quiet = true;
    a.opt.prune_steps = 8, a.opt.max_extra_steps = 0, a.opt.finetune_steps = 2, a.opt.batch_size = 8;
    a.opt.checkpoint_every = 0, a.opt.checkpoint_minutes = 0;
    const int rc = backend == "cpu" ? cli::prune_model<cpu>(a) : cli::prune_model<omp>(a);
    REQUIRE(rc == 0);
    reports[backend] = read_json(fs::path(a.out) / "prune_report.json");
    reports[backend]["config"] = read_json(fs::path(a.out) / "config.json");
  }
  CHECK(reports["cpu"]["device"] == "cpu");
  CHECK(reports["thrust_omp"]["device"] == "thrust_omp");
  // the pruned structure exactly, every measured number (loss curves, metrics, sizes) closely
  check_close(reports["thrust_omp"]["config"], reports["cpu"]["config"], 0, "config");
  check_close(reports["thrust_omp"], reports["cpu"], 1e-3, "prune_report", {"device", "latency_ms", "seconds", "time", "phases", "latency"});
}

TEST_CASE("probe job: thrust_omp and cpu measure the same attention statistics") {
  const auto& f = fixture();
  const auto split = cli::encode_task_split(f.teacher.string(), "", f.data.string(), "train");
  const auto batches = prune::probe_batches(split.sequences, 8, split.max_length, split.pad_id);
  const std::vector<std::int32_t> special{2, 3}, keywords{10, 11, 12};
  const auto want = prune::probe_json(cli::probe_model<cpu>(f.teacher.string(), batches, special, keywords));
  const auto got = prune::probe_json(cli::probe_model<omp>(f.teacher.string(), batches, special, keywords));
  check_close(got, want, 1e-5, "probe");
}

TEST_CASE("--device: names are checked, and a build without CUDA refuses cuda with the remedy") {
  CHECK(cli::parse_device({"cpu", false}) == cli::device_kind::cpu);
  CHECK(cli::parse_device({"cuda", true}) == cli::device_kind::cuda);
  CHECK_THROWS_WITH_AS(cli::parse_device({"gpu", false}), "--device must be cpu or cuda, not \"gpu\"", usage_error);
  CHECK_THROWS_WITH_AS(cli::parse_device({"cpu", true}), "--tf32 applies to --device cuda only", usage_error);
  CHECK(cli::parse_device({"cuda", false, true}) == cli::device_kind::cuda);
  CHECK_THROWS_WITH_AS(cli::parse_device({"cpu", false, true}), "--half-gemm applies to --device cuda only", usage_error);
  // this test links cuda/no_cuda.cpp, the CUDA side of a program built without nvcc
  CHECK_THROWS_WITH_AS(cli::choose_device({"cuda", false}),
                       doctest::Contains("this vtrans was built without CUDA (nvcc was not found when it was configured)"), usage_error);
  CHECK_THROWS_AS(cli::prune_on_cuda(cli::prune_args{}), usage_error);
}
