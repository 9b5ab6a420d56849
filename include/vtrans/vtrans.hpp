#pragma once
// vtrans: one include for the whole library on the CPU backend. Not included here, because they
// need what the core does not: tensor/thrust_backend.hpp (thrust headers; target vtrans::thrust_omp,
// or nvcc for vtrans::cuda) and text/sentencepiece.hpp (libsentencepiece; target
// vtrans::sentencepiece, which also makes text/tokenizer.hpp load tokenizer.model files).
#include "vtrans/version.hpp"

// tensors and the CPU backend
#include "vtrans/tensor/backend.hpp"
#include "vtrans/tensor/cpu.hpp"
#include "vtrans/tensor/openblas_runtime.hpp"
#include "vtrans/tensor/tensor.hpp"
#include "vtrans/tensor/transfers.hpp"

// automatic differentiation
#include "vtrans/autodiff/autodiff.hpp"
#include "vtrans/autodiff/gradcheck.hpp"

// checkpoints and configuration files
#include "vtrans/io/checkpoint_reader.hpp"
#include "vtrans/io/model_config.hpp"
#include "vtrans/io/npy.hpp"
#include "vtrans/io/safetensors.hpp"
#include "vtrans/io/weight_names.hpp"

// models and mask policies
#include "vtrans/masks/fixed.hpp"
#include "vtrans/masks/hard_concrete.hpp"
#include "vtrans/masks/mask_set.hpp"
#include "vtrans/masks/none.hpp"
#include "vtrans/masks/vib.hpp"
#include "vtrans/nn/copy_weights.hpp"
#include "vtrans/nn/heads.hpp"
#include "vtrans/nn/load.hpp"
#include "vtrans/nn/save.hpp"
#include "vtrans/nn/transformer.hpp"

// pruning
#include "vtrans/prune/baselines.hpp"
#include "vtrans/prune/budget.hpp"
#include "vtrans/prune/compact.hpp"
#include "vtrans/prune/cost.hpp"
#include "vtrans/prune/distill.hpp"
#include "vtrans/prune/export.hpp"
#include "vtrans/prune/lagrangian.hpp"
#include "vtrans/prune/probe.hpp"
#include "vtrans/prune/report.hpp"
#include "vtrans/prune/select.hpp"
#include "vtrans/prune/vtrans.hpp"

// training and evaluation
#include "vtrans/train/adamw.hpp"
#include "vtrans/train/checkpoint.hpp"
#include "vtrans/train/clip.hpp"
#include "vtrans/train/evaluate.hpp"
#include "vtrans/train/jsonl_log.hpp"
#include "vtrans/train/metrics.hpp"
#include "vtrans/train/objectives.hpp"
#include "vtrans/train/progress.hpp"
#include "vtrans/train/schedule.hpp"
#include "vtrans/train/trainer.hpp"

// text and data sets
#include "vtrans/data/batching.hpp"
#include "vtrans/data/brown.hpp"
#include "vtrans/data/encode.hpp"
#include "vtrans/data/glue.hpp"
#include "vtrans/data/lm_text.hpp"
#include "vtrans/data/split.hpp"
#include "vtrans/data/subset.hpp"
#include "vtrans/data/text_pairs.hpp"
#include "vtrans/text/tokenizer.hpp"

// charts of reports
#include "vtrans/viz/charts.hpp"

static_assert(vtrans::is_backend_v<vtrans::cpu>, "the cpu backend must implement the backend contract");
