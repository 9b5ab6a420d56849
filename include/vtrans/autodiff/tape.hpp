#pragma once
// The tape: a Wengert list of backward closures in creation order. backward() walks it in
// reverse, which is a valid topological order, then clears it so intermediates are freed.
// Recording is on by default and switched off (per thread) by a no_record guard for inference:
// then ops compute values only and push nothing.
#include <functional>
#include <type_traits>
#include <utility>
#include <vector>

#include "vtrans/autodiff/var.hpp"
#include "vtrans/tensor/kernel_args.hpp"
#include "vtrans/tensor/math.hpp"

namespace vtrans::autodiff {

namespace detail {
inline bool& recording_flag() {
  thread_local bool on = true;
  return on;
}
}  // namespace detail

inline bool is_recording() { return detail::recording_flag(); }

// RAII: no tape entries while alive (evaluation, inference, finite differences).
class no_record {
 public:
  no_record() : previous_(detail::recording_flag()) { detail::recording_flag() = false; }
  ~no_record() { detail::recording_flag() = previous_; }
  no_record(const no_record&) = delete;
  no_record& operator=(const no_record&) = delete;

 private:
  bool previous_;
};

template <class T, class Backend>
class tape {
 public:
  // One tape per thread and scalar/backend pair.
  static tape& local() {
    thread_local tape t;
    return t;
  }

  void push(std::function<void()> backward) { entries_.push_back(std::move(backward)); }
  std::size_t size() const { return entries_.size(); }
  void clear() { entries_.clear(); }

  // Seeds d root = 1 everywhere (a scalar loss, usually), runs every entry backwards, clears.
  void backward(const var<T, Backend>& root) {
    if (!root.requires_grad()) {
      clear();
      return;
    }
    auto& g = root.grad_buffer();
    Backend::fill(g.numel(), T(1), g.data());
    run_and_clear();
  }

 private:
  void run_and_clear() {
    std::vector<std::function<void()>> entries;
    entries.swap(entries_);
    for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
      (*it)();
      *it = nullptr;  // release saved tensors as soon as they are used
    }
  }
  std::vector<std::function<void()>> entries_;
};

template <class T, class Backend>
void backward(const var<T, Backend>& root) {
  tape<T, Backend>::local().backward(root);
}

// Wraps an op's result: when recording and some input needs a gradient, the result needs one
// too and `back(grad_of_result)` (or `back(grad, result_value)`) is pushed onto the tape.
// `back` accumulates into the inputs' gradients. The entry holds the result's value only for
// the second form; ops hold (through `back`'s captures) only the input values their backward
// pass reads, and grad_refs for the rest.
template <class T, class Backend, class Back>
var<T, Backend> record(tensor<T, Backend>&& value, std::initializer_list<const var<T, Backend>*> inputs, Back&& back) {
  var<T, Backend> out(std::move(value));
  if (!is_recording()) return out;
  bool any = false;
  for (const auto* in : inputs) any = any || (in && in->requires_grad());
  if (!any) return out;
  out.get()->slot->requires_grad = true;
  if constexpr (std::is_invocable_v<Back&, const tensor<T, Backend>&, const tensor<T, Backend>&>) {
    // ops whose backward needs their output
    tape<T, Backend>::local().push([result = out.shared(), b = std::forward<Back>(back)]() mutable {
      if (result->slot->has_grad) b(static_cast<const tensor<T, Backend>&>(result->slot->grad), static_cast<const tensor<T, Backend>&>(result->value));
    });
  } else {
    tape<T, Backend>::local().push([slot = out.get()->slot, b = std::forward<Back>(back)]() mutable {
      if (slot->has_grad) b(static_cast<const tensor<T, Backend>&>(slot->grad));
    });
  }
  return out;
}

}  // namespace vtrans::autodiff
