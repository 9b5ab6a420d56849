#pragma once
// The run-time identity of a model family: a handle on its description (nn::family_spec, one per
// header under nn/families/). A model_config carries one; code reads the family's facts through
// it and never compares it against a particular family.
#include <stdexcept>
#include <string_view>

#include "vtrans/nn/family.hpp"

namespace vtrans::io {

class family {
 public:
  constexpr family() = default;
  constexpr family(const nn::family_spec& spec) : spec_(&spec) {}  // NOLINT: a family is its spec

  const nn::family_spec& spec() const {
    if (!spec_) throw std::logic_error("vtrans: model_config has no family (use parse_config or make_config)");
    return *spec_;
  }
  const nn::family_spec* operator->() const { return &spec(); }
  std::string_view name() const { return spec_ ? spec_->model_type : std::string_view("(none)"); }

  friend constexpr bool operator==(family a, family b) { return a.spec_ == b.spec_; }
  friend constexpr bool operator!=(family a, family b) { return a.spec_ != b.spec_; }

 private:
  const nn::family_spec* spec_ = nullptr;
};

inline std::string_view family_name(family f) { return f.name(); }

}  // namespace vtrans::io
