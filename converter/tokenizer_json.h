// Reads a Hugging Face tokenizer.json into TokenizerData. Only the
// configurations the runtime reproduces exactly are accepted:
//  - byte-level BPE: pre-tokenizer ByteLevel (use_regex: GPT-2 split), or a
//    Sequence of Split (the GPT-2, Llama-3 or Qwen2 regex, Isolated) and
//    ByteLevel without regex; normalizer none or NFC; decoder ByteLevel;
//  - metaspace BPE: normalizers [Prepend("▁"),] Replace(" ", "▁") or a
//    Metaspace pre-tokenizer (prepend_scheme first/always/never, no split);
//    decoder Replace("▁", " "), ByteFallback, Fuse, Strip(" ", 1, 0).
// Anything else (another model type, normalizer, regex, decoder ...) is an
// error naming the file and the piece, never an approximation. The
// post-processor, truncation and padding are ignored: they do not change
// encode(text, add_special_tokens=False). bos_id / eos_id are left at -1.
#pragma once

#include <string>

#include "runtime/src/core/status.h"
#include "runtime/src/tokenizer/tokenizer_data.h"

namespace eidetic::convert {

Result<TokenizerData> parse_tokenizer_json(const std::string& path);

}  // namespace eidetic::convert
