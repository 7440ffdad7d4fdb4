#include "converter/model_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "converter/quantize.h"
#include "converter/version.h"
#include "runtime/src/core/half.h"
#include "runtime/src/model/file_header.h"

namespace eidetic::convert {
namespace {

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

Status write_all(int fd, const void* p, size_t n, const std::string& path) {
  const auto* c = static_cast<const uint8_t*>(p);
  while (n) {
    ssize_t w = ::write(fd, c, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return io_error(path + ": write failed: " + std::strerror(errno));
    }
    c += w;
    n -= size_t(w);
  }
  return Status::ok();
}

}  // namespace

ModelWriter::ModelWriter(std::string out_path)
    : out_path_(std::move(out_path)), data_path_(out_path_ + ".partial"), fingerprint_(kHashSeed) {}

ModelWriter::~ModelWriter() {
  if (data_) {
    std::fclose(data_);
    std::remove(data_path_.c_str());
  }
}

Status ModelWriter::open() {
  data_ = std::fopen(data_path_.c_str(), "wb+");
  if (!data_) return io_error(data_path_ + ": cannot create: " + std::strerror(errno));
  return Status::ok();
}

Status ModelWriter::append(const void* bytes, size_t n) {
  if (std::fwrite(bytes, 1, n, data_) != n) return io_error(data_path_ + ": write failed (disk full?)");
  fingerprint_ = hash_bytes(fingerprint_, bytes, n);
  data_size_ += n;
  return Status::ok();
}

Result<int> ModelWriter::add_tensor(const std::string& name, const std::vector<uint64_t>& shape,
                                    const std::vector<float>& values, fb::DType dtype) {
  static const uint8_t zeros[kTensorAlignment] = {};
  EID_TRY(append(zeros, align_up(data_size_, kTensorAlignment) - data_size_));
  const uint64_t offset = data_size_;
  if (dtype == fb::DType::F32) {
    EID_TRY(append(values.data(), values.size() * sizeof(float)));
  } else if (dtype == fb::DType::F16) {
    std::vector<uint16_t> half(values.size());
    for (size_t i = 0; i < values.size(); ++i) half[i] = f32_to_f16(values[i]);
    EID_TRY(append(half.data(), half.size() * sizeof(uint16_t)));
  } else if (dtype == fb::DType::Q8 || dtype == fb::DType::Q4) {
    // Payload, then the scales at the next aligned offset.
    if (shape.empty()) return invalid_argument("quantizing a scalar tensor '" + name + "'");
    const uint64_t cols = shape.back(), rows = cols ? values.size() / cols : 0;
    const QuantizedMatrix q = quantize_matrix(dtype, values.data(), rows, cols);
    EID_TRY(append(q.payload.data(), q.payload.size()));
    const uint64_t size = data_size_ - offset;
    EID_TRY(append(zeros, align_up(data_size_, kTensorAlignment) - data_size_));
    const uint64_t scale_offset = data_size_;
    EID_TRY(append(q.scales.data(), q.scales.size() * sizeof(uint16_t)));
    auto quant = fb::CreateQuantParams(fbb_, uint32_t(kQuantGroup), q.padded_cols, fb::DType::F16, scale_offset,
                                       q.scales.size() * sizeof(uint16_t));
    tensors_.push_back(fb::CreateTensorDirect(fbb_, name.c_str(), dtype, &shape, offset, size, quant));
    return int(tensors_.size() - 1);
  } else {
    return unsupported(std::string("writing ") + fb::EnumNameDType(dtype) + " tensors");
  }
  const uint64_t size = data_size_ - offset;
  tensors_.push_back(fb::CreateTensorDirect(fbb_, name.c_str(), dtype, &shape, offset, size));
  return int(tensors_.size() - 1);
}

void ModelWriter::set_tokenizer(const TokenizerData& t) {
  std::vector<flatbuffers::Offset<flatbuffers::String>> vocab;
  vocab.reserve(t.vocab.size());
  for (const auto& s : t.vocab) vocab.push_back(fbb_.CreateString(s));
  std::vector<int32_t> left, right;
  for (const auto& [l, r] : t.merges) {
    left.push_back(l);
    right.push_back(r);
  }
  std::vector<flatbuffers::Offset<fb::AddedToken>> added;
  for (const auto& a : t.added)
    added.push_back(fb::CreateAddedTokenDirect(fbb_, a.id, a.content.c_str(), a.special, a.lstrip, a.rstrip,
                                               a.normalized, a.single_word));
  tokenizer_ =
      fb::CreateTokenizerDirect(fbb_, fb::TokenizerKind(t.kind), fb::SplitPattern(t.split), t.add_prefix_space,
                                t.metaspace_prepend, t.byte_fallback, t.fuse_unk, t.unk_id, t.bos_id, t.eos_id, &vocab,
                                &left, &right, &added, t.ignore_merges, t.nfc, fb::MetaspaceMode(t.metaspace_mode));
}

Status ModelWriter::finish(const ModelInfo& info) {
  auto metadata = fb::CreateMetadataDirect(fbb_, info.architecture.c_str(), info.source_config.c_str(),
                                           kConverterVersion, fingerprint_);
  auto model =
      fb::CreateModelDirect(fbb_, metadata, info.hidden_size, info.vocab_size, &tensors_, &blocks_, tokenizer_);
  fb::FinishModelBuffer(fbb_, model);
  if (std::fflush(data_) != 0) return io_error(data_path_ + ": write failed (disk full?)");

  FileHeader h{};
  std::memcpy(h.magic, kFileMagic, sizeof(kFileMagic));
  h.format_version = kFormatVersion;
  h.header_size = sizeof(FileHeader);
  h.flatbuffer_offset = sizeof(FileHeader);
  h.flatbuffer_size = fbb_.GetSize();
  h.data_offset = align_up(h.flatbuffer_offset + h.flatbuffer_size, kDataAlignment);
  h.data_size = data_size_;
  seal_header(&h, fbb_.GetBufferPointer());

  const std::string tmp = out_path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error(tmp + ": cannot create: " + std::strerror(errno));
  std::vector<uint8_t> head(h.data_offset, 0);
  std::memcpy(head.data(), &h, sizeof h);
  std::memcpy(head.data() + h.flatbuffer_offset, fbb_.GetBufferPointer(), fbb_.GetSize());
  Status s = write_all(fd, head.data(), head.size(), tmp);
  // Append the weight segment with an in-kernel copy; no second pass through user space.
  int in = fileno(data_);
  loff_t in_off = 0;
  while (s.is_ok() && uint64_t(in_off) < data_size_) {
    ssize_t n = copy_file_range(in, &in_off, fd, nullptr, data_size_ - uint64_t(in_off), 0);
    if (n <= 0) s = io_error(tmp + ": copying the weight segment failed: " + std::strerror(errno));
  }
  if (::close(fd) != 0 && s.is_ok()) s = io_error(tmp + ": close failed: " + std::strerror(errno));
  if (s.is_ok() && std::rename(tmp.c_str(), out_path_.c_str()) != 0)
    s = io_error(out_path_ + ": cannot move into place: " + std::strerror(errno));
  if (!s.is_ok()) std::remove(tmp.c_str());
  return s;
}

}  // namespace eidetic::convert
