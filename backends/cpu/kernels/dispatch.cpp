// The plain kernel names: pick the best form for this CPU once (the first call
// resolves a table of function pointers; a function-local static makes that
// thread-safe), then every call is one indirect jump.
#include "backends/cpu/kernels/kernels.h"
#include "backends/cpu/kernels/kernels_avx2.h"
#include "backends/cpu/kernels/kernels_neon.h"
#include "backends/cpu/kernels/kernels_ref.h"

#if defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace eidetic::cpu {

bool cpu_has_avx2_fma() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

bool cpu_has_avx512_vnni() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  return cpu_has_avx2_fma() && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx512vnni") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
#else
  return false;
#endif
}

bool cpu_has_neon_dotprod() {
#if defined(__aarch64__) && defined(__linux__)
  return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#else
  return false;
#endif
}

namespace {

struct Table {
  decltype(&rms_norm_ref) rms_norm = rms_norm_ref;
  decltype(&gated_rms_norm_ref) gated_rms_norm = gated_rms_norm_ref;
  decltype(&causal_conv1d_silu_ref) causal_conv1d_silu = causal_conv1d_silu_ref;
  decltype(&selective_scan_ref) selective_scan = selective_scan_ref;
  decltype(&ssd_scan_ref) ssd_scan = ssd_scan_ref;
  decltype(&quantize_acts_ref) quantize_acts = quantize_acts_ref;
  decltype(&gemm_quant_ref) gemm_quant = gemm_quant_ref;
  decltype(&gemm_half_ref) gemm_half = gemm_half_ref;
  decltype(&gemm_f32_ref) gemm_f32 = gemm_f32_ref;
  decltype(&gemm_dense_panels_ref) gemm_dense_panels = gemm_dense_panels_ref;
  decltype(&gemm_quant_panels_ref) gemm_quant_panels = gemm_quant_panels_ref;
  decltype(&softplus_ref) softplus = softplus_ref;
  const char* isa = "portable";
};

Table resolve() {
  Table t;
#if defined(EIDETIC_CPU_KERNELS_AVX2)
  if (cpu_has_avx2_fma()) {
    t.rms_norm = rms_norm_avx2;
    t.gated_rms_norm = gated_rms_norm_avx2;
    t.causal_conv1d_silu = causal_conv1d_silu_avx2;
    t.selective_scan = selective_scan_avx2;
    t.ssd_scan = ssd_scan_avx2;
    if (__builtin_cpu_supports("f16c")) {
      t.quantize_acts = quantize_acts_avx2;
      t.gemm_quant = gemm_quant_avx2;
      t.gemm_half = gemm_half_avx2;
      t.gemm_f32 = gemm_f32_avx2;
      t.gemm_dense_panels = gemm_dense_panels_avx2;
    }
    t.softplus = softplus_avx2;
    t.isa = "AVX2";
  }
  if (cpu_has_avx512f() && __builtin_cpu_supports("f16c")) {
    t.gemm_f32 = gemm_f32_avx512;
    t.gemm_dense_panels = gemm_dense_panels_avx512;
    t.isa = "AVX2 + AVX-512";
  }
#endif
#if defined(EIDETIC_CPU_KERNELS_AVX512)
  if (cpu_has_avx512_vnni()) {
    t.gemm_quant = gemm_quant_vnni;
    t.gemm_quant_panels = gemm_quant_panels_vnni;
    t.isa = "AVX2 + AVX-512 VNNI";
  }
#endif
#if defined(EIDETIC_CPU_KERNELS_NEON)
  t.quantize_acts = quantize_acts_neon;
  t.gemm_quant = cpu_has_neon_dotprod() ? gemm_quant_dotprod : gemm_quant_neon;
  t.gemm_half = gemm_half_neon;
  t.gemm_f32 = gemm_f32_neon;
  t.gemm_dense_panels = gemm_dense_panels_neon;
  t.selective_scan = selective_scan_neon;
  t.ssd_scan = ssd_scan_neon;
  t.rms_norm = rms_norm_neon;
  t.gated_rms_norm = gated_rms_norm_neon;
  t.causal_conv1d_silu = causal_conv1d_silu_neon;
  t.softplus = softplus_neon;
  t.isa = cpu_has_neon_dotprod() ? "NEON + dotprod" : "NEON";
#endif
  return t;
}

const Table& table() {
  static const Table t = resolve();
  return t;
}

}  // namespace

const char* kernel_isa() { return table().isa; }

void rms_norm(const float* x, size_t x_stride, const float* w, float eps, size_t n_tokens, size_t dim, float* y,
              size_t y_stride) {
  table().rms_norm(x, x_stride, w, eps, n_tokens, dim, y, y_stride);
}

void gated_rms_norm(const float* x, size_t x_stride, const float* z, size_t z_stride, const float* w, float eps,
                    size_t n_tokens, size_t dim, size_t group_size, float* y, size_t y_stride) {
  table().gated_rms_norm(x, x_stride, z, z_stride, w, eps, n_tokens, dim, group_size, y, y_stride);
}

void causal_conv1d_silu(const float* x, size_t x_stride, size_t n_tokens, size_t channels, size_t k, const float* w,
                        const float* bias, float* tail, float* y, size_t y_stride) {
  table().causal_conv1d_silu(x, x_stride, n_tokens, channels, k, w, bias, tail, y, y_stride);
}

void selective_scan(const SelectiveScanArgs& args) { table().selective_scan(args); }

void ssd_scan(const SsdScanArgs& args) { table().ssd_scan(args); }

void quantize_acts(QuantType type, const float* x, size_t x_stride, size_t n, size_t cols, size_t padded_cols,
                   const QuantActs& out) {
  table().quantize_acts(type, x, x_stride, n, cols, padded_cols, out);
}

void gemm_quant(const QuantMatrix& w, const QuantActs& x, size_t n, size_t r0, size_t r1, const float* bias, float* y,
                size_t y_stride) {
  table().gemm_quant(w, x, n, r0, r1, bias, y, y_stride);
}

void gemm_half(const uint16_t* w, bool bf16, size_t cols, const float* x, size_t x_stride, size_t n, size_t r0,
               size_t r1, const float* bias, float* y, size_t y_stride) {
  table().gemm_half(w, bf16, cols, x, x_stride, n, r0, r1, bias, y, y_stride);
}

void gemm_f32(const float* w, size_t cols, const float* x, size_t x_stride, size_t n, size_t r0, size_t r1,
              const float* bias, float* y, size_t y_stride) {
  table().gemm_f32(w, cols, x, x_stride, n, r0, r1, bias, y, y_stride);
}

void pack_token_panels(const float* x, size_t x_stride, size_t n, size_t cols, float* panels) {
  pack_token_panels_ref(x, x_stride, n, cols, panels);
}

void gemm_dense_panels(DenseType type, const void* w, size_t cols, const float* panels, size_t n, size_t r0, size_t r1,
                       const float* bias, float* y, size_t y_stride) {
  table().gemm_dense_panels(type, w, cols, panels, n, r0, r1, bias, y, y_stride);
}

void pack_quant_panels(QuantType type, const QuantActs& x, size_t n, size_t padded_cols, const QuantPanels& out) {
  pack_quant_panels_ref(type, x, n, padded_cols, out);
}

void gemm_quant_panels(const QuantMatrix& w, const QuantPanels& x, size_t n, size_t r0, size_t r1, const float* bias,
                       float* y, size_t y_stride) {
  table().gemm_quant_panels(w, x, n, r0, r1, bias, y, y_stride);
}

bool have_quant_panels() { return table().gemm_quant_panels != gemm_quant_panels_ref; }

void softplus(const float* x, size_t n, float* y) { table().softplus(x, n, y); }

}  // namespace eidetic::cpu
