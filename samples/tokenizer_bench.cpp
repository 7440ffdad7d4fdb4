// eidetic-tokenizer-bench: encode throughput of the tokenizer, as one JSON
// line. The text is a file given with --text, or the tokenizer test
// fixture's texts (English, code, CJK, emoji ...) repeated to --mb
// megabytes; it is encoded one repetition (or one 64 KiB block of a file)
// per call, as prompts are, in several rounds of which the fastest is
// reported (the first also warms the word cache). A benchmark, not a test:
// it asserts nothing.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "converter/tokenizer_json.h"
#include "runtime/src/tokenizer/tokenizer.h"

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The fixture's case texts, joined by newlines.
std::string fixture_text(const std::string& cases_path) {
  const nlohmann::json cases = nlohmann::json::parse(read_file(cases_path), nullptr, false);
  std::string text;
  if (cases.is_discarded()) return text;
  for (const auto& c : cases.begin().value()) text += c["text"].get<std::string>() + "\n";
  return text;
}

// Blocks of about `block` bytes cut at line ends, so no character is split.
std::vector<std::string> blocks_of(const std::string& text, size_t block) {
  std::vector<std::string> out;
  for (size_t i = 0; i < text.size();) {
    size_t end = std::min(text.size(), i + block);
    const size_t nl = text.find('\n', end);
    end = nl == std::string::npos ? text.size() : nl + 1;
    out.push_back(text.substr(i, end - i));
    i = end;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string data_dir = std::string(EIDETIC_SOURCE_DIR) + "/tests/data/tokenizers/";
  std::string tokenizer_path = data_dir + "bytelevel_bpe.json", text_path;
  double megabytes = 4;
  int rounds = 5;
  CLI::App app{"Measure tokenizer encode throughput; prints one JSON line."};
  app.add_option("--tokenizer", tokenizer_path, "tokenizer.json to load")->capture_default_str();
  app.add_option("--text", text_path, "UTF-8 text file to encode (default: the test fixture's texts)");
  app.add_option("--mb", megabytes, "megabytes to encode when repeating the fixture")->capture_default_str();
  app.add_option("--rounds", rounds, "timed rounds; the fastest is reported")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  CLI11_PARSE(app, argc, argv);

  auto data = eidetic::convert::parse_tokenizer_json(tokenizer_path);
  if (!data) return std::fprintf(stderr, "error: %s\n", data.status().message().c_str()), 1;
  auto tok = eidetic::Tokenizer::create(std::move(data).value());
  if (!tok) return std::fprintf(stderr, "error: %s\n", tok.status().message().c_str()), 1;

  std::vector<std::string> calls;
  if (text_path.empty()) {
    const std::string unit = fixture_text(data_dir + "tokenizer_cases.json");
    if (unit.empty()) return std::fprintf(stderr, "error: no fixture text in %s\n", data_dir.c_str()), 1;
    const auto n = static_cast<size_t>(megabytes * 1e6 / unit.size()) + 1;
    calls.assign(n, unit);
  } else {
    calls = blocks_of(read_file(text_path), 64 * 1024);
  }
  size_t bytes = 0, tokens = 0;
  for (const auto& c : calls) bytes += c.size();

  // The best of several rounds: the least disturbed by other processes.
  double seconds = 1e30;
  for (int round = 0; round < rounds; ++round) {
    tokens = 0;
    const auto start = std::chrono::steady_clock::now();
    for (const auto& c : calls) tokens += tok->encode(c).size();
    seconds = std::min(seconds, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }

  nlohmann::json line = {{"bench", "tokenizer_encode"},
                         {"tokenizer", tokenizer_path},
                         {"text", text_path.empty() ? "fixture" : text_path},
                         {"bytes", bytes},
                         {"tokens", tokens},
                         {"calls", calls.size()},
                         {"rounds", rounds},
                         {"seconds", seconds},
                         {"mb_per_s", bytes / 1e6 / seconds},
                         {"tokens_per_s", tokens / seconds}};
  std::printf("%s\n", line.dump().c_str());
  return 0;
}
