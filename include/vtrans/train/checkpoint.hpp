#pragma once
// Training checkpoints: a folder holding everything a run needs to continue exactly:
//   config.json + model.safetensors   the model as a Hugging Face folder (nn::save_pretrained)
//   optimizer.safetensors             AdamW moments and per-parameter step counts
//   trainer_state.json                optimizer step, data position (epoch, next micro-batch of
//                                     the epoch's seeded plan), seed, and the caller's extras
// Batch order, dropout and MLM masking are all functions of (seed, epoch, step), so these few
// numbers are the whole data-order/RNG state. The folder is written beside the target under a
// temporary name and renamed into place; an existing checkpoint is replaced only once the new
// one is complete (a crash leaves the old one, or "<dir>.old-*" next to the new one).
#include <cstdint>
#include <filesystem>
#include <string>


#include <nlohmann/json.hpp>

#include "vtrans/error.hpp"
#include "vtrans/io/atomic_file.hpp"
#include "vtrans/io/json.hpp"
#include "vtrans/nn/load.hpp"
#include "vtrans/nn/save.hpp"
#include "vtrans/train/adamw.hpp"

namespace vtrans::train {

struct training_state {
  std::int64_t step = 0;       // optimizer steps done
  std::uint64_t epoch = 0;     // current epoch of the data plan
  std::uint64_t cursor = 0;    // next micro-batch within the epoch's plan
  std::uint64_t seed = 0;
  double last_loss = 0;
  nlohmann::json extra = nlohmann::json::object();  // the caller's (e.g. the CLI's options)
};

inline nlohmann::json to_json(const training_state& s) {
  return {{"step", s.step}, {"epoch", s.epoch}, {"cursor", s.cursor}, {"seed", s.seed}, {"last_loss", s.last_loss}, {"extra", s.extra}};
}

inline training_state training_state_from_json(const nlohmann::json& j, const std::string& source) {
  try {
    training_state s;
    s.step = j.at("step").get<std::int64_t>();
    s.epoch = j.at("epoch").get<std::uint64_t>();
    s.cursor = j.at("cursor").get<std::uint64_t>();
    s.seed = j.at("seed").get<std::uint64_t>();
    s.last_loss = j.value("last_loss", 0.0);
    if (j.contains("extra")) s.extra = j.at("extra");
    return s;
  } catch (const nlohmann::json::exception& e) {
    throw format_error(source + ": bad trainer state" + io::detail::json_error_detail(e.what()));
  }
}

inline bool is_training_checkpoint(const std::string& dir) {
  namespace fs = std::filesystem;
  return fs::is_regular_file(fs::path(dir) / "trainer_state.json") && fs::is_regular_file(fs::path(dir) / "optimizer.safetensors");
}

template <class Model, class Opt>
void save_checkpoint(const std::string& dir, const Model& model, const Opt& optimizer, const training_state& state) {
  // Assembled beside `dir` and swapped in whole: a kill at any moment leaves the old checkpoint or the new one.
  io::folder_writer folder(dir, true, "checkpoint");
  nn::save_pretrained(model, folder.path());
  optimizer.save((std::filesystem::path(folder.path()) / "optimizer.safetensors").string());
  io::write_file_atomic((std::filesystem::path(folder.path()) / "trainer_state.json").string(), to_json(state).dump(2) + "\n");
  folder.commit();
}

// Restores model weights and optimizer state in place; returns the trainer state.
template <class Model, class Opt>
training_state load_checkpoint(const std::string& dir, Model& model, Opt& optimizer) {
  namespace fs = std::filesystem;
  if (!is_training_checkpoint(dir))
    throw file_error(dir + ": not a training checkpoint (needs trainer_state.json and optimizer.safetensors)");
  nn::load_weights(model, dir);
  optimizer.load((fs::path(dir) / "optimizer.safetensors").string());
  const std::string state_file = (fs::path(dir) / "trainer_state.json").string();
  return training_state_from_json(io::read_json_file(state_file), state_file);
}

}  // namespace vtrans::train
