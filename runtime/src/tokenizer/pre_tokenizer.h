// The pre-tokenizer split regexes of byte-level BPE models, implemented by
// hand as the leftmost-first alternation a backtracking engine (Oniguruma,
// which HF `tokenizers` uses) would run. Pieces are views into the input,
// which must be valid UTF-8; concatenated they give the input back.
#pragma once

#include <string_view>
#include <vector>

#include "runtime/src/tokenizer/tokenizer_data.h"

namespace eidetic {

// GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
void split_gpt2(std::string_view text, std::vector<std::string_view>& out);

// Llama-3 (max_digits 3) and Qwen2 (max_digits 1):
// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,max_digits}|
//  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
void split_llama3(std::string_view text, int max_digits, std::vector<std::string_view>& out);

// Dispatch on the pattern; kNone yields the whole text as one piece.
void pre_tokenize(SplitPattern pattern, std::string_view text, std::vector<std::string_view>& out);

}  // namespace eidetic
