#pragma once
// Building an ONNX graph (opset 17) from transformer pieces: named initializers, linear layers,
// LayerNormalization, activations and multi-head attention over [batch, sequence, hidden]
// activations whose batch and sequence sizes are only known at run time.
//
// Linear weights are stored transposed ([in, out], the MatMul operand) under their parameter's
// name. With 16-bit storage, matrices are stored as float16 or bfloat16 and cast to float32 when
// the graph runs (ONNX Runtime folds the casts once, at load), so the file halves and the
// arithmetic stays float32; vectors (biases, norms) stay float32.
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "vtrans/error.hpp"
#include "vtrans/io/onnx.hpp"
#include "vtrans/tensor/math.hpp"

namespace vtrans::exports {

class onnx_builder {
 public:
  using attribute = io::onnx::attribute;

  explicit onnx_builder(io::onnx::element matrix_type = io::onnx::element::float32) : matrix_type_(matrix_type) {}

  io::onnx::model& model() { return m_; }

  // A node; returns its output's name (`out`, or a fresh one).
  std::string op(const std::string& type, std::vector<std::string> inputs, std::vector<attribute> attrs = {}, std::string out = {}) {
    if (out.empty()) out = fresh(type);
    m_.nodes.push_back({type, std::move(inputs), {out}, out, std::move(attrs)});
    return out;
  }

  // Constants
  std::string ints(const std::vector<std::int64_t>& v) { return constant(io::onnx::tensor::int64s(fresh("ints"), {std::int64_t(v.size())}, v)); }
  std::string int_scalar(std::int64_t v) { return constant(io::onnx::tensor::int64s(fresh("int"), {}, {v})); }
  std::string float_scalar(float v) { return constant(io::onnx::tensor::floats(fresh("float"), {}, {v})); }

  // A float weight under `name` (stored once however often it is asked for); matrices in the
  // builder's storage type, cast back to float32.
  std::string weight(const std::string& name, std::vector<std::int64_t> dims, const std::vector<float>& v) {
    if (auto it = weights_.find(name); it != weights_.end()) return it->second;
    const bool narrow = dims.size() >= 2 && matrix_type_ != io::onnx::element::float32;
    m_.initializers.push_back(io::onnx::tensor::floats(name, std::move(dims), v, narrow ? matrix_type_ : io::onnx::element::float32));
    return weights_[name] = narrow ? op("Cast", {name}, {{"to", std::int64_t(io::onnx::element::float32)}}, name + ".float") : name;
  }
  bool has_weight(const std::string& name) const { return weights_.count(name) != 0; }

  // x W^T + b for a torch-layout weight W [out, in]; `b` may be empty.
  std::string linear(const std::string& x, const std::string& name, const std::vector<float>& w, std::int64_t out, std::int64_t in,
                     const std::string& bias_name = {}, const std::vector<float>& b = {}) {
    std::vector<float> t(w.size());
    for (std::int64_t r = 0; r < out; ++r)
      for (std::int64_t c = 0; c < in; ++c) t[std::size_t(c * out + r)] = w[std::size_t(r * in + c)];
    std::string y = op("MatMul", {x, weight(name, {in, out}, t)});
    return b.empty() ? y : op("Add", {y, weight(bias_name, {out}, b)});
  }

  std::string layer_norm(const std::string& x, const std::string& w, const std::string& b, double eps) {
    return op("LayerNormalization", {x, w, b}, {{"axis", std::int64_t(-1)}, {"epsilon", float(eps)}});
  }

  // The activations of math::unary_op that transformer FFNs use.
  std::string activation(const std::string& x, math::unary_op a) {
    switch (a) {
      case math::unary_op::relu: return op("Relu", {x});
      case math::unary_op::tanh: return op("Tanh", {x});
      case math::unary_op::silu: return op("Mul", {x, op("Sigmoid", {x})});
      case math::unary_op::gelu: {  // x/2 (1 + erf(x / sqrt 2))
        const std::string e = op("Erf", {op("Mul", {x, float_scalar(float(1 / std::sqrt(2.0)))})});
        return op("Mul", {op("Mul", {x, float_scalar(0.5f)}), op("Add", {e, float_scalar(1)})});
      }
      case math::unary_op::gelu_tanh: {  // x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        const std::string cube = op("Mul", {x, op("Mul", {x, x})});
        const std::string inner = op("Mul", {op("Add", {x, op("Mul", {cube, float_scalar(0.044715f)})}), float_scalar(float(std::sqrt(2 / 3.14159265358979323846)))});
        return op("Mul", {op("Mul", {x, float_scalar(0.5f)}), op("Add", {op("Tanh", {inner}), float_scalar(1)})});
      }
      default: throw vtrans::usage_error("ONNX: activation not supported in an FFN");
    }
  }

  // Scaled dot-product attention of q [B, S, H*d], k and v [B, S, Hkv*d] with an additive score
  // bias broadcastable to [B, H, S, S]; returns [B, S, H*d]. Query head h reads key/value head
  // h / (H / Hkv) (grouped-query attention).
  std::string attention(const std::string& q, const std::string& k, const std::string& v, std::int64_t heads, std::int64_t kv_heads,
                        std::int64_t head_dim, const std::string& score_bias) {
    auto split = [&](const std::string& x, std::int64_t h, std::vector<std::int64_t> perm) {
      return op("Transpose", {op("Reshape", {x, ints({0, 0, h, head_dim})})}, {{"perm", perm}});
    };
    std::string kt = split(k, kv_heads, {0, 2, 3, 1}), vt = split(v, kv_heads, {0, 2, 1, 3});
    if (kv_heads != heads) {  // repeat each key/value head for its group of query heads
      const std::int64_t group = heads / kv_heads;
      auto repeat = [&](const std::string& x, std::int64_t a, std::int64_t b) {  // [B, Hkv, a, b] -> [B, H, a, b]
        const std::string e = op("Expand", {op("Unsqueeze", {x, ints({2})}), ints({1, 1, group, 1, 1})});
        return op("Reshape", {e, ints({0, heads, a, b})});
      };
      kt = repeat(kt, head_dim, -1);
      vt = repeat(vt, -1, head_dim);
    }
    const std::string scores = op("Add", {op("Mul", {op("MatMul", {split(q, heads, {0, 2, 1, 3}), kt}), float_scalar(float(1 / std::sqrt(double(head_dim))))}),
                                          score_bias});
    const std::string ctx = op("MatMul", {op("Softmax", {scores}, {{"axis", std::int64_t(-1)}}), vt});
    return op("Reshape", {op("Transpose", {ctx}, {{"perm", std::vector<std::int64_t>{0, 2, 1, 3}}}), ints({0, 0, heads * head_dim})});
  }

 private:
  std::string fresh(const std::string& hint) { return "/" + hint + "_" + std::to_string(next_++); }
  std::string constant(io::onnx::tensor t) {
    const std::string name = t.name;
    m_.initializers.push_back(std::move(t));
    return name;
  }

  io::onnx::model m_;
  io::onnx::element matrix_type_;
  std::map<std::string, std::string> weights_;  // initializer name -> the float32 value's name
  int next_ = 0;
};

}  // namespace vtrans::exports
