// GPT-2's reversible byte <-> code point mapping: every byte gets a visible,
// non-whitespace code point, so a byte-level vocabulary is a set of ordinary
// strings. Printable Latin-1 bytes map to themselves, the 68 others to
// U+0100.. in byte order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace eidetic::byte_level {

// The code point standing for byte b.
uint32_t byte_to_char(uint8_t b);

// The byte a code point stands for, or -1 when it stands for none.
int char_to_byte(uint32_t cp);

// UTF-8 of the mapped form of raw bytes (what a byte-level vocab stores).
std::string encode_bytes(std::string_view raw);

// Raw bytes of a vocab token when each of its characters stands for a byte;
// false (and *raw unspecified) otherwise, e.g. for added tokens like
// "<|endoftext|>" written with non-mapped characters.
bool decode_token(std::string_view token, std::string* raw);

}  // namespace eidetic::byte_level
