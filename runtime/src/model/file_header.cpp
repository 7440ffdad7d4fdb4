#include "runtime/src/model/file_header.h"

#include <cstddef>

namespace eidetic {

uint64_t hash_bytes(uint64_t seed, const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t h = seed;
  for (size_t i = 0; i < size; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

void seal_header(FileHeader* header, const uint8_t* flatbuffer) {
  header->flatbuffer_hash = hash_bytes(kHashSeed, flatbuffer, header->flatbuffer_size);
  header->header_hash = hash_bytes(kHashSeed, header, offsetof(FileHeader, header_hash));
}

}  // namespace eidetic
