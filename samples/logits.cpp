// eidetic-logits: raw logits for a token sequence, so that any outside tool
// can check the numerics. Output: little-endian f32 [n_tokens, vocab].
#include <cstdio>
#include <sstream>

#include "runtime/src/session/session.h"
#include "samples/cli_common.h"

using namespace eidetic;

namespace {

Result<std::vector<int32_t>> parse_ids(const std::string& s) {
  std::vector<int32_t> ids;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < INT32_MIN || v > INT32_MAX)
      return invalid_argument("--ids: '" + item + "' is not a token id");
    ids.push_back(int32_t(v));
  }
  if (ids.empty()) return invalid_argument("--ids: no token ids given");
  return ids;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Write the logits of every position of a token sequence as raw little-endian f32\n"
      "[n_tokens, vocab]: by one prefill, or with --stepwise one token at a time through\n"
      "the recurrent (decode) path."};
  cli::ModelFlags mf;
  std::string ids_text, out;
  bool stepwise = false;
  cli::add_model_flags(app, mf);
  app.add_option("--ids", ids_text, "comma-separated token ids, e.g. 1,2,3")->required();
  app.add_option("-o,--output", out, "output file")->required();
  app.add_flag("--stepwise", stepwise, "feed one token at a time (the decode path)");
  CLI11_PARSE(app, argc, argv);

  auto ids = parse_ids(ids_text);
  if (!ids) cli::die("eidetic-logits", ids.status());
  auto model = cli::load_or_die("eidetic-logits", mf);
  auto session = Session::create(*model);
  if (!session) cli::die("eidetic-logits", session.status());
  const size_t vocab = model->vocab_size(), n = ids->size();
  std::vector<float> logits(n * vocab);
  if (stepwise) {
    for (size_t i = 0; i < n; ++i) {
      Status s = (*session)->decode((*ids)[i]);
      if (!s.is_ok()) cli::die("eidetic-logits", s);
      std::copy((*session)->logits(), (*session)->logits() + vocab, logits.begin() + long(i * vocab));
    }
  } else {
    Status s = (*session)->forward_all(ids->data(), n, logits.data());
    if (!s.is_ok()) cli::die("eidetic-logits", s);
  }
  std::FILE* f = std::fopen(out.c_str(), "wb");
  if (!f || std::fwrite(logits.data(), sizeof(float), logits.size(), f) != logits.size() || std::fclose(f) != 0)
    cli::die("eidetic-logits", io_error(out + ": cannot write"));
  std::fprintf(stderr, "wrote %zu × %zu logits to %s\n", n, vocab, out.c_str());
  return 0;
}
