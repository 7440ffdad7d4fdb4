// Helper of logits_cli_test.sh: reads a fixture's reference.safetensors.
//   logits_compare ids REF            print input_ids as "1,2,3"
//   logits_compare check REF OUT      compare OUT (raw little-endian f32
//                                     [n_tokens, vocab], as eidetic-logits
//                                     writes it) against prefill_logits:
//                                     |got - ref| <= 1e-4 * (1 + |ref|)
// Exit status 0 on success, 1 on a mismatch or any error.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "converter/safetensors.h"

using namespace eidetic;

namespace {

int fail(const std::string& why) {
  std::fprintf(stderr, "logits_compare: %s\n", why.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (!((mode == "ids" && argc == 3) || (mode == "check" && argc == 4)))
    return fail("usage: logits_compare ids REF | logits_compare check REF OUT");
  auto ref = convert::Checkpoint::open_file(argv[2]);
  if (!ref) return fail(ref.status().message());

  if (mode == "ids") {
    auto t = ref->get("input_ids");
    if (!t) return fail(t.status().message());
    if ((*t)->dtype_name != "I64") return fail("input_ids is " + (*t)->dtype_name + ", expected I64");
    for (uint64_t i = 0; i < (*t)->numel(); ++i) {
      int64_t v;
      std::memcpy(&v, (*t)->data + 8 * i, 8);
      std::printf("%s%lld", i ? "," : "", static_cast<long long>(v));
    }
    std::printf("\n");
    return 0;
  }

  auto want = ref->load_f32("prefill_logits", {});
  if (!want) return fail(want.status().message());
  std::ifstream in(argv[3], std::ios::binary);
  if (!in) return fail(std::string(argv[3]) + ": cannot open");
  const std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (bytes.size() != want->size() * sizeof(float))
    return fail(std::string(argv[3]) + ": " + std::to_string(bytes.size()) + " bytes, expected " +
                std::to_string(want->size() * sizeof(float)) + " (" + std::to_string(want->size()) + " f32 logits)");
  std::vector<float> got(want->size());
  std::memcpy(got.data(), bytes.data(), bytes.size());
  size_t bad = 0, worst_at = 0;
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double ref_v = (*want)[i], err = std::fabs(double(got[i]) - ref_v) / (1.0 + std::fabs(ref_v));
    if (!(err <= 1e-4)) ++bad;                    // NaN counts as bad
    if (!std::isnan(worst) && !(err <= worst)) {  // the first NaN sticks
      worst = err;
      worst_at = i;
    }
  }
  std::printf("%s: %zu logits, worst scaled error %.3g at %zu (got %.8g, want %.8g), %zu over 1e-4\n", argv[3],
              got.size(), worst, worst_at, double(got[worst_at]), double((*want)[worst_at]), bad);
  return bad == 0 ? 0 : 1;
}
