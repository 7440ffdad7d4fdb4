// eidetic-convert: Hugging Face checkpoint directory → .eid model file.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>

#include "converter/architectures/architecture.h"
#include "converter/tokenizer_json.h"

using namespace eidetic;
using namespace eidetic::convert;

namespace {

Result<fb::DType> parse_dtype(const std::string& s) {
  if (s == "f32") return fb::DType::F32;
  if (s == "f16") return fb::DType::F16;
  return invalid_argument("--dtype " + s + ": expected f32 or f16");
}

// bos/eos ids come from generation_config.json when present, else config.json.
void read_special_ids(const std::string& dir, const HfConfig& config, TokenizerData* tok) {
  auto gen = HfConfig::load(dir + "/generation_config.json");
  for (const HfConfig* c : {gen.is_ok() ? &gen.value() : nullptr, &config}) {
    if (!c) continue;
    if (tok->bos_id < 0 && c->json().contains("bos_token_id") && c->json()["bos_token_id"].is_number_integer())
      tok->bos_id = c->json()["bos_token_id"].get<int32_t>();
    if (tok->eos_id < 0 && c->json().contains("eos_token_id") && c->json()["eos_token_id"].is_number_integer())
      tok->eos_id = c->json()["eos_token_id"].get<int32_t>();
  }
}

Status convert(const std::string& dir, const std::string& out, fb::DType dtype, bool quiet) {
  EID_ASSIGN_OR_RETURN(HfConfig config, HfConfig::load(dir + "/config.json"));
  EID_ASSIGN_OR_RETURN(std::string model_type, config.string("model_type"));
  const Architecture* arch = nullptr;
  for (const auto& a : architectures())
    if (model_type == a.model_type) arch = &a;
  if (!arch)
    return unsupported(config.path() + ": model_type \"" + model_type + "\" is not supported (supported: " +
                       supported_model_types() + ")");
  EID_ASSIGN_OR_RETURN(Checkpoint ckpt, Checkpoint::open_dir(dir));

  ModelWriter writer(out);
  EID_TRY(writer.open());
  const auto start = std::chrono::steady_clock::now();
  ProgressFn progress;
  if (!quiet)
    progress = [](size_t done, size_t total, const std::string& name) {
      std::fprintf(stderr, "\r[%zu/%zu] %-60.60s", done, total, name.c_str());
      std::fflush(stderr);
    };
  ConvertContext ctx(config, ckpt, writer, dtype, progress);
  ModelInfo info;
  info.architecture = model_type;
  info.source_config = config.text();
  EID_TRY(arch->convert(ctx, &info));

  const std::string tok_path = dir + "/tokenizer.json";
  if (std::ifstream(tok_path).good()) {
    EID_ASSIGN_OR_RETURN(TokenizerData tok, parse_tokenizer_json(tok_path));
    read_special_ids(dir, config, &tok);
    writer.set_tokenizer(tok);
  } else if (!quiet) {
    std::fprintf(stderr, "\nnote: %s has no tokenizer.json; the model file will carry no tokenizer\n", dir.c_str());
  }
  EID_TRY(writer.finish(info));
  if (!quiet) {
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "\nwrote %s: %s, %.1f MiB of weights in %.1f s\n", out.c_str(), model_type.c_str(),
                 double(writer.data_bytes()) / (1 << 20), secs);
  }
  return Status::ok();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Convert a Hugging Face checkpoint directory (config.json, *.safetensors, tokenizer.json)\n"
               "into an Eidetic model file.\n\nSupported model types: " + supported_model_types()};
  std::string dir, out, dtype = "f32";
  bool quiet = false;
  app.add_option("checkpoint", dir, "Hugging Face checkpoint directory")->required()->check(CLI::ExistingDirectory);
  app.add_option("-o,--output", out, "output model file (.eid)")->required();
  app.add_option("--dtype", dtype, "weight type of the large matrices: f32 or f16 (norms, A, D, dt bias and conv "
                                   "weights always stay f32)")
      ->capture_default_str();
  app.add_flag("-q,--quiet", quiet, "no progress output");
  CLI11_PARSE(app, argc, argv);

  auto parsed = parse_dtype(dtype);
  Status s = parsed.is_ok() ? convert(dir, out, parsed.value(), quiet) : parsed.status();
  if (!s.is_ok()) {
    std::fprintf(stderr, "%seidetic-convert: error: %s\n", quiet ? "" : "\n", s.message().c_str());
    return 1;
  }
  return 0;
}
