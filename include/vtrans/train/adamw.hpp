#pragma once
// AdamW (Loshchilov & Hutter; torch.optim.AdamW semantics) over a model's named parameters:
//   m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2,
//   p -= lr * ( (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) + wd * p )
// with t counted per parameter (as torch does), parameter groups chosen by a predicate on the
// canonical name (first matching group wins; e.g. no decay for biases and norms, another
// learning rate for masks), a schedule factor applied to every group's learning rate, frozen
// parameters and parameters without a gradient skipped (state is allocated lazily, so frozen
// ones never get any), and the state saved to / restored from a safetensors file.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <type_traits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "vtrans/autodiff/var.hpp"
#include "vtrans/error.hpp"
#include "vtrans/io/checkpoint_reader.hpp"
#include "vtrans/io/safetensors.hpp"

namespace vtrans::train {

struct adamw_options {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;
};

// Parameters whose name matches get this group's learning rate and weight decay (unset: the
// optimizer's defaults).
struct param_group {
  std::string name;
  std::function<bool(const std::string&)> match;
  std::optional<double> lr;
  std::optional<double> weight_decay;
};

// Biases and normalisation weights: the usual "no weight decay" set (BERT's recipe).
inline bool is_bias_or_norm(const std::string& name) {
  auto ends = [&](const char* s) {
    const std::string suf(s);
    return name.size() >= suf.size() && name.compare(name.size() - suf.size(), suf.size(), suf) == 0;
  };
  if (ends(".bias") || name == "bias") return true;
  for (const char* n : {"LayerNorm.", "layer_norm.", "layernorm.", "ln_1.", "ln_2.", "ln_f.", "norm."})
    if (name.find(n) != std::string::npos) return true;
  return false;
}

inline param_group no_decay_group(const std::string& name = "no_decay") {
  return {name, is_bias_or_norm, std::nullopt, 0.0};
}

template <class T, class B>
class adamw {
 public:
  using param_t = autodiff::param<T, B>;
  using named_params = std::vector<std::pair<std::string, param_t>>;

  explicit adamw(named_params params, adamw_options options = {}, std::vector<param_group> groups = {})
      : params_(std::move(params)), opt_(options), groups_(std::move(groups)) {
    for (std::size_t i = 0; i < params_.size(); ++i) {
      if (!index_.emplace(params_[i].first, i).second)
        throw usage_error("vtrans::train::adamw: parameter " + params_[i].first + " listed twice");
      group_of_.push_back(find_group(params_[i].first));
    }
  }

  const adamw_options& options() const { return opt_; }
  // The learning rate and decay a parameter gets (before the schedule factor).
  double lr_of(const std::string& name) const { return group_lr(group_of_.at(index_.at(name))); }
  double weight_decay_of(const std::string& name) const { return group_wd(group_of_.at(index_.at(name))); }
  // Name of the group a parameter is in ("default" when none matched).
  std::string group_of(const std::string& name) const {
    const int g = group_of_.at(index_.at(name));
    return g < 0 ? "default" : groups_[std::size_t(g)].name;
  }

  // One update with every group's learning rate multiplied by lr_factor (the schedule).
  void step(double lr_factor = 1.0) {
    for (std::size_t i = 0; i < params_.size(); ++i) {
      param_t& p = params_[i].second;
      if (!p.trainable() || !p.has_grad()) continue;
      slot& s = state_for(i);
      ++s.t;
      const double c1 = 1.0 - std::pow(opt_.beta1, double(s.t)), c2 = 1.0 - std::pow(opt_.beta2, double(s.t));
      const int g = group_of_[i];
      B::adamw(p.numel(), p.value().data(), p.grad().data(), s.m.data(), s.v.data(), group_lr(g) * lr_factor, opt_.beta1,
               opt_.beta2, opt_.eps, group_wd(g), c1, c2);
    }
    ++steps_;
  }

  void zero_grad() {
    for (auto& [name, p] : params_) p.zero_grad();
  }

  // Optimizer steps taken.
  std::int64_t steps() const { return steps_; }
  // Parameters with state (those updated at least once).
  std::size_t state_count() const { return state_.size(); }
  bool has_state(const std::string& name) const { return state_.count(index_.at(name)) != 0; }
  std::int64_t step_of(const std::string& name) const {
    auto it = state_.find(index_.at(name));
    return it == state_.end() ? 0 : it->second.t;
  }

  // State as safetensors: "<name>.exp_avg", "<name>.exp_avg_sq" (F32), per-parameter step counts
  // and the hyper-parameters in the metadata.
  void save(const std::string& path) const {
    static_assert(std::is_same_v<T, float>, "adamw::save stores F32 state");
    std::vector<std::vector<float>> host;
    std::vector<io::tensor_view> views;
    std::map<std::string, std::string> meta{{"format", "vtrans-adamw"}, {"steps", std::to_string(steps_)}};
    host.reserve(2 * state_.size());
    for (const auto& [i, s] : state_) {
      const std::string& name = params_[i].first;
      std::vector<std::int64_t> dims;
      for (int d = 0; d < s.m.rank(); ++d) dims.push_back(s.m.dim(d));
      host.push_back(s.m.to_host());
      views.push_back({name + ".exp_avg", dims, host.back().data(), host.back().size()});
      host.push_back(s.v.to_host());
      views.push_back({name + ".exp_avg_sq", dims, host.back().data(), host.back().size()});
      meta["step." + name] = std::to_string(s.t);
    }
    io::write_safetensors(path, std::move(views), meta);
  }

  // Replaces the state with the file's; every tensor must belong to a parameter of this optimizer
  // with the same shape.
  void load(const std::string& path) {
    static_assert(std::is_same_v<T, float>, "adamw::load reads F32 state");
    const io::checkpoint_reader r(path);
    const auto& meta = r.metadata();
    auto get = [&](const std::string& key) -> std::string {
      auto it = meta.find(key);
      if (it == meta.end()) throw format_error(path + ": optimizer state lacks metadata \"" + key + "\"");
      return it->second;
    };
    // A step count: decimal digits only (std::stoll would accept "12abc" and throw a bare "stoll").
    auto count = [&](const std::string& key, const std::string& text) -> std::int64_t {
      std::int64_t v = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || end != text.data() + text.size() || v < 0)
        throw format_error(path + ": metadata " + io::detail::quote(key) + " = " + io::detail::quote(text) + " is not a step count");
      return v;
    };
    if (get("format") != "vtrans-adamw") throw format_error(path + ": not a vtrans AdamW state file");
    std::map<std::size_t, slot> fresh;
    for (const auto& [key, value] : meta) {
      if (key.rfind("step.", 0) != 0) continue;
      const std::string name = key.substr(5);
      auto it = index_.find(name);
      if (it == index_.end()) throw format_error(path + ": optimizer state for unknown parameter " + io::detail::quote(name));
      const param_t& p = params_[it->second].second;
      slot s;
      s.t = count(key, value);
      for (auto [t, suffix] : std::initializer_list<std::pair<tensor<T, B>*, const char*>>{{&s.m, ".exp_avg"}, {&s.v, ".exp_avg_sq"}}) {
        const std::string tname = name + suffix;
        const auto& info = r.info(tname);
        const shape sh = shape::from_range(info.shape.begin(), info.shape.end());
        if (info.shape.size() > 4 || sh != p.shape())
          throw format_error(path + ": " + io::detail::quote(tname) + " has shape " + io::detail::shape_text(info.shape) + ", parameter is " +
                             p.shape().str());
        *t = tensor<T, B>::from_host(sh, r.template read<T>(tname));
      }
      fresh.emplace(it->second, std::move(s));
    }
    state_ = std::move(fresh);
    steps_ = count("steps", get("steps"));
  }

 private:
  struct slot {
    tensor<T, B> m, v;
    std::int64_t t = 0;
  };

  int find_group(const std::string& name) const {
    for (std::size_t g = 0; g < groups_.size(); ++g)
      if (groups_[g].match && groups_[g].match(name)) return int(g);
    return -1;
  }
  double group_lr(int g) const { return g >= 0 && groups_[std::size_t(g)].lr ? *groups_[std::size_t(g)].lr : opt_.lr; }
  double group_wd(int g) const {
    return g >= 0 && groups_[std::size_t(g)].weight_decay ? *groups_[std::size_t(g)].weight_decay : opt_.weight_decay;
  }
  slot& state_for(std::size_t i) {
    auto it = state_.find(i);
    if (it != state_.end()) return it->second;
    slot s;
    s.m = tensor<T, B>::zeros(params_[i].second.shape());
    s.v = tensor<T, B>::zeros(params_[i].second.shape());
    return state_.emplace(i, std::move(s)).first->second;
  }

  named_params params_;
  adamw_options opt_;
  std::vector<param_group> groups_;
  std::vector<int> group_of_;
  std::map<std::string, std::size_t> index_;
  std::map<std::size_t, slot> state_;
  std::int64_t steps_ = 0;
};

}  // namespace vtrans::train
