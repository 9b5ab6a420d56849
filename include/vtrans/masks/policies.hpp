#pragma once
// The library's mask policies. Adding one: its header, and its type in `trained` (or use it
// directly as a template argument); the command line dispatches over this list.
#include <string>
#include <tuple>

#include "vtrans/masks/fixed.hpp"
#include "vtrans/masks/hard_concrete.hpp"
#include "vtrans/masks/vib.hpp"

namespace vtrans::masks {

// Policies whose masks are trained by the pruning loop (prune::vtrans_prune).
using trained = std::tuple<vib, hard_concrete>;

// Calls f(P{}) for the policy of `List` named `name`; false if none is.
template <class List, class F>
bool with_policy(const std::string& name, F&& f) {
  return std::apply([&](auto... p) { return ((name == decltype(p)::name() ? (f(p), true) : false) || ...); }, List{});
}

// Calls f(P{}) for every policy of `List`.
template <class List, class F>
void for_each_policy(F&& f) {
  std::apply([&](auto... p) { (f(p), ...); }, List{});
}

}  // namespace vtrans::masks
