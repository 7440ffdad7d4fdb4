#include "converter/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "runtime/src/core/half.h"

namespace eidetic::convert {

class MappedFile {
 public:
  ~MappedFile() {
    if (base) munmap(base, size);
  }
  uint8_t* base = nullptr;
  uint64_t size = 0;
};

namespace {

Result<std::shared_ptr<MappedFile>> map_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error(path + ": " + std::strerror(errno));
  struct stat st {};
  fstat(fd, &st);
  auto m = std::make_shared<MappedFile>();
  m->size = uint64_t(st.st_size);
  if (m->size) {
    void* p = mmap(nullptr, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      return io_error(path + ": cannot map: " + std::strerror(errno));
    }
    m->base = static_cast<uint8_t*>(p);
  }
  ::close(fd);
  return m;
}

StDType parse_dtype(const std::string& s) {
  if (s == "F32") return StDType::kF32;
  if (s == "F16") return StDType::kF16;
  if (s == "BF16") return StDType::kBF16;
  return StDType::kOther;
}

uint64_t dtype_bytes(const std::string& s) {
  static const std::map<std::string, uint64_t> sizes = {
      {"F64", 8}, {"F32", 4},  {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4},     {"I16", 2},    {"I8", 1},
      {"U8", 1},  {"BOOL", 1}, {"U16", 2}, {"U32", 4},  {"U64", 8}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
  auto it = sizes.find(s);
  return it == sizes.end() ? 0 : it->second;
}

std::string shape_str(const std::vector<uint64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace

uint64_t StTensor::numel() const {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  return n;
}

Status Checkpoint::add_file(const std::string& path) {
  EID_ASSIGN_OR_RETURN(auto file, map_file(path));
  if (file->size < 8) return invalid_model(path + ": too short for a safetensors file");
  uint64_t header_len;
  std::memcpy(&header_len, file->base, 8);
  if (header_len > file->size - 8) return invalid_model(path + ": safetensors header length runs past the file");
  nlohmann::json header = nlohmann::json::parse(file->base + 8, file->base + 8 + header_len, nullptr, false);
  if (header.is_discarded() || !header.is_object())
    return invalid_model(path + ": malformed safetensors header (bad JSON)");
  const uint64_t data_start = 8 + header_len, data_size = file->size - data_start;
  for (auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;
    const auto bad = [&](const std::string& why) { return invalid_model(path + ": tensor '" + name + "': " + why); };
    if (!info.is_object() || !info["dtype"].is_string() || !info["shape"].is_array() ||
        !info["data_offsets"].is_array() || info["data_offsets"].size() != 2)
      return bad("malformed entry in the safetensors header");
    StTensor t;
    t.name = name;
    t.file = path;
    t.dtype_name = info["dtype"].get<std::string>();
    t.dtype = parse_dtype(t.dtype_name);
    for (const auto& d : info["shape"]) {
      if (!d.is_number_unsigned()) return bad("shape holds a non-integer");
      t.shape.push_back(d.get<uint64_t>());
    }
    const auto& offs = info["data_offsets"];
    if (!offs[0].is_number_unsigned() || !offs[1].is_number_unsigned()) return bad("bad data_offsets");
    const uint64_t begin = offs[0].get<uint64_t>(), end = offs[1].get<uint64_t>();
    if (begin > end || end > data_size) return bad("data_offsets run past the end of the file (truncated?)");
    const uint64_t elem = dtype_bytes(t.dtype_name);
    if (elem == 0) return bad("unknown dtype " + t.dtype_name);
    if (t.numel() * elem != end - begin) return bad("byte size does not match shape " + shape_str(t.shape));
    t.data = file->base + data_start + begin;
    t.bytes = end - begin;
    if (!tensors_.emplace(name, std::move(t)).second) return bad("appears in two shards");
  }
  files_.push_back(std::move(file));
  return Status::ok();
}

Result<Checkpoint> Checkpoint::open_file(const std::string& path) {
  Checkpoint c;
  c.where_ = path;
  EID_TRY(c.add_file(path));
  return c;
}

Result<Checkpoint> Checkpoint::open_dir(const std::string& dir) {
  const std::string single = dir + "/model.safetensors", index = dir + "/model.safetensors.index.json";
  if (std::ifstream(single).good()) {
    return open_file(single);  // errors name model.safetensors itself
  }
  std::ifstream in(index);
  if (!in.good())
    return io_error(
        dir + ": no model.safetensors or model.safetensors.index.json (is this a Hugging Face checkpoint directory?)");
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.contains("weight_map") || !j["weight_map"].is_object())
    return invalid_model(index + ": malformed JSON or no weight_map");
  std::set<std::string> shards;
  for (auto& [name, file] : j["weight_map"].items()) {
    if (!file.is_string()) return invalid_model(index + ": weight_map entry for '" + name + "' is not a file name");
    const std::string f = file.get<std::string>();
    if (f.find('/') != std::string::npos)
      return invalid_model(index + ": shard name '" + f + "' must be a plain file name");
    shards.insert(f);
  }
  Checkpoint c;
  c.where_ = index;  // a missing tensor is one the index does not list
  for (const auto& s : shards) EID_TRY(c.add_file(dir + "/" + s));
  for (auto& [name, file] : j["weight_map"].items())
    if (!c.has(name))
      return invalid_model(index + ": '" + name + "' is listed but not found in " + file.get<std::string>());
  return c;
}

Result<const StTensor*> Checkpoint::get(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) return invalid_model(where_ + ": missing tensor '" + name + "'");
  return &it->second;
}

Result<std::vector<float>> Checkpoint::load_f32(const std::string& name, const std::vector<uint64_t>& shape) const {
  EID_ASSIGN_OR_RETURN(const StTensor* t, get(name));
  // Size-1 dimensions are ignored: HF stores conv weights as [channels, 1, kernel].
  auto drop_ones = [](const std::vector<uint64_t>& v) {
    std::vector<uint64_t> out;
    for (uint64_t d : v)
      if (d != 1) out.push_back(d);
    return out;
  };
  if (!shape.empty() && drop_ones(t->shape) != drop_ones(shape))
    return invalid_model(t->file + ": tensor '" + name + "' has shape " + shape_str(t->shape) + ", expected " +
                         shape_str(shape));
  std::vector<float> out(t->numel());
  // Shard data need not be aligned: read 16-bit values through memcpy.
  auto half = [t](size_t i) {
    uint16_t h;
    std::memcpy(&h, t->data + 2 * i, 2);
    return h;
  };
  switch (t->dtype) {
    case StDType::kF32: std::memcpy(out.data(), t->data, t->bytes); break;
    case StDType::kF16:
      for (size_t i = 0; i < out.size(); ++i) out[i] = f16_to_f32(half(i));
      break;
    case StDType::kBF16:
      for (size_t i = 0; i < out.size(); ++i) out[i] = bf16_to_f32(half(i));
      break;
    case StDType::kOther:
      return unsupported(t->file + ": tensor '" + name + "' has dtype " + t->dtype_name +
                         " (supported: F32, F16, BF16)");
  }
  return out;
}

}  // namespace eidetic::convert
