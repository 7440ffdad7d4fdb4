// eidetic-convert: Hugging Face checkpoint directory → .eid model file.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "converter/architectures/architecture.h"
#include "converter/convert.h"

using namespace eidetic;
using namespace eidetic::convert;

namespace {

Result<fb::DType> parse_quant(const std::string& s) {
  if (s == "f32") return fb::DType::F32;
  if (s == "f16") return fb::DType::F16;
  if (s == "q8") return fb::DType::Q8;
  if (s == "q4") return fb::DType::Q4;
  return invalid_argument("--quant " + s + ": expected f32, f16, q8 or q4");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Convert a Hugging Face checkpoint directory (config.json, *.safetensors, tokenizer.json)\n"
      "into an Eidetic model file.\n\nSupported model types: " +
      supported_model_types()};
  std::string dir, out, quant = "f32";
  bool quiet = false;
  app.add_option("checkpoint", dir, "Hugging Face checkpoint directory")->required()->check(CLI::ExistingDirectory);
  app.add_option("-o,--output", out, "output model file (.eid)")->required();
  app.add_option("--quant", quant,
                 "weight type of the large matrices (projections, embedding, LM head): f32, f16, q8 (int8, one f16 "
                 "scale per 32 weights of a row) or q4 (int4, the same groups; the embedding and LM head then stay "
                 "q8); norms, A, D, dt bias and conv weights always stay f32")
      ->capture_default_str();
  app.add_flag("-q,--quiet", quiet, "no progress output");
  // Command-line errors (a directory that does not exist, a missing -o) read
  // like conversion errors: "eidetic-convert: error: ...".
  app.failure_message([](const CLI::App* a, const CLI::Error& e) {
    return "eidetic-convert: error: " + CLI::FailureMessage::simple(a, e);
  });
  CLI11_PARSE(app, argc, argv);

  auto parsed = parse_quant(quant);
  ConvertOptions options;
  options.checkpoint_dir = dir;
  options.output = out;
  options.progress = !quiet;
  if (parsed.is_ok()) options.quant = parsed.value();
  Status s = parsed.is_ok() ? convert_checkpoint(options) : parsed.status();
  if (!s.is_ok()) {
    std::fprintf(stderr, "%seidetic-convert: error: %s\n", quiet ? "" : "\n", s.message().c_str());
    return 1;
  }
  return 0;
}
