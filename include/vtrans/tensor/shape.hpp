#pragma once
// Shapes of tensors: rank 0 to 4, row-major, and the error thrown when shapes disagree.
#include <array>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>

#include "vtrans/error.hpp"

namespace vtrans {

using index = std::int64_t;

// Thrown when an operation receives shapes it cannot combine; the message names the op.
struct shape_error : vtrans::usage_error {
  using vtrans::usage_error::usage_error;
};

class shape {
 public:
  static constexpr int max_rank = 4;

  shape() = default;
  shape(std::initializer_list<index> dims) {
    if (dims.size() > max_rank) throw shape_error("vtrans::shape: rank " + std::to_string(dims.size()) + " exceeds 4");
    for (index d : dims) push(d);
  }
  template <class It>
  static shape from_range(It first, It last) {
    shape s;
    for (; first != last; ++first) s.push(static_cast<index>(*first));
    return s;
  }

  int rank() const { return rank_; }
  index operator[](int i) const { return dims_[static_cast<std::size_t>(i < 0 ? rank_ + i : i)]; }
  index numel() const {
    index n = 1;
    for (int i = 0; i < rank_; ++i) n *= dims_[static_cast<std::size_t>(i)];
    return n;
  }
  // Last dimension (columns of the row-major matrix view) and the product of the others.
  index cols() const { return rank_ == 0 ? 1 : dims_[static_cast<std::size_t>(rank_ - 1)]; }
  index rows() const { return rank_ == 0 ? 1 : numel() / (cols() == 0 ? 1 : cols()); }

  void push(index d) {
    if (rank_ == max_rank) throw shape_error("vtrans::shape: rank exceeds 4");
    if (d < 0) throw shape_error("vtrans::shape: negative dimension " + std::to_string(d));
    dims_[static_cast<std::size_t>(rank_++)] = d;
  }
  shape with_last(index d) const {
    shape s = *this;
    if (rank_ == 0) s.push(d); else s.dims_[static_cast<std::size_t>(rank_ - 1)] = d;
    return s;
  }

  std::string str() const {
    std::string out = "[";
    for (int i = 0; i < rank_; ++i) out += (i ? "," : "") + std::to_string(dims_[static_cast<std::size_t>(i)]);
    return out + "]";
  }
  friend bool operator==(const shape& a, const shape& b) {
    if (a.rank_ != b.rank_) return false;
    for (int i = 0; i < a.rank_; ++i) if (a.dims_[static_cast<std::size_t>(i)] != b.dims_[static_cast<std::size_t>(i)]) return false;
    return true;
  }
  friend bool operator!=(const shape& a, const shape& b) { return !(a == b); }

 private:
  std::array<index, max_rank> dims_{};
  int rank_ = 0;
};

// "vtrans::<op>: <what>: [a] and [b]"
inline shape_error shape_mismatch(const char* op, const std::string& what, const shape& a, const shape& b) {
  return shape_error(std::string("vtrans::") + op + ": " + what + ": " + a.str() + " and " + b.str());
}
inline void require(bool ok, const char* op, const std::string& what) {
  if (!ok) throw shape_error(std::string("vtrans::") + op + ": " + what);
}

}  // namespace vtrans
