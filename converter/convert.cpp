#include "converter/convert.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include "converter/architectures/architecture.h"
#include "converter/tokenizer_json.h"

namespace eidetic::convert {
namespace {

// bos/eos ids come from generation_config.json when present, else config.json.
void read_special_ids(const std::string& dir, const HfConfig& config, TokenizerData* tok) {
  auto gen = HfConfig::load(dir + "/generation_config.json");
  const HfConfig* sources[] = {gen.is_ok() ? &gen.value() : nullptr, &config};
  for (const HfConfig* c : sources) {
    if (!c) continue;
    if (tok->bos_id < 0 && c->json().contains("bos_token_id") && c->json()["bos_token_id"].is_number_integer())
      tok->bos_id = c->json()["bos_token_id"].get<int32_t>();
    if (tok->eos_id < 0 && c->json().contains("eos_token_id") && c->json()["eos_token_id"].is_number_integer())
      tok->eos_id = c->json()["eos_token_id"].get<int32_t>();
  }
}

// On a terminal, one line rewritten in place; in a log, a line per 10%.
ProgressFn progress_printer(bool terminal) {
  return [terminal, last = size_t(0)](size_t done, size_t total, const std::string& name) mutable {
    if (terminal) {
      std::fprintf(stderr, "\r[%zu/%zu] %-60.60s", done, total, name.c_str());
    } else if (done * 10 / total != last * 10 / total || done == total) {
      std::fprintf(stderr, "[%zu/%zu] %s\n", done, total, name.c_str());
    }
    last = done;
    std::fflush(stderr);
  };
}

}  // namespace

Status convert_checkpoint(const ConvertOptions& options) {
  const std::string& dir = options.checkpoint_dir;
  const std::string& out = options.output;
  const bool quiet = !options.progress;
  EID_ASSIGN_OR_RETURN(HfConfig config, HfConfig::load(dir + "/config.json"));
  EID_ASSIGN_OR_RETURN(std::string model_type, config.string("model_type"));
  const Architecture* arch = nullptr;
  for (const auto& a : architectures())
    if (model_type == a.model_type) arch = &a;
  if (!arch)
    return unsupported(config.path() + ": model_type \"" + model_type +
                       "\" is not supported (supported: " + supported_model_types() + ")");
  EID_ASSIGN_OR_RETURN(Checkpoint ckpt, Checkpoint::open_dir(dir));

  ModelWriter writer(out);
  EID_TRY(writer.open());
  const auto start = std::chrono::steady_clock::now();
  ProgressFn progress;
  if (!quiet) progress = progress_printer(isatty(fileno(stderr)) != 0);
  ConvertContext ctx(config, ckpt, writer, options.quant, progress);
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

}  // namespace eidetic::convert
