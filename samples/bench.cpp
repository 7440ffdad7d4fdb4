// eidetic-bench: prompt and generation speed, load time and peak memory of a
// model, per thread count — Eidetic's llama-bench.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "runtime/src/model/dtype.h"
#include "runtime/src/session/session.h"
#include "samples/cli_common.h"
#include "samples/json_line.h"

using namespace eidetic;

namespace {

constexpr const char* kProgram = "eidetic-bench";

const char* kFigures =
    "Figures, per model and thread count:\n"
    "  load     ms from Model::load() to a model ready to run: mmap, verification of the whole file,\n"
    "           tokenizer tables, backend preparation (e.g. weight packing). The file is in the page\n"
    "           cache by then (a cold first read from disk is not measured).\n"
    "  pp<P>    prompt tokens/s: a fresh session (state reset) prefills P token ids drawn at random\n"
    "           (fixed --seed) from the vocabulary; P / wall time of that one prefill call.\n"
    "  tg<N>    generated tokens/s: after that prompt, N single-token decode steps, each fed the\n"
    "           most likely token of the step before, which the backend selects (a GPU hands back\n"
    "           only that id, not the logits); N / the summed time of the decode calls, selection\n"
    "           included (no sampling).\n"
    "           Both are the median of -r repetitions (after one untimed warm-up run that also\n"
    "           pages the weights in); ± is the standard deviation over the repetitions.\n"
    "  peak RSS the process's peak resident memory (VmHWM from /proc/self/status, reset before each\n"
    "           model load through /proc/self/clear_refs where the kernel allows it). Mapped weight\n"
    "           pages that were read count, so for one model it is weights + state + scratch + code.\n"
    "  size     bytes of all tensors (weights and quantization scales); 'weights' names the element\n"
    "           types that hold 90% of them; params = number of weight elements.\n"
    "With --json, one object per line and per (model, threads): model, architecture, weights,\n"
    "weight_bytes, params, file_bytes, state_bytes, backend, device (what computes: the CPU kernels'\n"
    "instruction sets, or the GPU and its kernel forms), threads, p, n, reps, load_ms,\n"
    "prompt_tps, prompt_tps_sd, gen_tps, gen_tps_sd, gen_weight_gbps (weight_bytes × gen_tps, the\n"
    "rate at which decode reads the weights if it reads each once per token) and peak_rss_mib.\n"
    "A figure for a test that was not run (-p 0 or -n 0) is null.";

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Peak resident set in MiB: VmHWM, or getrusage's ru_maxrss where /proc is absent.
double peak_rss_mib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_maxrss) / 1024.0;
}

// Resets VmHWM to the current RSS (Linux ≥ 4.0). False where not allowed.
bool reset_peak_rss() {
  std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (!f) return false;
  const bool ok = std::fputs("5", f) >= 0;
  return std::fclose(f) == 0 && ok;
}

struct WeightSummary {
  uint64_t bytes = 0, params = 0;
  std::string types;
};

WeightSummary summarize(const ModelFile& f) {
  WeightSummary w;
  std::map<std::string, uint64_t> by_type;
  for (const fb::Tensor* t : *f.model().tensors()) {
    const uint64_t bytes = t->size() + (t->quant() ? t->quant()->scale_size() : 0);
    uint64_t numel = 1;
    for (uint64_t d : *t->shape()) numel *= d;
    w.bytes += bytes;
    w.params += numel;
    by_type[dtype_name(t->dtype())] += bytes;
  }
  std::vector<std::pair<uint64_t, std::string>> sorted;
  for (const auto& [name, bytes] : by_type) sorted.emplace_back(bytes, name);
  std::sort(sorted.rbegin(), sorted.rend());
  uint64_t covered = 0;
  for (const auto& [bytes, name] : sorted) {
    if (covered >= w.bytes * 0.9) break;
    w.types += (w.types.empty() ? "" : "+") + name;
    covered += bytes;
  }
  return w;
}

double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

double stddev(const std::vector<double>& v) {
  if (v.size() < 2) return v.empty() ? NAN : 0.0;
  double mean = 0, sq = 0;
  for (double x : v) mean += x;
  mean /= double(v.size());
  for (double x : v) sq += (x - mean) * (x - mean);
  return std::sqrt(sq / double(v.size() - 1));
}

int32_t argmax(const float* v, size_t n) { return int32_t(std::max_element(v, v + n) - v); }

bool all_finite(const float* v, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(v[i])) return false;
  return true;
}

// Prompt ids: splitmix64 from the seed, uniform over the vocabulary.
std::vector<int32_t> random_ids(size_t n, uint32_t vocab, uint64_t seed) {
  std::vector<int32_t> ids(n);
  for (auto& id : ids) {
    uint64_t z = (seed += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    id = int32_t((z ^ (z >> 31)) % vocab);
  }
  return ids;
}

struct Options {
  std::vector<std::string> models;
  std::string backend = "cpu";
  int device = 0;
  size_t batch = 64;
  std::vector<int> threads{1};
  size_t p = 512, n = 128;
  int reps = 3;
  uint64_t seed = 1;
  bool json = false, warmup = true;
};

struct Row {
  std::string model, arch, backend, device;
  WeightSummary w;
  uint64_t file_bytes = 0, state_bytes = 0;
  int threads = 1;
  double load_ms = 0, pp = NAN, pp_sd = NAN, tg = NAN, tg_sd = NAN, rss = 0;
};

// One timed run: reset, prefill p ids, then n greedy decode steps.
Status run_once(Session& s, const std::vector<int32_t>& prompt, size_t n, double* prefill_s, double* decode_s) {
  const size_t vocab = s.model().vocab_size();
  s.reset();
  *prefill_s = *decode_s = 0;
  if (!prompt.empty()) {
    const auto t0 = Clock::now();
    EID_TRY(s.prefill(prompt.data(), prompt.size()));
    *prefill_s = seconds_since(t0);
    if (!all_finite(s.logits(), vocab)) return invalid_model("non-finite logits after the prompt");
  }
  int32_t next = prompt.empty() ? 0 : argmax(s.logits(), vocab);
  for (size_t i = 0; i < n; ++i) {
    const auto t0 = Clock::now();
    EID_TRY(s.decode_top(next, 1));
    *decode_s += seconds_since(t0);
    next = s.top_ids()[0];
  }
  EID_TRY(s.fetch_logits());
  if (n && !all_finite(s.logits(), vocab)) return invalid_model("non-finite logits after generation");
  return Status::ok();
}

Result<Row> bench(const Options& o, const std::string& path, int threads) {
  Row r;
  r.model = path;
  r.backend = o.backend;
  r.threads = threads;
  reset_peak_rss();
  LoadOptions lo;
  lo.backend = o.backend;
  lo.backend_options.n_threads = threads;
  lo.backend_options.device = o.device;
  lo.backend_options.max_batch_tokens = o.batch;
  const auto t0 = Clock::now();
  EID_ASSIGN_OR_RETURN(auto model, Model::load(path, lo));
  r.load_ms = seconds_since(t0) * 1e3;
  r.device = model->executor().device();
  const fb::Metadata& md = *model->file().model().metadata();
  r.arch = md.architecture() ? md.architecture()->str() : "?";
  r.w = summarize(model->file());
  r.file_bytes = model->file().file_size();
  r.state_bytes = model->state_layout().bytes();

  EID_ASSIGN_OR_RETURN(auto session, Session::create(*model));
  const auto prompt = random_ids(o.p, model->vocab_size(), o.seed);
  double pre = 0, dec = 0;
  if (o.warmup) EID_TRY(run_once(*session, prompt, std::min<size_t>(o.n, 4), &pre, &dec));
  std::vector<double> pp, tg;
  for (int i = 0; i < o.reps; ++i) {
    EID_TRY(run_once(*session, prompt, o.n, &pre, &dec));
    if (o.p) pp.push_back(double(o.p) / pre);
    if (o.n) tg.push_back(double(o.n) / dec);
  }
  r.pp = median(pp);
  r.pp_sd = stddev(pp);
  r.tg = median(tg);
  r.tg_sd = stddev(tg);
  r.rss = peak_rss_mib();
  return r;
}

std::string human_bytes(uint64_t b) {
  char buf[32];
  if (b >= (uint64_t(1) << 30))
    std::snprintf(buf, sizeof buf, "%.2f GiB", double(b) / (1 << 30));
  else
    std::snprintf(buf, sizeof buf, "%.1f MiB", double(b) / (1 << 20));
  return buf;
}

std::string human_count(uint64_t n) {
  char buf[32];
  if (n >= 1000000000)
    std::snprintf(buf, sizeof buf, "%.2f B", double(n) / 1e9);
  else if (n >= 1000000)
    std::snprintf(buf, sizeof buf, "%.1f M", double(n) / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.1f K", double(n) / 1e3);
  return buf;
}

std::string rate(double v, double sd) {
  if (!std::isfinite(v)) return "-";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.2f ± %.2f", v, std::isfinite(sd) ? sd : 0.0);
  return buf;
}

std::string basename(const std::string& p) {
  const size_t s = p.find_last_of('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

void print_json(const Options& o, const Row& r) {
  cli::JsonLine j;
  j.add("model", r.model)
      .add("architecture", r.arch)
      .add("weights", r.w.types)
      .add("weight_bytes", r.w.bytes)
      .add("params", r.w.params)
      .add("file_bytes", r.file_bytes)
      .add("state_bytes", r.state_bytes)
      .add("backend", r.backend)
      .add("device", r.device)
      .add("threads", r.threads)
      .add("p", uint64_t(o.p))
      .add("n", uint64_t(o.n))
      .add("reps", o.reps)
      .add("load_ms", r.load_ms)
      .add("prompt_tps", r.pp)
      .add("prompt_tps_sd", r.pp_sd)
      .add("gen_tps", r.tg)
      .add("gen_tps_sd", r.tg_sd)
      .add("gen_weight_gbps", double(r.w.bytes) * r.tg / 1e9)
      .add("peak_rss_mib", r.rss);
  j.print();
  std::fflush(stdout);
}

void print_header(const Options& o) {
  std::printf("| %-24s | %-12s | %-7s | %10s | %8s | %7s | %8s | %16s | %16s | %10s |\n", "model", "arch", "weights",
              "size", "params", "threads", "load ms", ("pp" + std::to_string(o.p) + " t/s").c_str(),
              ("tg" + std::to_string(o.n) + " t/s").c_str(), "peak RSS");
  std::printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", std::string(24, '-').c_str(),
              std::string(12, '-').c_str(), std::string(7, '-').c_str(), std::string(9, '-').append(":").c_str(),
              std::string(7, '-').append(":").c_str(), std::string(6, '-').append(":").c_str(),
              std::string(7, '-').append(":").c_str(), std::string(15, '-').append(":").c_str(),
              std::string(15, '-').append(":").c_str(), std::string(9, '-').append(":").c_str());
}

void print_row(const Row& r) {
  char rss[32];
  std::snprintf(rss, sizeof rss, "%.1f MiB", r.rss);
  std::printf("| %-24s | %-12s | %-7s | %10s | %8s | %7d | %8.1f | %16s | %16s | %10s |\n", basename(r.model).c_str(),
              r.arch.c_str(), r.w.types.c_str(), human_bytes(r.w.bytes).c_str(), human_count(r.w.params).c_str(),
              r.threads, r.load_ms, rate(r.pp, r.pp_sd).c_str(), rate(r.tg, r.tg_sd).c_str(), rss);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{std::string("Measure a model's prompt and generation speed, load time and peak memory, for each\n"
                           "thread count — like llama-bench.\n\n"
                           "  eidetic-bench -m model.eid -p 512 -n 128 -t 1,2\n"
                           "  eidetic-bench -m a.eid -m b.eid -t 1,2 -r 5 --json\n\n") +
               kFigures};
  Options o;
  app.add_option("-m,--model", o.models, "model file(s) (.eid); repeat -m for several")->required();
  app.add_option("-p,--n-prompt", o.p, "prompt tokens to prefill; 0 = skip the prompt test")->capture_default_str();
  app.add_option("-n,--n-gen", o.n, "tokens to generate; 0 = skip the generation test")->capture_default_str();
  app.add_option("-t,--threads", o.threads, "thread counts, comma-separated")
      ->delimiter(',')
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("-r,--repetitions", o.reps, "timed repetitions of each test")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--seed", o.seed, "seed of the random prompt ids")->capture_default_str();
  app.add_option("--backend", o.backend, "compute backend: cpu or vulkan")->capture_default_str();
  cli::add_list_devices_flag(app);
  app.add_option("--device", o.device, "GPU index for the vulkan backend (see --list-devices)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("-b,--batch", o.batch, "prompt tokens per forward pass (the prompt runs in chunks of this many)")
      ->capture_default_str()
      ->check(CLI::Range(1, 65536));
  app.add_flag("--json", o.json, "one JSON object per line instead of a table");
  bool no_warmup = false;
  app.add_flag("--no-warmup", no_warmup, "skip the untimed warm-up run");
  app.failure_message([](const CLI::App* a, const CLI::Error& e) {
    return std::string(kProgram) + ": error: " + CLI::FailureMessage::simple(a, e);
  });
  CLI11_PARSE(app, argc, argv);
  o.warmup = !no_warmup;
  if (o.p == 0 && o.n == 0) cli::die(kProgram, invalid_argument("-p 0 and -n 0: nothing to measure"));

  if (!o.json) print_header(o);
  std::string device;
  for (const auto& path : o.models) {
    for (int t : o.threads) {
      auto row = bench(o, path, t);
      if (!row) cli::die(kProgram, Status(row.status().code(), path + ": " + row.status().message()));
      device = row->device;
      if (o.json)
        print_json(o, *row);
      else
        print_row(*row);
    }
  }
  if (!o.json) std::printf("\ndevice: %s\n", device.c_str());
  return 0;
}
