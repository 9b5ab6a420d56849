#pragma once
// The mask policy of an unmasked (dense or already compacted) model: nothing is stored and
// every hook compiles away.
namespace vtrans::masks {

struct none {
  static constexpr bool active = false;
  static constexpr const char* name() { return "none"; }
};

}  // namespace vtrans::masks
