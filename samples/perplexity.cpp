// eidetic-perplexity: how well a model predicts a text file. The tokens are
// streamed through the recurrent state in batches (the state carries across
// batches), and every position's logits score the next token.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "runtime/src/session/session.h"
#include "samples/cli_common.h"
#include "samples/json_line.h"

using namespace eidetic;

namespace {

constexpr const char* kProgram = "eidetic-perplexity";

using Clock = std::chrono::steady_clock;

// -log softmax(logits)[target], in double.
double nll(const float* logits, size_t vocab, int32_t target) {
  float mx = logits[0];
  for (size_t i = 1; i < vocab; ++i) mx = std::max(mx, logits[i]);
  double sum = 0;
  for (size_t i = 0; i < vocab; ++i) sum += std::exp(double(logits[i]) - mx);
  return std::log(sum) + mx - double(logits[target]);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Perplexity of a model on a text file. The file is tokenized with the model's tokenizer and\n"
      "streamed through the recurrent state, --batch tokens per forward pass; each position's\n"
      "logits score the token that follows it. With --context N the text is cut into windows of N\n"
      "tokens, each started from a fresh state; by default the whole file is one sequence (a\n"
      "recurrent model has no context limit). The first token of each window has nothing to be\n"
      "predicted from and is not scored, unless --bos feeds the model's BOS token in front of it.\n\n"
      "Prints perplexity = exp(mean negative log-likelihood of the scored tokens), bits per byte\n"
      "(the summed NLL in bits over the UTF-8 bytes of the scored tokens), token counts and\n"
      "tokens/s (tokens fed / time of the forward passes and the log-softmax).\n\n"
      "  eidetic-perplexity -m model.eid -f heldout.txt"};
  cli::ModelFlags mf;
  std::string text_path;
  size_t context = 0, batch = 128;
  bool bos = false, json = false;
  cli::add_model_flags(app, mf);
  app.add_option("-f,--file", text_path, "text file to score")->required()->check(CLI::ExistingFile);
  app.add_option("-c,--context", context, "tokens per window, each from a fresh state; 0 = the whole file")
      ->capture_default_str();
  app.add_option("-b,--batch", batch, "tokens per forward pass (memory: batch × vocab floats of logits)")
      ->capture_default_str()
      ->check(CLI::Range(size_t(1), size_t(1) << 20));
  app.add_flag("--bos", bos, "feed the model's BOS token before each window, and score the window's first token");
  app.add_flag("--json", json, "one JSON object instead of text");
  app.failure_message([](const CLI::App* a, const CLI::Error& e) {
    return std::string(kProgram) + ": error: " + CLI::FailureMessage::simple(a, e);
  });
  CLI11_PARSE(app, argc, argv);
  if (context == 1 && !bos) cli::die(kProgram, invalid_argument("--context 1 scores nothing without --bos"));

  auto model = cli::load_or_die(kProgram, mf);
  const Tokenizer* tok = model->tokenizer();
  if (!tok) cli::die(kProgram, unsupported(mf.path + " carries no tokenizer"));
  if (bos && model->bos_id() < 0)
    cli::die(kProgram, unsupported(mf.path + ": --bos, but the tokenizer has no BOS token"));
  std::ifstream in(text_path, std::ios::binary);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (!in.good() && !in.eof()) cli::die(kProgram, io_error(text_path + ": cannot read"));

  const auto t_tok = Clock::now();
  const std::vector<int32_t> ids = tok->encode(text);
  const double tokenize_s = std::chrono::duration<double>(Clock::now() - t_tok).count();
  const size_t window = context ? context : ids.size();
  if (ids.size() < (bos ? 1u : 2u)) cli::die(kProgram, invalid_argument(text_path + ": too short to score"));

  auto session = Session::create(*model);
  if (!session) cli::die(kProgram, session.status());
  const size_t vocab = model->vocab_size();
  std::vector<float> logits(batch * vocab);
  std::vector<int32_t> feed;
  double total_nll = 0, forward_s = 0;
  size_t scored = 0, fed = 0, scored_bytes = 0;

  for (size_t w0 = 0; w0 < ids.size(); w0 += window) {
    const size_t w1 = std::min(ids.size(), w0 + window);
    // The sequence fed: [BOS] + the window's tokens. Position j's logits
    // score seq[j + 1]; the last position scores nothing.
    feed.clear();
    if (bos) feed.push_back(model->bos_id());
    feed.insert(feed.end(), ids.begin() + long(w0), ids.begin() + long(w1));
    if (feed.size() < 2) continue;  // a last window of one token without BOS
    const size_t first_scored = bos ? w0 : w0 + 1;
    auto bytes = tok->decode(ids.data() + first_scored, w1 - first_scored);
    if (!bytes) cli::die(kProgram, bytes.status());
    scored_bytes += bytes->size();

    (*session)->reset();
    const auto t0 = Clock::now();
    for (size_t b0 = 0; b0 + 1 < feed.size(); b0 += batch) {
      // Only positions 0 .. size-2 have a next token; the last one is not fed.
      const size_t n = std::min(batch, feed.size() - 1 - b0);
      Status s = (*session)->forward_all(feed.data() + b0, n, logits.data());
      if (!s.is_ok()) cli::die(kProgram, s);
      for (size_t j = 0; j < n; ++j) {
        const double v = nll(logits.data() + j * vocab, vocab, feed[b0 + j + 1]);
        if (!std::isfinite(v))
          cli::die(kProgram, invalid_model("non-finite logits at token " + std::to_string(w0 + b0 + j)));
        total_nll += v;
      }
      scored += n;
      fed += n;
    }
    forward_s += std::chrono::duration<double>(Clock::now() - t0).count();
  }

  const double mean = total_nll / double(scored), ppl = std::exp(mean);
  const double bpb = total_nll / std::log(2.0) / double(std::max<size_t>(scored_bytes, 1));
  const double tps = double(fed) / std::max(forward_s, 1e-9);
  if (json) {
    cli::JsonLine j;
    j.add("model", mf.path)
        .add("file", text_path)
        .add("file_bytes", uint64_t(text.size()))
        .add("threads", mf.threads)
        .add("context", uint64_t(context))
        .add("batch", uint64_t(batch))
        .add("bos", bos)
        .add("tokens", uint64_t(ids.size()))
        .add("scored", uint64_t(scored))
        .add("scored_bytes", uint64_t(scored_bytes))
        .add("mean_nll", mean)
        .add("perplexity", ppl)
        .add("bits_per_byte", bpb)
        .add("tokenize_s", tokenize_s)
        .add("seconds", forward_s)
        .add("tokens_per_s", tps);
    j.print();
  } else {
    std::printf("file          %s (%zu bytes, %zu tokens)\n", text_path.c_str(), text.size(), ids.size());
    std::printf("windows       %s%s\n", context ? (std::to_string(context) + " tokens each").c_str() : "the whole file",
                bos ? ", BOS first" : "");
    std::printf("scored        %zu tokens, %zu bytes\n", scored, scored_bytes);
    std::printf("perplexity    %.4f\n", ppl);
    std::printf("mean NLL      %.5f nats/token\n", mean);
    std::printf("bits per byte %.4f\n", bpb);
    std::printf("speed         %.1f tokens/s (%.2f s, %d thread%s; tokenizing took %.3f s)\n", tps, forward_s,
                mf.threads, mf.threads == 1 ? "" : "s", tokenize_s);
  }
  return 0;
}
