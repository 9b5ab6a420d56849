#pragma once
// Compile-time traits of the four model families: where the norms sit and what kind they are,
// how positions enter, whether attention is causal, and which Hugging Face names they use.
// Sizes are never here: they are run-time and per layer (pruned models differ per layer).
#include "vtrans/io/family.hpp"

namespace vtrans::nn {

enum class norm_kind { layer_norm, rms_norm };
enum class position_kind { learned, learned_offset_by_padding, rotary };

struct bert {
  static constexpr io::family id = io::family::bert;
  static constexpr bool pre_norm = false;            // residual, then LayerNorm
  static constexpr norm_kind norm = norm_kind::layer_norm;
  static constexpr position_kind positions = position_kind::learned;
  static constexpr bool causal = false;
  static constexpr bool token_types = true;
  static constexpr bool gated_mlp = false;           // plain two-layer FFN
  static constexpr bool fused_qkv = false;
  static constexpr bool final_norm = false;          // the embedding LayerNorm instead
};

struct roberta : bert {
  static constexpr io::family id = io::family::roberta;
  // positions count from padding_idx + 1, padding tokens sit at padding_idx
  static constexpr position_kind positions = position_kind::learned_offset_by_padding;
};

struct gpt2 {
  static constexpr io::family id = io::family::gpt2;
  static constexpr bool pre_norm = true;
  static constexpr norm_kind norm = norm_kind::layer_norm;
  static constexpr position_kind positions = position_kind::learned;
  static constexpr bool causal = true;
  static constexpr bool token_types = false;
  static constexpr bool gated_mlp = false;
  static constexpr bool fused_qkv = true;            // c_attn holds Q | K | V
  static constexpr bool final_norm = true;           // ln_f
};

struct llama {
  static constexpr io::family id = io::family::llama;
  static constexpr bool pre_norm = true;
  static constexpr norm_kind norm = norm_kind::rms_norm;
  static constexpr position_kind positions = position_kind::rotary;
  static constexpr bool causal = true;
  static constexpr bool token_types = false;
  static constexpr bool gated_mlp = true;            // down(act(gate(x)) * up(x)): SwiGLU
  static constexpr bool fused_qkv = false;
  static constexpr bool final_norm = true;           // model.norm
};

}  // namespace vtrans::nn
