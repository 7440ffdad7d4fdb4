// The fixed 64-byte header at the start of every .eid file. It says where the
// flatbuffer and the weight segment lie, so that neither needs the other's size
// to be known in advance when writing.
#pragma once

#include <cstddef>
#include <cstdint>

namespace eidetic {

constexpr char kFileMagic[8] = {'E', 'I', 'D', 'E', 'T', 'I', 'C', '\0'};
constexpr uint32_t kFormatVersion = 1;
constexpr uint64_t kDataAlignment = 4096;  // weight segment start: a page
constexpr uint64_t kTensorAlignment = 64;  // each tensor: a cache line / AVX-512 vector

struct FileHeader {
  char magic[8];
  uint32_t format_version;
  uint32_t header_size;  // sizeof(FileHeader), for future growth
  uint64_t flatbuffer_offset;
  uint64_t flatbuffer_size;
  uint64_t data_offset;
  uint64_t data_size;
  uint64_t flatbuffer_hash;  // hash_bytes of the flatbuffer
  uint64_t header_hash;      // hash_bytes of the 56 bytes before this field
};
static_assert(sizeof(FileHeader) == 64, "the on-disk header is 64 bytes");

// A fast 64-bit hash (FNV-1a over bytes). It guards the header and the
// flatbuffer against corruption and fingerprints weights; it is not a
// cryptographic signature.
constexpr uint64_t kHashSeed = 0xcbf29ce484222325ull;
uint64_t hash_bytes(uint64_t seed, const void* data, size_t size);

// Fill in both hashes of a header whose other fields are final.
void seal_header(FileHeader* header, const uint8_t* flatbuffer);

}  // namespace eidetic
