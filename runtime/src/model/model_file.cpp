#include "runtime/src/model/model_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "runtime/src/model/block_verifier.h"
#include "runtime/src/model/dtype.h"

namespace eidetic {
namespace {

constexpr size_t kMaxRank = 4;

bool add_overflows(uint64_t a, uint64_t b, uint64_t* out) { return __builtin_add_overflow(a, b, out); }
bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out) { return __builtin_mul_overflow(a, b, out); }

// Is [offset, offset+size) inside [0, limit)?
bool range_inside(uint64_t offset, uint64_t size, uint64_t limit) {
  uint64_t end;
  return !add_overflows(offset, size, &end) && end <= limit;
}

Status check_header(const uint8_t* base, uint64_t size, FileHeader* out) {
  if (size < sizeof(FileHeader))
    return invalid_model("file is " + std::to_string(size) + " bytes, shorter than the 64-byte header");
  std::memcpy(out, base, sizeof(FileHeader));
  if (std::memcmp(out->magic, kFileMagic, sizeof(kFileMagic)) != 0)
    return invalid_model("not an Eidetic model file (bad magic)");
  if (out->header_hash != hash_bytes(kHashSeed, out, offsetof(FileHeader, header_hash)))
    return invalid_model("header is corrupt (checksum mismatch)");
  if (out->format_version != kFormatVersion)
    return unsupported("model file format version " + std::to_string(out->format_version) +
                       ", this runtime reads version " + std::to_string(kFormatVersion));
  // The writer lays the parts out exactly so; anything else is damage.
  uint64_t fb_end;
  if (out->header_size != sizeof(FileHeader) || out->flatbuffer_offset != sizeof(FileHeader) ||
      add_overflows(out->flatbuffer_offset, out->flatbuffer_size, &fb_end) ||
      out->data_offset != (fb_end + kDataAlignment - 1) / kDataAlignment * kDataAlignment)
    return invalid_model("header describes an impossible layout");
  uint64_t end;
  if (add_overflows(out->data_offset, out->data_size, &end) || end != size)
    return invalid_model("file is " + std::to_string(size) + " bytes, its header says " +
                         std::to_string(out->data_offset + out->data_size) + " (truncated or padded?)");
  if (hash_bytes(kHashSeed, base + out->flatbuffer_offset, out->flatbuffer_size) != out->flatbuffer_hash)
    return invalid_model("model description is corrupt (checksum mismatch)");
  for (uint64_t i = fb_end; i < out->data_offset; ++i)
    if (base[i] != 0) return invalid_model("padding before the weight segment is not zero");
  return Status::ok();
}

Status check_flatbuffer(const uint8_t* fb, uint64_t size) {
  if (size < 8 || !fb::ModelBufferHasIdentifier(fb)) return invalid_model("flatbuffer identifier is not \"EIDM\"");
  flatbuffers::Verifier::Options options;
  options.max_tables = 10'000'000;
  flatbuffers::Verifier verifier(fb, size, options);
  if (!fb::VerifyModelBuffer(verifier)) return invalid_model("flatbuffer failed verification (corrupt file)");
  return Status::ok();
}

// Expected byte size of a tensor, or an error for an impossible description.
Result<uint64_t> expected_size(const fb::Tensor& t, std::string* what) {
  const auto* shape = t.shape();
  if (shape->size() == 0 || shape->size() > kMaxRank) return invalid_model(*what + ": rank must be 1 to 4");
  uint64_t numel = 1;
  for (uint64_t d : *shape) {
    if (d == 0) return invalid_model(*what + ": zero-sized dimension");
    if (mul_overflows(numel, d, &numel)) return invalid_model(*what + ": shape overflows");
  }
  if (t.dtype() > DType::MAX) return invalid_model(*what + ": unknown dtype " + std::to_string(int(t.dtype())));
  const bool quantized = dtype_element_size(t.dtype()) == 0;
  if (!quantized) {
    if (t.quant()) return invalid_model(*what + ": quantization parameters on a plain tensor");
    uint64_t bytes;
    if (mul_overflows(numel, dtype_element_size(t.dtype()), &bytes)) return invalid_model(*what + ": size overflows");
    return bytes;
  }
  const auto* q = t.quant();
  if (!q) return invalid_model(*what + ": quantized tensor without quantization parameters");
  const uint64_t cols = shape->Get(shape->size() - 1);
  const uint64_t rows = numel / cols;
  if (q->group_size() == 0 || q->group_size() % 2 != 0 || q->padded_cols() < cols ||
      q->padded_cols() % q->group_size() != 0 || q->padded_cols() - cols >= q->group_size())
    return invalid_model(*what + ": inconsistent quantization grouping");
  if (q->scale_dtype() != DType::F16 && q->scale_dtype() != DType::F32)
    return invalid_model(*what + ": scales must be f16 or f32");
  uint64_t scale_bytes;
  if (mul_overflows(rows * (q->padded_cols() / q->group_size()), dtype_element_size(q->scale_dtype()), &scale_bytes) ||
      scale_bytes != q->scale_size())
    return invalid_model(*what + ": scale size does not match its grouping");
  return quantized_payload_size(t.dtype(), rows, q->padded_cols());
}

struct Range {
  uint64_t begin, end;
  int tensor;
};

Status check_tensors(const fb::Model& model, uint64_t data_size) {
  std::vector<Range> ranges;
  const auto& tensors = *model.tensors();
  for (unsigned i = 0; i < tensors.size(); ++i) {
    const fb::Tensor& t = *tensors.Get(i);
    std::string what = "tensor " + std::to_string(i) + " '" + t.name()->str() + "'";
    EID_ASSIGN_OR_RETURN(uint64_t bytes, expected_size(t, &what));
    if (t.size() != bytes)
      return invalid_model(what + ": stored size " + std::to_string(t.size()) + " bytes, its shape and dtype need " +
                           std::to_string(bytes));
    if (t.offset() % kTensorAlignment != 0) return invalid_model(what + ": offset not 64-byte aligned");
    if (!range_inside(t.offset(), t.size(), data_size))
      return invalid_model(what + ": data lies past the end of the file");
    ranges.push_back({t.offset(), t.offset() + t.size(), int(i)});
    if (const auto* q = t.quant()) {
      if (q->scale_offset() % kTensorAlignment != 0 || !range_inside(q->scale_offset(), q->scale_size(), data_size))
        return invalid_model(what + ": scales misaligned or past the end of the file");
      ranges.push_back({q->scale_offset(), q->scale_offset() + q->scale_size(), int(i)});
    }
  }
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].begin < ranges[i - 1].end)
      return invalid_model("tensors " + std::to_string(ranges[i - 1].tensor) + " and " +
                           std::to_string(ranges[i].tensor) + " overlap in the weight segment");
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<ModelFile>> ModelFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return io_error(path + ": not a regular file");
  }
  std::unique_ptr<ModelFile> file(new ModelFile());
  file->path_ = path;
  file->size_ = uint64_t(st.st_size);
  if (file->size_ > 0) {
    void* p = mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      return io_error("cannot map " + path + ": " + std::strerror(errno));
    }
    file->base_ = static_cast<const uint8_t*>(p);
    file->mapped_ = true;
  }
  ::close(fd);
  auto verified = verify(std::move(file));
  if (!verified) return Status(verified.status().code(), path + ": " + verified.status().message());
  return verified;
}

Result<std::unique_ptr<ModelFile>> ModelFile::from_bytes(const void* bytes, size_t size) {
  std::unique_ptr<ModelFile> file(new ModelFile());
  file->path_ = "<memory>";
  file->size_ = size;
  // Round up so aligned_alloc's size rule holds; keep at least one page.
  void* copy = std::aligned_alloc(kDataAlignment, (size / kDataAlignment + 1) * kDataAlignment);
  if (!copy) return Status(Code::kOutOfMemory, "cannot allocate a copy of the model image");
  if (size) std::memcpy(copy, bytes, size);
  file->base_ = static_cast<const uint8_t*>(copy);
  return verify(std::move(file));
}

Result<std::unique_ptr<ModelFile>> ModelFile::verify(std::unique_ptr<ModelFile> file) {
  EID_TRY(check_header(file->base_, file->size_, &file->header_));
  const FileHeader& h = file->header_;
  EID_TRY(check_flatbuffer(file->base_ + h.flatbuffer_offset, h.flatbuffer_size));
  file->model_ = fb::GetModel(file->base_ + h.flatbuffer_offset);
  EID_TRY(check_tensors(*file->model_, h.data_size));
  EID_TRY(verify_blocks(*file->model_));
  return file;
}

ModelFile::~ModelFile() {
  if (mapped_)
    munmap(const_cast<uint8_t*>(base_), size_);
  else
    std::free(const_cast<uint8_t*>(base_));
}

const uint8_t* ModelFile::tensor_data(int index) const { return base_ + header_.data_offset + tensor(index).offset(); }

const uint8_t* ModelFile::tensor_scales(int index) const {
  return base_ + header_.data_offset + tensor(index).quant()->scale_offset();
}

int ModelFile::find_tensor(const std::string& name) const {
  const auto& tensors = *model_->tensors();
  for (unsigned i = 0; i < tensors.size(); ++i)
    if (tensors.Get(i)->name()->str() == name) return int(i);
  return -1;
}

}  // namespace eidetic
