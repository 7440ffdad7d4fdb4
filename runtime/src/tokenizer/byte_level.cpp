#include "runtime/src/tokenizer/byte_level.h"

#include <array>

#include "runtime/src/tokenizer/unicode.h"

namespace eidetic::byte_level {
namespace {

bool maps_to_itself(uint32_t b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

std::array<uint32_t, 256> make_byte_to_char() {
  std::array<uint32_t, 256> t{};
  uint32_t next = 256;
  for (uint32_t b = 0; b < 256; ++b) t[b] = maps_to_itself(b) ? b : next++;
  return t;
}
const std::array<uint32_t, 256> kByteToChar = make_byte_to_char();

// All mapped code points lie below U+0144: a flat inverse table suffices.
constexpr uint32_t kInverseSize = 0x144;
std::array<int16_t, kInverseSize> make_char_to_byte() {
  std::array<int16_t, kInverseSize> t{};
  t.fill(-1);
  for (uint32_t b = 0; b < 256; ++b) t[kByteToChar[b]] = static_cast<int16_t>(b);
  return t;
}
const std::array<int16_t, kInverseSize> kCharToByte = make_char_to_byte();

}  // namespace

uint32_t byte_to_char(uint8_t b) { return kByteToChar[b]; }

int char_to_byte(uint32_t cp) { return cp < kInverseSize ? kCharToByte[cp] : -1; }

std::string encode_bytes(std::string_view raw) {
  std::string out;
  out.reserve(raw.size() * 2);
  for (char c : raw) unicode::append_utf8(out, kByteToChar[static_cast<uint8_t>(c)]);
  return out;
}

bool decode_token(std::string_view token, std::string* raw) {
  raw->clear();
  for (size_t i = 0; i < token.size();) {
    const unicode::Utf8Step step = unicode::decode_utf8(token, i);
    const int b = step.valid ? char_to_byte(step.cp) : -1;
    if (b < 0) return false;
    *raw += static_cast<char>(b);
    i += step.length;
  }
  return true;
}

}  // namespace eidetic::byte_level
