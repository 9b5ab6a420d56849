#pragma once
// Learning-rate schedules as factors of the base rate, evaluated at the number of optimizer steps
// already taken (transformers' get_linear_schedule_with_warmup / get_constant_schedule_with_warmup:
// the update after `step` completed steps uses factor(step), so the first update of a warm-up is 0).
#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "vtrans/error.hpp"

namespace vtrans::train {

enum class schedule_kind { constant, linear };

inline schedule_kind parse_schedule(const std::string& name) {
  if (name == "constant") return schedule_kind::constant;
  if (name == "linear") return schedule_kind::linear;
  throw vtrans::usage_error("unknown learning-rate schedule '" + name + "' (constant, linear)");
}

struct lr_schedule {
  schedule_kind kind = schedule_kind::linear;
  std::int64_t warmup_steps = 0;
  std::int64_t total_steps = 0;  // linear: the factor reaches 0 here

  double factor(std::int64_t step) const {
    if (step < 0) throw vtrans::usage_error("lr_schedule: negative step");
    if (step < warmup_steps) return double(step) / double(std::max<std::int64_t>(1, warmup_steps));
    if (kind == schedule_kind::constant) return 1.0;
    return std::max(0.0, double(total_steps - step) / double(std::max<std::int64_t>(1, total_steps - warmup_steps)));
  }
};

}  // namespace vtrans::train
