#pragma once
// Pruning state, for resuming an interrupted prune: a folder holding
//   parameters.safetensors      the masks, the weights being trained, the distillation projection
//                               and the Lagrange multipliers
//   masks_optimizer.safetensors, weights_optimizer.safetensors, lagrangian_optimizer.safetensors
//                               AdamW state (train::adamw::save)
//   pruning_state.json          step, the ramp's start, the trajectory so far, the seconds spent,
//                               and the run's fingerprint (the options that decide the trajectory)
// Batch order, dropout and mask noise are functions of (seed, step), so the step is the whole
// data and RNG state. The folder is assembled beside its target and swapped in whole
// (io::folder_writer): a kill leaves the previous state or the new one, never a mix.
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "vtrans/autodiff/autodiff.hpp"
#include "vtrans/error.hpp"
#include "vtrans/io/atomic_file.hpp"
#include "vtrans/io/checkpoint_reader.hpp"
#include "vtrans/io/json.hpp"
#include "vtrans/io/safetensors.hpp"

namespace vtrans::prune {

struct pruning_state {
  std::int64_t step = 0;       // pruning steps done
  double ramp_start = 0;       // sparsity the target ramp starts from (fixed at step 0)
  double last_loss = 0;
  double prune_seconds = 0;    // time spent pruning before this state was written
  nlohmann::json trajectory = nlohmann::json::array();
  nlohmann::json fingerprint = nlohmann::json::object();
};

inline bool is_pruning_state(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  return fs::is_regular_file(fs::path(dir) / "pruning_state.json", ec) && fs::is_regular_file(fs::path(dir) / "parameters.safetensors", ec);
}

namespace detail {
inline constexpr const char* optimizer_files[] = {"masks_optimizer.safetensors", "weights_optimizer.safetensors", "lagrangian_optimizer.safetensors"};

// The first option whose value differs, as "NAME was A, now B"; empty when they agree.
inline std::string fingerprint_difference(const nlohmann::json& saved, const nlohmann::json& now) {
  for (const auto& [key, value] : now.items()) {
    if (!saved.contains(key)) return key + " was not recorded, now " + value.dump();
    if (saved[key] != value) return key + " was " + saved[key].dump() + ", now " + value.dump();
  }
  for (const auto& [key, value] : saved.items())
    if (!now.contains(key)) return key + " was " + value.dump() + ", now not set";
  return {};
}
}  // namespace detail

// Writes the state to `dir`, replacing an earlier one only once the new one is complete.
// `params`: every tensor the run changes (names unique); the optimizers in the order of
// detail::optimizer_files.
template <class T, class B, class MaskOpt, class WeightOpt, class LagOpt>
void save_pruning_state(const std::string& dir, const std::vector<std::pair<std::string, autodiff::param<T, B>>>& params, const MaskOpt& masks_opt,
                        const WeightOpt& weights_opt, const LagOpt& lagrangian_opt, const pruning_state& state) {
  static_assert(std::is_same_v<T, float>, "pruning state is stored in F32");
  namespace fs = std::filesystem;
  io::folder_writer folder(dir, true, "pruning state");
  const fs::path at(folder.path());
  std::vector<std::vector<float>> host;
  std::vector<io::tensor_view> views;
  host.reserve(params.size());
  for (const auto& [name, p] : params) {
    std::vector<std::int64_t> dims;
    for (int d = 0; d < p.value().rank(); ++d) dims.push_back(p.value().dim(d));
    host.push_back(p.value().to_host());
    views.push_back({name, dims, host.back().data(), host.back().size()});
  }
  io::write_safetensors((at / "parameters.safetensors").string(), std::move(views), {{"format", "vtrans-pruning-state"}});
  masks_opt.save((at / detail::optimizer_files[0]).string());
  weights_opt.save((at / detail::optimizer_files[1]).string());
  lagrangian_opt.save((at / detail::optimizer_files[2]).string());
  const nlohmann::json j{{"step", state.step},           {"ramp_start", state.ramp_start}, {"last_loss", state.last_loss},
                         {"prune_seconds", state.prune_seconds}, {"trajectory", state.trajectory}, {"fingerprint", state.fingerprint}};
  io::write_file_atomic((at / "pruning_state.json").string(), j.dump(1) + "\n");
  folder.commit();
}

// Restores parameters and optimizer state in place and returns the state. The saved
// fingerprint must equal `fingerprint`: a different budget, seed or schedule would not
// continue the same run, so it is refused naming the first option that differs.
template <class T, class B, class MaskOpt, class WeightOpt, class LagOpt>
pruning_state load_pruning_state(const std::string& dir, const std::vector<std::pair<std::string, autodiff::param<T, B>>>& params,
                                 MaskOpt& masks_opt, WeightOpt& weights_opt, LagOpt& lagrangian_opt, const nlohmann::json& fingerprint) {
  namespace fs = std::filesystem;
  if (!is_pruning_state(dir)) throw file_error(dir + ": no pruning state (needs pruning_state.json and parameters.safetensors)");
  const std::string state_file = (fs::path(dir) / "pruning_state.json").string();
  const nlohmann::json j = io::read_json_file(state_file);
  pruning_state s;
  try {
    s.step = j.at("step").get<std::int64_t>();
    s.ramp_start = j.at("ramp_start").get<double>();
    s.last_loss = j.at("last_loss").get<double>();
    s.prune_seconds = j.at("prune_seconds").get<double>();
    s.trajectory = j.at("trajectory");
    s.fingerprint = j.at("fingerprint");
  } catch (const nlohmann::json::exception& e) {
    throw format_error(state_file + ": bad pruning state" + io::detail::json_error_detail(e.what()));
  }
  if (s.step < 0 || !s.fingerprint.is_object() || !s.trajectory.is_array()) throw format_error(state_file + ": bad pruning state");
  const std::string diff = detail::fingerprint_difference(s.fingerprint, fingerprint);
  if (!diff.empty()) throw usage_error(dir + ": the pruning state belongs to another run (" + diff + "); resume with the same options");

  const std::string tensors = (fs::path(dir) / "parameters.safetensors").string();
  const io::checkpoint_reader r(tensors);
  if (r.names().size() != params.size())
    throw format_error(tensors + ": holds " + std::to_string(r.names().size()) + " tensors, this run has " + std::to_string(params.size()));
  std::vector<tensor<T, B>> values;  // read all before changing any: a bad file leaves the run as it was
  for (const auto& [name, p] : params) {
    if (!r.has(name)) throw format_error(tensors + ": lacks " + io::detail::quote(name));
    const auto& info = r.info(name);
    const shape sh = shape::from_range(info.shape.begin(), info.shape.end());
    if (info.shape.size() > 4 || sh != p.shape())
      throw format_error(tensors + ": " + io::detail::quote(name) + " has shape " + io::detail::shape_text(info.shape) + ", this run's is " +
                         p.shape().str());
    values.push_back(tensor<T, B>::from_host(sh, r.template read<T>(name)));
  }
  masks_opt.load((fs::path(dir) / detail::optimizer_files[0]).string());
  weights_opt.load((fs::path(dir) / detail::optimizer_files[1]).string());
  lagrangian_opt.load((fs::path(dir) / detail::optimizer_files[2]).string());
  for (std::size_t i = 0; i < params.size(); ++i) {
    auto p = params[i].second;  // a handle on the same node
    p.value() = std::move(values[i]);
  }
  return s;
}

}  // namespace vtrans::prune
