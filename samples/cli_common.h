// Command-line pieces shared by the sample programs: model loading options
// and sampling flags, with one spelling and one default everywhere.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "backends/backend.h"
#include "runtime/src/sampling/sampler.h"
#include "runtime/src/session/model.h"

namespace eidetic::cli {

// --list-devices: what each backend would run on, then exit (no model needed).
inline void add_list_devices_flag(CLI::App& app) {
  app.add_flag_callback(
      "--list-devices",
      [] {
        for (const std::string& line : list_devices()) std::printf("%s\n", line.c_str());
        std::exit(0);
      },
      "list the CPU kernels and the Vulkan devices (--device indices), then exit");
}

struct ModelFlags {
  std::string path;
  std::string backend = "cpu";
  int threads = 1;
  int device = 0;
};

inline void add_model_flags(CLI::App& app, ModelFlags& f) {
  app.add_option("-m,--model", f.path, "model file (.eid), made by eidetic-convert")->required();
  app.add_option("-t,--threads", f.threads, "worker threads")->capture_default_str()->check(CLI::Range(1, 256));
  app.add_option("--backend", f.backend, "compute backend: cpu or vulkan")->capture_default_str();
  app.add_option("--device", f.device, "GPU index for the vulkan backend (see --list-devices)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  add_list_devices_flag(app);
}

inline void add_sampler_flags(CLI::App& app, SamplerParams& p) {
  app.add_option("--temp", p.temperature, "temperature; 0 = greedy")->capture_default_str();
  app.add_option("--top-k", p.top_k, "keep the k most likely tokens; 0 = off")->capture_default_str();
  app.add_option("--top-p", p.top_p, "keep the smallest set with this much probability; 1 = off")
      ->capture_default_str();
  app.add_option("--min-p", p.min_p, "drop tokens below min-p × the top probability; 0 = off")->capture_default_str();
  app.add_option("--repeat-penalty", p.repeat_penalty, "penalty on recently seen tokens; 1 = off")
      ->capture_default_str();
  app.add_option("--repeat-last-n", p.repeat_last_n, "how many recent tokens the penalty looks at")
      ->capture_default_str();
  app.add_option("--seed", p.seed, "random seed: the same seed gives the same text")->capture_default_str();
}

[[noreturn]] inline void die(const char* program, const Status& s) {
  std::fprintf(stderr, "%s: error: %s\n", program, s.message().c_str());
  std::exit(1);
}

inline std::unique_ptr<Model> load_or_die(const char* program, const ModelFlags& f) {
  LoadOptions o;
  o.backend = f.backend;
  o.backend_options.n_threads = f.threads;
  o.backend_options.device = f.device;
  auto m = Model::load(f.path, o);
  if (!m) die(program, m.status());
  return std::move(m).value();
}

}  // namespace eidetic::cli
