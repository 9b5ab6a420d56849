#pragma once
// Plain argument structs of the backend kernel interface (shared by every backend, host and device).
#include "vtrans/tensor/shape.hpp"

namespace vtrans {

// How the second operand of a binary kernel spreads over a [rows, cols] first operand.
enum class broadcast : int {
  none,    // same shape [rows, cols]
  row,     // one row of [cols], repeated for every row (bias, per-unit mask)
  column,  // one value per row, [rows]
  scalar   // one value
};

// Scaled dot-product attention over the projection layout [batch, seq, heads * head_dim]:
// element (b, s, h, d) of q sits at q[(b * q_len + s) * ldq + h * head_dim + d], so fused QKV
// projections (ld = 3 * width) are read in place. Query head h uses key/value head
// h / (heads / kv_heads) (grouped-query attention without copying).
struct attention_dims {
  index batch = 1, q_len = 1, k_len = 1, heads = 1, kv_heads = 1, head_dim = 1;
  index ldq = 0, ldk = 0, ldv = 0, ldo = 0;  // row strides, in elements
  bool causal = false;                         // query s sees keys <= s + (k_len - q_len)
  index window = 0;                            // > 0: query s sees only keys > s + (k_len - q_len) - window
                                               // (sliding-window attention, as Mistral); 0: unlimited
  double scale = 1.0;                          // usually 1 / sqrt(head_dim)
  index group() const { return heads / kv_heads; }
  index probs_numel() const { return batch * heads * q_len * k_len; }
};

// Rotary position embedding, Hugging Face "rotate half" convention, over [rows, heads * head_dim]
// with row stride ld; row r has position positions[r]. Only the first rotary_dim of each head turn.
struct rope_dims {
  index rows = 1, heads = 1, head_dim = 1, rotary_dim = 0, ldx = 0, ldy = 0;
  double theta = 10000.0;
};

}  // namespace vtrans
