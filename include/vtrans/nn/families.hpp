#pragma once
// Every model family vtrans knows, as one type list. The run-time dispatch over families is
// generated from it: with_family (a family named at run time -> its compile-time tag) and
// find_family (config.json's "model_type" -> the family).
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include "vtrans/error.hpp"
#include "vtrans/nn/families/bert.hpp"
#include "vtrans/nn/families/gpt2.hpp"
#include "vtrans/nn/families/llama.hpp"
#include "vtrans/nn/families/mistral.hpp"
#include "vtrans/nn/families/qwen2.hpp"
#include "vtrans/nn/families/roberta.hpp"

namespace vtrans::nn {

template <class... Families>
struct family_list {};

using all_families = family_list<bert, roberta, gpt2, llama, qwen2, mistral>;

// The tag of a model whose family is whatever its config says (transformer<any_family, ...>):
// one compiled model for every family, chosen at run time.
struct any_family {};

// Whether a config of family f may build a model tagged Family, and how messages name the tag.
template <class Family>
bool accepts(io::family f) {
  if constexpr (std::is_same_v<Family, any_family>) return true;
  else return f == Family::id;
}
template <class Family>
std::string family_label() {
  if constexpr (std::is_same_v<Family, any_family>) return "any family";
  else return std::string(Family::spec.model_type);
}

namespace detail {
template <class Fn, class First, class... Rest>
decltype(auto) with_family_in(io::family f, Fn& fn, family_list<First, Rest...>) {
  if (f == First::id) return fn(First{});
  if constexpr (sizeof...(Rest) > 0) return with_family_in(f, fn, family_list<Rest...>{});
  else throw vtrans::usage_error("unknown model family " + std::string(f.name()));
}
template <class Fn, class... Families>
void for_each_family_in(Fn& fn, family_list<Families...>) {
  (fn(Families{}), ...);
}
}  // namespace detail

// Calls fn(Family{}) with the compile-time tag of the family f, so a run-time choice reaches
// code templated on the family.
template <class Fn>
decltype(auto) with_family(io::family f, Fn&& fn) {
  return detail::with_family_in(f, fn, all_families{});
}

// Calls fn(Family{}) for every family, in list order.
template <class Fn>
void for_each_family(Fn&& fn) {
  detail::for_each_family_in(fn, all_families{});
}

// The family whose config.json says this "model_type".
inline std::optional<io::family> find_family(std::string_view model_type) {
  std::optional<io::family> found;
  for_each_family([&](auto tag) {
    if (decltype(tag)::spec.model_type == model_type) found = decltype(tag)::id;
  });
  return found;
}

// "bert, roberta, ... or mistral", for messages.
inline std::string family_names() {
  std::string out;
  std::string_view last;
  for_each_family([&](auto tag) {
    if (!last.empty()) out += std::string(out.empty() ? "" : ", ") + std::string(last);
    last = decltype(tag)::spec.model_type;
  });
  return out + " or " + std::string(last);
}

}  // namespace vtrans::nn
