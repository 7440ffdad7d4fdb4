// eidetic-generate: the main job — text from a prompt, streamed as produced.
#include "runtime/src/session/generate.h"

#include <cstdio>

#include "samples/cli_common.h"

using namespace eidetic;

int main(int argc, char** argv) {
  CLI::App app{
      "Generate text with an Eidetic model, streaming it to stdout as it is produced.\n"
      "Prompt and generation speeds go to stderr at the end.\n\n"
      "  eidetic-generate -m model.eid -p \"Once upon a time\" -n 100 --seed 1"};
  cli::ModelFlags mf;
  SamplerParams sp;
  std::string prompt;
  size_t n_tokens = 128;
  bool quiet = false;
  cli::add_model_flags(app, mf);
  app.add_option("-p,--prompt", prompt, "prompt text (special tokens such as <|endoftext|> are recognised)")
      ->required();
  app.add_option("-n,--n-tokens", n_tokens, "tokens to generate at most (stops early at end-of-sequence)")
      ->capture_default_str();
  cli::add_sampler_flags(app, sp);
  app.add_flag("-q,--quiet", quiet, "no statistics on stderr");
  CLI11_PARSE(app, argc, argv);

  auto model = cli::load_or_die("eidetic-generate", mf);
  if (!model->tokenizer()) cli::die("eidetic-generate", unsupported(mf.path + " carries no tokenizer"));
  auto sampler = Sampler::create(sp, int32_t(model->vocab_size()));
  if (!sampler) cli::die("eidetic-generate", sampler.status());
  auto session = Session::create(*model);
  if (!session) cli::die("eidetic-generate", session.status());
  const auto ids = model->tokenizer()->encode(prompt, true);

  std::fwrite(prompt.data(), 1, prompt.size(), stdout);
  GenerateStats stats;
  auto print = [](int32_t, std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return true;
  };
  Status s = generate(**session, *sampler, ids, n_tokens, print, &stats);
  std::printf("\n");
  std::fflush(stdout);  // the text ends before the statistics, also where both go to one pipe
  if (!s.is_ok()) cli::die("eidetic-generate", s);
  if (!quiet)
    std::fprintf(stderr,
                 "prompt: %zu tokens, %.1f tokens/s | generated: %zu tokens, %.1f tokens/s | state: %llu bytes\n",
                 stats.prompt_tokens, stats.prompt_tokens / std::max(stats.prefill_seconds, 1e-9),
                 stats.generated_tokens, stats.generated_tokens / std::max(stats.decode_seconds, 1e-9),
                 static_cast<unsigned long long>(model->state_layout().bytes()));
  return 0;
}
