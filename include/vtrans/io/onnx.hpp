#pragma once
// Writing ONNX models: the few messages of onnx/onnx.proto a dense transformer graph needs
// (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto with raw little-endian data,
// ValueInfoProto with symbolic dimensions), serialized with protobuf.hpp. Field numbers are those
// of onnx.proto; a file is written atomically. Protobuf messages cannot exceed 2 GiB, so neither
// can a model here (ONNX's external-data layout is not written).
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "vtrans/io/atomic_file.hpp"
#include "vtrans/io/dtype.hpp"
#include "vtrans/io/errors.hpp"
#include "vtrans/io/float16.hpp"
#include "vtrans/io/protobuf.hpp"

namespace vtrans::io::onnx {

// TensorProto.DataType
enum class element : std::int32_t { float32 = 1, int64 = 7, boolean = 9, float16 = 10, bfloat16 = 16 };

inline std::size_t element_size(element e) {
  switch (e) {
    case element::float32: return 4;
    case element::int64: return 8;
    case element::boolean: return 1;
    case element::float16:
    case element::bfloat16: return 2;
  }
  return 0;
}

struct tensor {
  std::string name;
  std::vector<std::int64_t> dims;
  element type = element::float32;
  std::string raw;  // little-endian values, row-major

  // float values stored as float32, float16 or bfloat16
  static tensor floats(std::string name, std::vector<std::int64_t> dims, const std::vector<float>& v, element type = element::float32) {
    tensor t{std::move(name), std::move(dims), type, {}};
    t.raw.resize(v.size() * element_size(type));
    auto* p = reinterpret_cast<unsigned char*>(t.raw.data());
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (type == element::float32) {
        detail::store_le32(p + 4 * i, detail::bit_cast_to<std::uint32_t>(v[i]));
      } else {
        const std::uint16_t h = type == element::float16 ? float_to_f16(v[i]) : float_to_bf16(v[i]);
        p[2 * i] = static_cast<unsigned char>(h);
        p[2 * i + 1] = static_cast<unsigned char>(h >> 8);
      }
    }
    return t;
  }
  static tensor int64s(std::string name, std::vector<std::int64_t> dims, const std::vector<std::int64_t>& v) {
    tensor t{std::move(name), std::move(dims), element::int64, {}};
    t.raw.resize(v.size() * 8);
    for (std::size_t i = 0; i < v.size(); ++i)
      detail::store_le64(reinterpret_cast<unsigned char*>(t.raw.data()) + 8 * i, static_cast<std::uint64_t>(v[i]));
    return t;
  }
};

struct attribute {
  std::string name;
  std::variant<std::int64_t, float, std::string, std::vector<std::int64_t>, tensor> value;
};

struct node {
  std::string op_type;
  std::vector<std::string> inputs, outputs;
  std::string name;
  std::vector<attribute> attributes;
};

// A graph input or output: element type and dimensions, each a size or a symbolic name.
struct value_info {
  std::string name;
  element type = element::float32;
  std::vector<std::variant<std::int64_t, std::string>> dims;
};

struct model {
  std::string graph_name = "graph";
  std::vector<node> nodes;
  std::vector<tensor> initializers;
  std::vector<value_info> inputs, outputs;
  std::int64_t opset = 17;
  std::int64_t ir_version = 8;  // the IR version that introduced opset 17
  std::string producer_name = "vtrans", producer_version;
  std::vector<std::pair<std::string, std::string>> metadata;
};

namespace detail_onnx {
inline protobuf::writer tensor_message(const tensor& t) {
  protobuf::writer w;
  for (auto d : t.dims) w.add_int(1, d);
  w.add_int(2, static_cast<std::int32_t>(t.type));
  w.add_bytes(8, t.name);
  w.add_bytes(9, t.raw);
  return w;
}

inline protobuf::writer attribute_message(const attribute& a) {
  enum { FLOAT = 1, INT = 2, STRING = 3, TENSOR = 4, INTS = 7 };
  protobuf::writer w;
  w.add_bytes(1, a.name);
  std::visit(
      [&](const auto& v) {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::int64_t>) w.add_int(3, v), w.add_int(20, INT);
        else if constexpr (std::is_same_v<V, float>) w.add_float(2, v), w.add_int(20, FLOAT);
        else if constexpr (std::is_same_v<V, std::string>) w.add_bytes(4, v), w.add_int(20, STRING);
        else if constexpr (std::is_same_v<V, tensor>) w.add_message(5, tensor_message(v)), w.add_int(20, TENSOR);
        else {
          for (auto x : v) w.add_int(8, x);
          w.add_int(20, INTS);
        }
      },
      a.value);
  return w;
}

inline protobuf::writer value_info_message(const value_info& v) {
  protobuf::writer shape;
  for (const auto& d : v.dims) {
    protobuf::writer dim;
    if (std::holds_alternative<std::int64_t>(d)) dim.add_int(1, std::get<std::int64_t>(d));
    else dim.add_bytes(2, std::get<std::string>(d));
    shape.add_message(1, dim);
  }
  protobuf::writer tensor_type;
  tensor_type.add_int(1, static_cast<std::int32_t>(v.type));
  tensor_type.add_message(2, shape);
  protobuf::writer type;
  type.add_message(1, tensor_type);
  protobuf::writer w;
  w.add_bytes(1, v.name);
  w.add_message(2, type);
  return w;
}
}  // namespace detail_onnx

// The ModelProto bytes.
inline std::string serialize(const model& m) {
  using namespace detail_onnx;
  protobuf::writer graph;
  for (const auto& n : m.nodes) {
    protobuf::writer w;
    for (const auto& i : n.inputs) w.add_bytes(1, i);
    for (const auto& o : n.outputs) w.add_bytes(2, o);
    if (!n.name.empty()) w.add_bytes(3, n.name);
    w.add_bytes(4, n.op_type);
    for (const auto& a : n.attributes) w.add_message(5, attribute_message(a));
    graph.add_message(1, w);
  }
  graph.add_bytes(2, m.graph_name);
  for (const auto& t : m.initializers) graph.add_message(5, tensor_message(t));
  for (const auto& v : m.inputs) graph.add_message(11, value_info_message(v));
  for (const auto& v : m.outputs) graph.add_message(12, value_info_message(v));

  protobuf::writer opset;
  opset.add_bytes(1, "");  // the default ONNX domain
  opset.add_int(2, m.opset);
  protobuf::writer w;
  w.add_int(1, m.ir_version);
  w.add_bytes(2, m.producer_name);
  if (!m.producer_version.empty()) w.add_bytes(3, m.producer_version);
  w.add_message(7, graph);
  w.add_message(8, opset);
  for (const auto& [k, v] : m.metadata) {
    protobuf::writer e;
    e.add_bytes(1, k);
    e.add_bytes(2, v);
    w.add_message(14, e);
  }
  return w.release();
}

// Writes the model atomically; models of 2 GiB or more cannot be one protobuf message.
inline void write_model(const std::string& path, const model& m) {
  std::size_t weights = 0;
  for (const auto& t : m.initializers) weights += t.raw.size();
  if (weights >= (std::size_t{1} << 31))
    throw format_error(path + ": the weights take " + std::to_string(weights) + " bytes; an ONNX file without external data holds under 2 GiB");
  write_file_atomic(path, serialize(m));
}

}  // namespace vtrans::io::onnx
