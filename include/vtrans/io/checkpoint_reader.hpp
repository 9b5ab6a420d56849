#pragma once
// One read interface over a Hugging Face model folder, whether its weights are a single
// model.safetensors or shards listed by model.safetensors.index.json
// ({"metadata": {...}, "weight_map": {"<tensor>": "<shard file>"}}).
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vtrans/io/errors.hpp"
#include "vtrans/io/json.hpp"
#include "vtrans/io/safetensors.hpp"

namespace vtrans::io {

inline constexpr const char* safetensors_single_name = "model.safetensors";
inline constexpr const char* safetensors_index_name = "model.safetensors.index.json";

class checkpoint_reader {
 public:
  checkpoint_reader() = default;

  // path: a model folder (model.safetensors preferred, as transformers does, else the index), an
  // index .json file, or a single .safetensors file.
  explicit checkpoint_reader(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      const fs::path single = fs::path(path) / safetensors_single_name;
      const fs::path index = fs::path(path) / safetensors_index_name;
      if (fs::is_regular_file(single, ec)) {
        open_single(single.string());
      } else if (fs::is_regular_file(index, ec)) {
        open_index(index.string());
      } else {
        throw file_error("no checkpoint in " + path + ": neither " + safetensors_single_name + " nor " +
                         safetensors_index_name + " exists");
      }
    } else if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0) {
      open_index(path);
    } else {
      open_single(path);
    }
  }
  static checkpoint_reader open(const std::string& path) { return checkpoint_reader(path); }

  // The index file, or the single safetensors file.
  const std::string& source() const { return source_; }
  std::size_t shard_count() const { return shards_.size(); }
  const safetensors_file& shard(std::size_t i) const { return shards_.at(i); }
  // The shard file holding a tensor.
  const std::string& shard_path(const std::string& name) const { return file_of(name).path(); }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    out.reserve(where_.size());
    for (const auto& kv : where_) out.push_back(kv.first);
    return out;
  }
  bool has(const std::string& name) const { return where_.count(name) != 0; }
  const tensor_info& info(const std::string& name) const { return file_of(name).info(name); }
  byte_span raw(const std::string& name) const { return file_of(name).raw(name); }

  template <class T>
  std::vector<T> read(const std::string& name) const {
    return file_of(name).template read<T>(name);
  }
  template <class T>
  void read_into(const std::string& name, T* dst, std::size_t count) const {
    file_of(name).read_into(name, dst, count);
  }

  // The "__metadata__" of the single file, or of the first shard.
  const std::map<std::string, std::string>& metadata() const {
    static const std::map<std::string, std::string> empty;
    return shards_.empty() ? empty : shards_.front().metadata();
  }

 private:
  const safetensors_file& file_of(const std::string& name) const {
    auto it = where_.find(name);
    if (it == where_.end()) detail::fail(source_, "no tensor named " + detail::quote(name));
    return shards_[it->second];
  }

  void open_single(const std::string& path) {
    source_ = path;
    shards_.emplace_back(path);
    for (const auto& n : shards_.back().names()) where_.emplace(n, 0);
  }

  void open_index(const std::string& path) {
    namespace fs = std::filesystem;
    source_ = path;
    const nlohmann::json index = read_json_file(path);
    if (!index.is_object()) detail::fail(path, "must be a JSON object");
    auto wm = index.find("weight_map");
    if (wm == index.end() || !wm->is_object()) detail::fail(path, "missing or non-object \"weight_map\"");

    const fs::path folder = fs::path(path).parent_path();
    std::map<std::string, std::size_t> shard_ids;
    std::vector<std::pair<std::string, std::size_t>> listed;
    for (auto it = wm->begin(); it != wm->end(); ++it) {
      const std::string& name = it.key();
      if (!it.value().is_string())
        detail::fail(path, "weight_map entry " + detail::quote(name) + " must be a file name, got " + detail::show(it.value()));
      const std::string& file = it.value().get_ref<const std::string&>();
      const fs::path rel(file);
      bool escapes = file.empty() || rel.is_absolute();
      for (const auto& part : rel) escapes = escapes || part == "..";
      if (escapes)
        detail::fail(path, "weight_map entry " + detail::quote(name) + " names shard " + detail::quote(file) +
                               ", which is not a file inside the checkpoint folder");
      auto [sid, inserted] = shard_ids.emplace(file, shard_ids.size());
      if (inserted) {
        const fs::path shard_path = folder / rel;
        std::error_code ec;
        if (!fs::is_regular_file(shard_path, ec))
          detail::fail(path, "shard " + detail::quote(file) + " (holding tensor " + detail::quote(name) + ") does not exist");
      }
      listed.emplace_back(name, sid->second);
    }
    // Open in id order so shard(i) follows the order of first mention.
    std::vector<std::string> files(shard_ids.size());
    for (const auto& [file, id] : shard_ids) files[id] = file;
    for (const auto& file : files) shards_.emplace_back((folder / file).string());
    for (const auto& [name, id] : listed) {
      if (!shards_[id].has(name))
        detail::fail(path, "tensor " + detail::quote(name) + " is mapped to shard " + detail::quote(files[id]) +
                               ", which does not contain it");
      where_.emplace(name, id);
    }
  }

  std::string source_;
  std::vector<safetensors_file> shards_;
  std::map<std::string, std::size_t> where_;  // tensor name -> shard
};

}  // namespace vtrans::io
