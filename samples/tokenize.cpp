// eidetic-tokenize: text → token ids with the tokenizer inside a model file,
// or ids → text with --decode.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <sstream>

#include "runtime/src/model/model_file.h"
#include "runtime/src/session/model.h"

using namespace eidetic;

int main(int argc, char** argv) {
  CLI::App app{
      "Tokenize text with the tokenizer stored in an Eidetic model file (ids out, comma-separated),\n"
      "or turn ids back into text with --decode.\n\n"
      "  eidetic-tokenize -m model.eid \"Hello world\"\n  eidetic-tokenize -m model.eid --decode 15496,995"};
  std::string path, text, decode_ids;
  bool no_special = false, show_pieces = false;
  app.add_option("-m,--model", path, "model file (.eid)")->required();
  app.add_option("text", text, "text to tokenize");
  app.add_option("--decode", decode_ids, "comma-separated ids to turn into text");
  app.add_flag("--no-special", no_special, "treat special tokens written in the text as plain text");
  app.add_flag("--pieces", show_pieces, "also print each token's text, one per line");
  CLI11_PARSE(app, argc, argv);

  auto file = ModelFile::open(path);
  if (!file) return std::fprintf(stderr, "eidetic-tokenize: error: %s\n", file.status().message().c_str()), 1;
  const fb::Tokenizer* stored = (*file)->model().tokenizer();
  if (!stored) return std::fprintf(stderr, "eidetic-tokenize: error: %s carries no tokenizer\n", path.c_str()), 1;
  auto tok = Tokenizer::create(read_tokenizer_data(*stored));
  if (!tok) return std::fprintf(stderr, "eidetic-tokenize: error: %s\n", tok.status().message().c_str()), 1;

  if (!decode_ids.empty()) {
    std::vector<int32_t> ids;
    std::stringstream ss(decode_ids);
    for (std::string item; std::getline(ss, item, ',');) {
      char* end = nullptr;
      const long v = std::strtol(item.c_str(), &end, 10);
      if (item.empty() || *end != '\0' || v < INT32_MIN || v > INT32_MAX)
        return std::fprintf(stderr, "eidetic-tokenize: error: '%s' is not a token id\n", item.c_str()), 1;
      ids.push_back(int32_t(v));
    }
    auto out = tok->decode(ids);
    if (!out) return std::fprintf(stderr, "eidetic-tokenize: error: %s\n", out.status().message().c_str()), 1;
    std::fwrite(out->data(), 1, out->size(), stdout);
    std::printf("\n");
    return 0;
  }
  const auto ids = tok->encode(text, !no_special);
  for (size_t i = 0; i < ids.size(); ++i) std::printf("%s%d", i ? "," : "", ids[i]);
  std::printf("\n");
  if (show_pieces)
    for (int32_t id : ids) std::printf("%6d  %s\n", id, tok->token_text(id).value().c_str());
  return 0;
}
