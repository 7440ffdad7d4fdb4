// Quantized products (kernels.h: quantize_acts, gemm_quant, dequantize_row)
// and the f16 / bf16 product (gemm_half):
// (a) activation quantization within half a step, in the documented order;
// (b) the reference product against a double-precision product of the
//     dequantized weights, both with the quantized activations (equal up to
//     f32 rounding) and with the original ones (within the bound that the
//     activations' rounding allows);
// (c) every SIMD form against the reference on odd shapes: row counts that are
//     no multiple of the tiles, one group, padded groups, more groups than the
//     scale chunk, row sub-ranges, strided outputs whose padding stays intact.
// Weights here are random bytes and f16 scales, independent of the converter.
// gemm_half: reference against double precision, SIMD form against reference.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/kernels/kernels.h"
#include "backends/cpu/kernels/kernels_avx2.h"
#include "backends/cpu/kernels/kernels_neon.h"
#include "backends/cpu/kernels/kernels_ref.h"

using namespace eidetic::cpu;

namespace {

constexpr float kPad = 12345.0f;

// IEEE half -> float by arithmetic, independent of runtime/src/core/half.h.
double half_value(uint16_t h) {
  const int exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  const double v = exp == 0 ? std::ldexp(double(mant), -24) : std::ldexp(double(1024 + mant), exp - 25);
  return (h & 0x8000) ? -v : v;
}

// A random quantized matrix that owns its bytes.
struct TestMatrix {
  std::vector<uint8_t> data;
  std::vector<uint16_t> scales;
  QuantMatrix m{};

  TestMatrix(QuantType type, size_t rows, size_t padded_cols, std::mt19937& rng) {
    m.type = type;
    m.rows = rows;
    m.padded_cols = padded_cols;
    data.resize(rows * m.row_bytes());
    std::uniform_int_distribution<int> byte(0, 255);
    for (auto& b : data) b = uint8_t(byte(rng));
    if (type == QuantType::kQ8)  // the converter never writes -128
      for (auto& b : data) b = b == 0x80 ? 0x81 : b;
    // Scales between 2^-9 and 2^-4 (normal halves), either sign.
    std::uniform_int_distribution<int> sc(0x1800, 0x2c00);
    scales.resize(rows * padded_cols / kQuantGroup);
    for (auto& s : scales) s = uint16_t(sc(rng) | (byte(rng) & 1 ? 0x8000 : 0));
    m.data = data.data();
    m.scales = scales.data();
  }

  // Element (r, c) in double, from the format's definition.
  double value(size_t r, size_t c) const {
    const double d = half_value(scales[r * (m.padded_cols / kQuantGroup) + c / kQuantGroup]);
    if (m.type == QuantType::kQ8) return d * double(int8_t(data[r * m.padded_cols + c]));
    const uint8_t b = data[r * (m.padded_cols / 2) + c / 2];
    return d * double(int(c % 2 ? b >> 4 : b & 15) - 8);
  }
};

// Quantized activations that own their memory.
struct TestActs {
  std::vector<int8_t> q;
  std::vector<float> d, corr;
  QuantActs a{};
  TestActs(QuantType type, const std::vector<float>& x, size_t x_stride, size_t n, size_t cols, size_t pc) {
    q.assign(n * pc, 99);  // quantize_acts must write every byte, padding too
    d.assign(n * pc / kQuantGroup, -1.0f);
    corr.assign(n * pc / kQuantGroup, -1.0f);
    a.q = q.data();
    a.d = d.data();
    a.corr = type == QuantType::kQ4 ? corr.data() : nullptr;
    quantize_acts(type, x.data(), x_stride, n, cols, pc, a);
  }
  // Activation (t, c) as dequantized, in natural column order.
  double value(QuantType type, size_t t, size_t c, size_t pc) const {
    const size_t g = c / kQuantGroup, i = c % kQuantGroup;
    const size_t pos = type == QuantType::kQ8 ? i : (i % 2 ? 16 + i / 2 : i / 2);
    return double(q[t * pc + g * kQuantGroup + pos]) * double(d[t * pc / kQuantGroup + g]);
  }
};

std::vector<float> rand_vec(std::mt19937& rng, size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (auto& f : v) f = u(rng);
  return v;
}

size_t pad32(size_t c) { return (c + 31) / 32 * 32; }

const char* name(QuantType t) { return t == QuantType::kQ8 ? "q8" : "q4"; }

}  // namespace

TEST_CASE("quantize_acts: half a step, the documented order, zero padding") {
  std::mt19937 rng(7);
  for (QuantType type : {QuantType::kQ8, QuantType::kQ4}) {
    for (size_t cols : {1, 4, 31, 32, 48, 100}) {
      CAPTURE(name(type));
      CAPTURE(cols);
      const size_t n = 3, stride = cols + 5, pc = pad32(cols), groups = pc / 32;
      auto x = rand_vec(rng, n * stride, -3, 3);
      x[1] = 0;  // a zero group when cols == 1 .. in row 0
      if (cols >= 32)
        for (size_t c = 0; c < 32; ++c) x[stride + c] = 0;  // an all-zero group (row 1)
      TestActs acts(type, x, stride, n, cols, pc);
      for (size_t t = 0; t < n; ++t) {
        for (size_t g = 0; g < groups; ++g) {
          double amax = 0;
          long sum = 0;
          for (size_t c = g * 32; c < std::min(cols, g * 32 + 32); ++c)
            amax = std::max(amax, std::fabs(double(x[t * stride + c])));
          const double d = acts.d[t * groups + g];
          CHECK(d == doctest::Approx(amax / 127).epsilon(1e-6));
          for (size_t i = 0; i < 32; ++i) sum += acts.q[t * pc + g * 32 + i];
          if (type == QuantType::kQ4)
            CHECK(acts.corr[t * groups + g] == doctest::Approx(8 * d * double(sum)).epsilon(1e-6));
          for (size_t c = g * 32; c < g * 32 + 32; ++c) {
            const double v = acts.value(type, t, c, pc);
            if (c < cols)
              REQUIRE(std::fabs(v - x[t * stride + c]) <= d / 2 * (1 + 1e-5) + 1e-30);
            else
              REQUIRE(v == 0.0);
          }
        }
      }
    }
  }
}

TEST_CASE("dequantize_row follows the format") {
  std::mt19937 rng(3);
  for (QuantType type : {QuantType::kQ8, QuantType::kQ4}) {
    TestMatrix w(type, 5, 96, rng);
    std::vector<float> row(90);
    for (size_t r = 0; r < 5; ++r) {
      dequantize_row(w.m, r, 90, row.data());
      for (size_t c = 0; c < 90; ++c) REQUIRE(double(row[c]) == w.value(r, c));
    }
  }
}

TEST_CASE("gemm_quant_ref against double precision") {
  std::mt19937 rng(11);
  for (QuantType type : {QuantType::kQ8, QuantType::kQ4}) {
    for (size_t cols : {4, 48, 64, 200, 2100}) {
      CAPTURE(name(type));
      CAPTURE(cols);
      const size_t rows = 7, n = 3, pc = pad32(cols);
      TestMatrix w(type, rows, pc, rng);
      // Weight columns past cols are padding, which the converter zeroes.
      for (size_t r = 0; r < rows; ++r)
        for (size_t c = cols; c < pc; ++c) {
          if (type == QuantType::kQ8) {
            w.data[r * pc + c] = 0;
          } else {
            uint8_t& b = w.data[r * pc / 2 + c / 2];
            b = c % 2 ? uint8_t((b & 0x0f) | 0x80) : uint8_t((b & 0xf0) | 0x08);
          }
        }
      auto x = rand_vec(rng, n * cols, -2, 2);
      auto bias = rand_vec(rng, rows, -1, 1);
      TestActs acts(type, x, cols, n, cols, pc);
      std::vector<float> y(n * rows);
      gemm_quant_ref(w.m, acts.a, n, 0, rows, bias.data(), y.data(), rows);
      for (size_t t = 0; t < n; ++t)
        for (size_t r = 0; r < rows; ++r) {
          double exact_q = bias[r], exact = bias[r], abs_sum = 0, act_bound = 0;
          for (size_t c = 0; c < cols; ++c) {
            const double wv = w.value(r, c), xq = acts.value(type, t, c, pc);
            exact_q += wv * xq;
            exact += wv * x[t * cols + c];
            abs_sum += std::fabs(wv * xq);
            act_bound += std::fabs(wv) * acts.d[t * pc / 32 + c / 32] / 2;
          }
          const double got = y[t * rows + r];
          // Integer group sums are exact; f32 scaling and adding cost a few ulp per group.
          CHECK(std::fabs(got - exact_q) <= 1e-6 * (abs_sum + std::fabs(bias[r])));
          // Against the f32 activations: no worse than their rounding allows.
          CHECK(std::fabs(got - exact) <= act_bound * (1 + 1e-4) + 1e-6 * (abs_sum + std::fabs(bias[r])));
        }
    }
  }
}

namespace {

using QuantizeFn = void (*)(QuantType, const float*, size_t, size_t, size_t, size_t, const QuantActs&);

// form writes the reference's bytes.
void check_quantize(QuantizeFn form) {
  std::mt19937 rng(9);
  for (QuantType type : {QuantType::kQ8, QuantType::kQ4}) {
    for (size_t cols : {1, 7, 8, 9, 31, 32, 33, 48, 100, 768}) {
      CAPTURE(name(type));
      CAPTURE(cols);
      const size_t n = 4, stride = cols + 3, pc = pad32(cols), groups = pc / 32;
      auto x = rand_vec(rng, n * stride, -50, 50);
      for (size_t c = 0; c < cols && c < 32; ++c) x[c] *= 1e-33f;  // a group under kMinActScale
      for (size_t c = 0; c < cols; c += 5) x[stride + c] = 0;      // exact zeros
      x[2 * stride] = 0.5f / 127 * 3;  // ties of x * 127 / max|x| are possible; the forms round alike
      std::vector<int8_t> q_ref(n * pc, 99), q_simd(n * pc, 77);
      std::vector<float> d_ref(n * groups, -1), d_simd(n * groups, -2), c_ref(n * groups, -1), c_simd(n * groups, -2);
      quantize_acts_ref(type, x.data(), stride, n, cols, pc, {q_ref.data(), d_ref.data(), c_ref.data()});
      form(type, x.data(), stride, n, cols, pc, {q_simd.data(), d_simd.data(), c_simd.data()});
      CHECK(q_simd == q_ref);
      CHECK(d_simd == d_ref);
      CHECK(c_simd == c_ref);
    }
  }
}

using GemmFn = void (*)(const QuantMatrix&, const QuantActs&, size_t, size_t, size_t, const float*, float*, size_t);

// form against gemm_quant_ref over shapes that reach every tail of the tiles.
void check_form(GemmFn form) {
  std::mt19937 rng(5);
  for (QuantType type : {QuantType::kQ8, QuantType::kQ4}) {
    for (size_t cols : {4, 32, 48, 96, 300, 2080, 2200}) {  // 2080 and 2200: past the 64-group scale chunk
      for (size_t rows : {1, 3, 4, 9, 13}) {
        for (size_t n : {1, 2, 5, 9}) {
          CAPTURE(name(type));
          CAPTURE(cols);
          CAPTURE(rows);
          CAPTURE(n);
          const size_t pc = pad32(cols), ys = rows + 3;
          TestMatrix w(type, rows, pc, rng);
          auto x = rand_vec(rng, n * (cols + 1), -4, 4);
          TestActs acts(type, x, cols + 1, n, cols, pc);
          auto bias = rand_vec(rng, rows, -1, 1);
          const float* b = rows % 2 ? bias.data() : nullptr;
          // A sub-range of the rows, as a thread would take.
          const size_t r0 = rows > 4 ? 1 : 0, r1 = rows > 4 ? rows - 1 : rows;
          std::vector<float> want(n * ys, kPad), got(n * ys, kPad);
          gemm_quant_ref(w.m, acts.a, n, r0, r1, b, want.data(), ys);
          form(w.m, acts.a, n, r0, r1, b, got.data(), ys);
          size_t bad = 0;
          for (size_t t = 0; t < n; ++t)
            for (size_t r = 0; r < ys; ++r) {
              const float g = got[t * ys + r], e = want[t * ys + r];
              if (r < r0 || r >= r1) {
                bad += g != kPad;
                continue;
              }
              // Scale of the sum's terms: |w| <= 127 * 2^-4 (q8), |x q| <= 127.
              double mag = 0;
              for (size_t c = 0; c < cols; ++c) mag += std::fabs(w.value(r, c) * acts.value(type, t, c, pc));
              if (!(std::fabs(double(g) - double(e)) <= 2e-6 * (mag + 1))) {
                if (++bad <= 3) MESSAGE("t " << t << " r " << r << ": got " << g << " want " << e);
              }
            }
          REQUIRE(bad == 0);
        }
      }
    }
  }
}

}  // namespace

#if defined(EIDETIC_CPU_KERNELS_AVX2)
TEST_CASE("quantize_acts_avx2 writes the reference's bytes") {
  if (!cpu_has_avx2_fma()) return;
  check_quantize(quantize_acts_avx2);
}

TEST_CASE("gemm_quant_avx2 equals the reference") {
  if (!cpu_has_avx2_fma()) return;
  check_form(gemm_quant_avx2);
}

#if defined(EIDETIC_CPU_KERNELS_AVX512)
// For one token (n = 1) this runs gemv_quant_avx512: the shapes reach its
// tails too (rows past the 4-row tiles, groups past a vector or a 16-group chunk).
TEST_CASE("gemm_quant_vnni equals the reference") {
  if (!cpu_has_avx512_vnni()) {
    MESSAGE("no AVX-512 VNNI on this CPU: form not tested");
    return;
  }
  check_form(gemm_quant_vnni);
}
#endif
#endif

#if defined(EIDETIC_CPU_KERNELS_NEON)
TEST_CASE("quantize_acts_neon writes the reference's bytes") { check_quantize(quantize_acts_neon); }

TEST_CASE("gemm_quant_neon equals the reference") { check_form(gemm_quant_neon); }

TEST_CASE("gemm_quant_dotprod equals the reference") {
  // CI runs this under qemu-aarch64, whose default CPU has FEAT_DotProd.
  REQUIRE_MESSAGE(cpu_has_neon_dotprod(), "no SDOT on this CPU: the dot-product form cannot be tested");
  check_form(gemm_quant_dotprod);
}
#endif

// ------------------------------------------------------------- f16 / bf16

namespace {

double bf16_value(uint16_t h) {
  const uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Random finite halves of either kind, magnitudes about 2^-6 .. 2^1.
std::vector<uint16_t> rand_halves(std::mt19937& rng, size_t n, bool bf16) {
  std::uniform_int_distribution<int> mant(0, bf16 ? 127 : 1023), ex(-6, 1), sign(0, 1);
  std::vector<uint16_t> v(n);
  for (auto& h : v)
    h = bf16 ? uint16_t(sign(rng) << 15 | (ex(rng) + 127) << 7 | mant(rng))
             : uint16_t(sign(rng) << 15 | (ex(rng) + 15) << 10 | mant(rng));
  return v;
}

using HalfFn = void (*)(const uint16_t*, bool, size_t, const float*, size_t, size_t, size_t, size_t, const float*,
                        float*, size_t);

// form against double precision over shapes that reach every tail of the tiles.
void check_half(HalfFn form) {
  std::mt19937 rng(13);
  for (bool bf16 : {false, true}) {
    for (size_t cols : {1, 5, 8, 13, 64, 100, 771}) {
      for (size_t rows : {1, 3, 4, 9}) {
        for (size_t n : {1, 2, 5, 9}) {
          CAPTURE(bf16);
          CAPTURE(cols);
          CAPTURE(rows);
          CAPTURE(n);
          const size_t xs = cols + 3, ys = rows + 2;
          const auto w = rand_halves(rng, rows * cols, bf16);
          const auto x = rand_vec(rng, n * xs, -2, 2);
          const auto bias = rand_vec(rng, rows, -1, 1);
          const float* b = n % 2 ? bias.data() : nullptr;
          const size_t r0 = rows > 3 ? 1 : 0, r1 = rows;
          std::vector<float> y(n * ys, kPad);
          form(w.data(), bf16, cols, x.data(), xs, n, r0, r1, b, y.data(), ys);
          size_t bad = 0;
          for (size_t t = 0; t < n; ++t)
            for (size_t r = 0; r < ys; ++r) {
              if (r < r0 || r >= r1) {
                bad += y[t * ys + r] != kPad;
                continue;
              }
              double want = b ? b[r] : 0, mag = std::fabs(want);
              for (size_t c = 0; c < cols; ++c) {
                const double wv = bf16 ? bf16_value(w[r * cols + c]) : half_value(w[r * cols + c]);
                want += wv * x[t * xs + c];
                mag += std::fabs(wv * x[t * xs + c]);
              }
              // f32 summation: at most about cols ulp of the sum of magnitudes.
              if (!(std::fabs(y[t * ys + r] - want) <= 1.2e-7 * double(cols + 8) * mag)) {
                if (++bad <= 3) MESSAGE("t " << t << " r " << r << ": got " << y[t * ys + r] << " want " << want);
              }
            }
          REQUIRE(bad == 0);
        }
      }
    }
  }
}

}  // namespace

TEST_CASE("gemm_half_ref against double precision") { check_half(gemm_half_ref); }

#if defined(EIDETIC_CPU_KERNELS_AVX2)
TEST_CASE("gemm_half_avx2 against double precision") {
  if (!cpu_has_avx2_fma()) return;
  check_half(gemm_half_avx2);
}
#endif

#if defined(EIDETIC_CPU_KERNELS_NEON)
TEST_CASE("gemm_half_neon against double precision") { check_half(gemm_half_neon); }
#endif

// ------------------------------------------------------- token panels (prompt)

namespace {

// Activations quantized for Q8 (column order) and packed for `type` weights.
struct TestPanels {
  std::vector<int8_t> q;
  std::vector<float> d;
  std::vector<int32_t> corr;
  QuantPanels p{};
  TestPanels(QuantType type, const QuantActs& acts, size_t n, size_t pc) {
    const size_t np = quant_panels_tokens(n);
    q.assign(np * pc, 99);  // every byte is written, padding tokens too
    d.assign(np * pc / kQuantGroup, -1.0f);
    corr.assign(np * pc / kQuantGroup, -1);
    p = {q.data(), d.data(), corr.data()};
    pack_quant_panels(type, acts, n, pc, p);
  }
};

using PanelGemmFn = decltype(&gemm_quant_panels_ref);

// form against the row form gemm_quant_ref (its own activations quantized
// for the weight type) over shapes that reach every tail of the tiles.
void check_panels(PanelGemmFn form) {
  std::mt19937 rng(23);
  for (QuantType type : {QuantType::kQ8, QuantType::kQ4}) {
    for (size_t cols : {4, 32, 96, 300, 1100, 2200}) {  // past the 1024-column repacking chunk
      for (size_t rows : {1, 4, 8, 13}) {
        for (size_t n : {1, 5, 16, 17, 64, 70, 130}) {
          CAPTURE(name(type));
          CAPTURE(cols);
          CAPTURE(rows);
          CAPTURE(n);
          const size_t pc = pad32(cols), ys = rows + 3;
          TestMatrix w(type, rows, pc, rng);
          auto x = rand_vec(rng, n * (cols + 1), -4, 4);
          TestActs row_acts(type, x, cols + 1, n, cols, pc), acts(QuantType::kQ8, x, cols + 1, n, cols, pc);
          TestPanels panels(type, acts.a, n, pc);
          auto bias = rand_vec(rng, rows, -1, 1);
          const float* b = rows % 2 ? bias.data() : nullptr;
          const size_t r0 = rows > 4 ? 1 : 0, r1 = rows > 4 ? rows - 1 : rows;
          std::vector<float> want(n * ys, kPad), got(n * ys, kPad);
          gemm_quant_ref(w.m, row_acts.a, n, r0, r1, b, want.data(), ys);
          form(w.m, panels.p, n, r0, r1, b, got.data(), ys);
          size_t bad = 0;
          for (size_t t = 0; t < n; ++t)
            for (size_t r = 0; r < ys; ++r) {
              const float g = got[t * ys + r], e = want[t * ys + r];
              if (r < r0 || r >= r1) {
                bad += g != kPad;
                continue;
              }
              double mag = 0;
              for (size_t c = 0; c < cols; ++c) mag += std::fabs(w.value(r, c) * acts.value(QuantType::kQ8, t, c, pc));
              if (!(std::fabs(double(g) - double(e)) <= 2e-6 * (mag + 1))) {
                if (++bad <= 3) MESSAGE("t " << t << " r " << r << ": got " << g << " want " << e);
              }
            }
          REQUIRE(bad == 0);
        }
      }
    }
  }
}

}  // namespace

TEST_CASE("pack_quant_panels follows the layout") {
  std::mt19937 rng(29);
  for (QuantType type : {QuantType::kQ8, QuantType::kQ4}) {
    for (size_t n : {1, 16, 21}) {
      CAPTURE(name(type));
      CAPTURE(n);
      const size_t cols = 70, pc = pad32(cols), groups = pc / 32, quads = pc / 4;
      auto x = rand_vec(rng, n * cols, -3, 3);
      TestActs acts(QuantType::kQ8, x, cols, n, cols, pc);
      TestPanels panels(type, acts.a, n, pc);
      const int zero = type == QuantType::kQ8 ? 128 : 8;
      for (size_t t = 0; t < quant_panels_tokens(n); ++t) {
        const size_t p = t / 16, j = t % 16;
        for (size_t c = 0; c < pc; ++c)
          REQUIRE(panels.q[((p * quads + c / 4) * 16 + j) * 4 + c % 4] == (t < n ? acts.q[t * pc + c] : 0));
        for (size_t g = 0; g < groups; ++g) {
          int sum = 0;
          for (size_t i = 0; t < n && i < 32; ++i) sum += acts.q[t * pc + g * 32 + i];
          REQUIRE(panels.d[(p * groups + g) * 16 + j] == (t < n ? acts.d[t * groups + g] : 0.0f));
          REQUIRE(panels.corr[(p * groups + g) * 16 + j] == -zero * sum);
        }
      }
    }
  }
}

TEST_CASE("gemm_quant_panels_ref equals the row form") { check_panels(gemm_quant_panels_ref); }

#if defined(EIDETIC_CPU_KERNELS_AVX512)
TEST_CASE("gemm_quant_panels_vnni equals the row form") {
  if (!cpu_has_avx512_vnni()) {
    MESSAGE("no AVX-512 VNNI on this CPU: form not tested");
    return;
  }
  check_panels(gemm_quant_panels_vnni);
}
#endif
