#pragma once
// Embedding lookup: gather rows of a table forward, scatter-add gradients backward.
#include "vtrans/autodiff/ids.hpp"
#include "vtrans/autodiff/tape.hpp"

namespace vtrans::autodiff {

// table [vocab, dim], ids of any shape (checked by upload_ids)  ->  ids.shape + [dim]
template <class T, class B>
var<T, B> embedding(const var<T, B>& table, const id_tensor<B>& ids) {
  require(table.shape().rank() == 2, "embedding", "table must be [vocab, dim], got " + table.shape().str());
  require(ids.rank() < shape::max_rank, "embedding", "ids of rank " + std::to_string(ids.rank()) + " leave no room for the embedding axis");
  const index n = ids.numel(), dim = table.shape()[1];
  shape out_shape = ids.shape();
  out_shape.push(dim);
  tensor<T, B> y(out_shape);
  B::gather_rows(n, dim, table.value().data(), ids.data(), y.data());
  return record(std::move(y), {&table}, [gt = table.grad_handle(), ids, n, dim](const tensor<T, B>& g) {
    B::scatter_add_rows(n, dim, g.data(), ids.data(), gt.buffer().data());
  });
}

}  // namespace vtrans::autodiff
