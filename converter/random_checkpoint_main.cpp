// eidetic-random-checkpoint: a Hugging Face checkpoint directory with random
// weights and the exact shapes of a released Mamba / Mamba-2 model, for
// benchmarks that need no download. Convert it with eidetic-convert.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "converter/random_checkpoint.h"

using namespace eidetic;
using namespace eidetic::convert;

int main(int argc, char** argv) {
  CLI::App app{
      "Write a Hugging Face-style checkpoint directory (config.json, generation_config.json,\n"
      "model.safetensors) with random weights and the exact shapes of a released model, so that\n"
      "benchmarks need no download. No tokenizer is written: the converted model has none, and\n"
      "eidetic-bench needs none. Tensors are streamed to disk one piece at a time (a 2.8b f32\n"
      "checkpoint is 11 GB; it never sits in memory).\n\n"
      "  eidetic-random-checkpoint --shape mamba-130m -o /tmp/mamba-130m\n"
      "  eidetic-convert /tmp/mamba-130m -o mamba-130m.eid\n\n"
      "Shapes: " +
      known_shape_names()};
  RandomCheckpointOptions o;
  std::string dtype = "f32";
  bool quiet = false;
  app.add_option("--shape", o.shape, "model shape to copy")->required();
  app.add_option("-o,--output", o.output_dir, "output directory (created if missing)")->required();
  app.add_option("--seed", o.seed, "random seed: the same seed gives the same bytes")->capture_default_str();
  app.add_option("--dtype", dtype, "tensor type in model.safetensors: f32, f16 or bf16")->capture_default_str();
  app.add_option("--layers", o.layers, "keep only this many layers (for quick tests; not the real shape)");
  app.add_option("--vocab", o.vocab, "use this vocabulary size (for quick tests; not the real shape)");
  app.add_flag("-q,--quiet", quiet, "no progress output");
  app.failure_message([](const CLI::App* a, const CLI::Error& e) {
    return "eidetic-random-checkpoint: error: " + CLI::FailureMessage::simple(a, e);
  });
  CLI11_PARSE(app, argc, argv);

  auto die = [](const Status& s) {
    std::fprintf(stderr, "eidetic-random-checkpoint: error: %s\n", s.message().c_str());
    return 1;
  };
  if (dtype == "f32")
    o.dtype = RandomDType::kF32;
  else if (dtype == "f16")
    o.dtype = RandomDType::kF16;
  else if (dtype == "bf16")
    o.dtype = RandomDType::kBF16;
  else
    return die(invalid_argument("--dtype " + dtype + ": expected f32, f16 or bf16"));
  if (app.count("--layers") && o.layers == 0) return die(invalid_argument("--layers must be at least 1"));
  if (app.count("--vocab") && o.vocab == 0) return die(invalid_argument("--vocab must be at least 1"));
  o.progress = !quiet;

  auto bytes = random_checkpoint_bytes(o);
  if (!bytes) return die(bytes.status());
  Status s = write_random_checkpoint(o);
  if (!s.is_ok()) return die(s);
  if (!quiet)
    std::fprintf(stderr, "wrote %s: %s%s, %s, %.1f MiB of weights, seed %llu (no tokenizer)\n", o.output_dir.c_str(),
                 o.shape.c_str(), (o.layers || o.vocab) ? " (reduced)" : "", dtype.c_str(), double(*bytes) / (1 << 20),
                 static_cast<unsigned long long>(o.seed));
  return 0;
}
