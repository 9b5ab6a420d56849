#pragma once
// vtrans eval's model work on backend B (device.hpp): a model folder's metrics on a prepared split.
#include <map>
#include <string>

#include "load_model.hpp"
#include "task_data.hpp"
#include "vtrans/data/batching.hpp"
#include "vtrans/train/evaluate.hpp"
#include "vtrans/train/progress.hpp"

namespace vtrans::cli {

template <class B>
std::map<std::string, double> evaluate_prepared(prepared_split p, const std::string& model_dir, long batch_size, bool quiet,
                                                nn::matrix_dtype matrices) {
  nn::load_options load = nn::load_options::from_environment();
  load.matrices = matrices;
  const auto model = load_model<B>(model_dir, load);
  if (model.head() != train::head_for(p.spec.objective))
    throw usage_error(model_dir + ": the model's head (" + std::string(nn::head_name(model.head())) + ") does not fit task " + p.spec.name);
  data::batch_plan_options ep;
  ep.batch_size = batch_size;
  ep.shuffle = false;
  data::collate_options col;
  col.pad_id = p.split.pad_id;
  col.max_length = p.split.max_length;
  data::data_loader loader(std::move(p.split.sequences), ep, col);
  train::eval_options eo;
  const auto& s = p.specials;
  eo.mlm.mask_id = s.mask;
  eo.mlm.vocab_size = p.config.vocab_size;
  eo.mlm.seed = p.args.value("seed", std::uint64_t(0));
  eo.mlm.probability = p.args.value("mlm_probability", 0.15);
  for (auto id : {s.cls, s.sep, s.pad, s.bos, s.eos, s.mask, s.unk})
    if (id >= 0) eo.mlm.special_ids.push_back(id);
  train::progress_options po;
  po.style = quiet ? train::progress_style::silent : train::progress_style::automatic;
  train::progress bar("eval " + p.name, std::int64_t(loader.batches_per_epoch()), po);
  eo.on_batch = [&](std::size_t done, std::size_t) { bar.update(std::int64_t(done)); };
  auto r = train::evaluate(model, p.spec.objective, loader, eo);
  bar.finish();
  r.metrics["examples"] = double(r.examples);
  return r.metrics;
}

// The same on vtrans::cuda (cuda/jobs_eval.cu; cuda/no_cuda.cpp in a build without nvcc).
std::map<std::string, double> evaluate_prepared_on_cuda(prepared_split p, const std::string& model_dir, long batch_size, bool quiet,
                                                        nn::matrix_dtype matrices);

}  // namespace vtrans::cli
