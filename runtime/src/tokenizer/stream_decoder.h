// Incremental decoding for generation: feed one id at a time, get back the
// text that is final. The concatenation of everything returned (push()
// results, then flush()) equals Tokenizer::decode of the same ids, and every
// returned string is valid UTF-8 made of whole characters.
//
// What is held back, and why:
//  - byte-level: the bytes of a character a token left unfinished, until a
//    later token completes it (or proves it invalid: then U+FFFD);
//  - metaspace: a run of <0xNN> byte tokens, until a non-byte token ends it,
//    because HF decides a run's fate as a whole (its text if the whole run
//    is valid UTF-8, else one U+FFFD per byte).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "runtime/src/core/status.h"

namespace eidetic {

class Detokenizer;

class StreamDecoder {
 public:
  // Keeps `detokenizer` alive through the shared pointer.
  StreamDecoder(std::shared_ptr<const void> owner, const Detokenizer* detokenizer, bool skip_special);

  // Text completed by this id (possibly empty); an error for an id outside
  // the vocabulary, which leaves the decoder unchanged.
  Result<std::string> push(int32_t id);

  // Everything still held back (invalid leftovers as U+FFFD); the decoder
  // is then reset.
  std::string flush();

  // Forget all state, as if newly made.
  void reset();

 private:
  std::string emit(std::string text);

  std::shared_ptr<const void> owner_;
  const Detokenizer* d_;
  bool skip_special_;
  std::string pending_;   // held-back bytes
  bool at_start_ = true;  // no text emitted yet (for the metaspace Strip)
};

}  // namespace eidetic
