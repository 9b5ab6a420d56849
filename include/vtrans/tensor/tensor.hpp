#pragma once
// tensor<T, Backend>: an owning, contiguous, row-major array of rank 0 to 4 in a backend's memory.
// Copies are deep (and explicit in intent: prefer moves); host data crosses only through
// from_host(), to_host() and item(), counted by Backend::transfers().
#include <utility>
#include <vector>

#include "vtrans/tensor/backend.hpp"
#include "vtrans/tensor/shape.hpp"

namespace vtrans {

template <class T, class Backend>
class tensor {
  static_assert(check_backend<Backend>(), "vtrans::tensor: Backend does not implement the backend contract");

 public:
  using value_type = T;
  using backend = Backend;

  tensor() : storage_(Backend::template allocate<T>(0)) {}
  // Uninitialised values of the given shape.
  explicit tensor(const vtrans::shape& s) : shape_(s), storage_(Backend::template allocate<T>(s.numel())) {}

  static tensor zeros(const vtrans::shape& s) { return filled(s, T(0)); }
  static tensor filled(const vtrans::shape& s, T value) {
    tensor t(s);
    Backend::fill(t.numel(), value, t.data());
    return t;
  }
  static tensor from_host(const vtrans::shape& s, const std::vector<T>& values) {
    if (static_cast<index>(values.size()) != s.numel())
      throw shape_error("vtrans::tensor::from_host: " + std::to_string(values.size()) + " values for shape " + s.str());
    tensor t(s);
    Backend::upload(values.data(), s.numel(), t.data());
    return t;
  }
  std::vector<T> to_host() const {
    std::vector<T> out(static_cast<std::size_t>(numel()));
    Backend::download(data(), numel(), out.data());
    return out;
  }
  // A single value (rank 0 or one element), read back to the host.
  T item() const {
    require(numel() == 1, "tensor::item", "expects one element, shape is " + shape_.str());
    T v{};
    Backend::download(data(), 1, &v);
    return v;
  }

  const vtrans::shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  index dim(int i) const { return shape_[i]; }
  index numel() const { return shape_.numel(); }
  index rows() const { return shape_.rows(); }
  index cols() const { return shape_.cols(); }
  bool empty() const { return numel() == 0; }

  T* data() { return Backend::data(storage_); }
  const T* data() const { return Backend::data(storage_); }

  // Same values under another shape of the same size (in place, no copy).
  tensor&& reshaped(const vtrans::shape& s) && {
    require(s.numel() == numel(), "reshape", "cannot view " + shape_.str() + " as " + s.str());
    shape_ = s;
    return std::move(*this);
  }
  void reshape(const vtrans::shape& s) {
    require(s.numel() == numel(), "reshape", "cannot view " + shape_.str() + " as " + s.str());
    shape_ = s;
  }

  tensor clone() const {
    tensor t(shape_);
    Backend::axpby(numel(), T(1), data(), T(0), t.data());
    return t;
  }

 private:
  vtrans::shape shape_;
  typename Backend::template storage<T> storage_;
};

}  // namespace vtrans
