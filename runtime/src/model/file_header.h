// The fixed 64-byte header at the start of every .eid file. It says where the
// flatbuffer and the weight segment lie, so that neither needs the other's size
// to be known in advance when writing.
#pragma once

#include <cstdint>

namespace eidetic {

constexpr char kFileMagic[8] = {'E', 'I', 'D', 'E', 'T', 'I', 'C', '\0'};
constexpr uint32_t kFormatVersion = 1;
constexpr uint64_t kDataAlignment = 4096;   // weight segment start: a page
constexpr uint64_t kTensorAlignment = 64;   // each tensor: a cache line / AVX-512 vector

struct FileHeader {
  char magic[8];
  uint32_t format_version;
  uint32_t header_size;        // sizeof(FileHeader), for future growth
  uint64_t flatbuffer_offset;
  uint64_t flatbuffer_size;
  uint64_t data_offset;
  uint64_t data_size;
  uint64_t reserved[2];
};
static_assert(sizeof(FileHeader) == 64, "the on-disk header is 64 bytes");

}  // namespace eidetic
