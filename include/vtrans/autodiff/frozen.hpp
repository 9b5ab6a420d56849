#pragma once
// A frozen 16-bit weight: a matrix kept in the type its checkpoint stored (bf16 or f16) because
// nothing trains it (the teacher, Faster-VTrans's student, inference). Copies share the values;
// ops widen what they need into scratch memory, so no fp32 copy of the weight is ever kept.
#include <memory>
#include <utility>

#include "vtrans/tensor/half.hpp"
#include "vtrans/tensor/tensor.hpp"

namespace vtrans::autodiff {

template <class H, class B>
class frozen {
  static_assert(is_half_v<H>, "frozen weights are bf16 or f16");

 public:
  using storage_type = H;
  frozen() = default;
  explicit frozen(tensor<H, B> value) : value_(std::make_shared<const tensor<H, B>>(std::move(value))) {}

  bool defined() const { return static_cast<bool>(value_); }
  const tensor<H, B>& value() const { return *value_; }
  const vtrans::shape& shape() const { return value_->shape(); }
  index numel() const { return value_->numel(); }

 private:
  std::shared_ptr<const tensor<H, B>> value_;
};

}  // namespace vtrans::autodiff
