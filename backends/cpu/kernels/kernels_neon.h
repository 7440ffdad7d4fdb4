// NEON forms of the kernels in kernels.h (aarch64 only: these exist when the
// library is built with EIDETIC_CPU_KERNELS_NEON defined). Advanced SIMD is
// part of every AArch64 CPU, so the NEON forms need no check; the dot-product
// forms (SDOT, Armv8.2's optional FEAT_DotProd) only where
// cpu_has_neon_dotprod() is true. dispatch.cpp picks them for the plain names;
// tests call them directly to hold them against the reference forms.
#pragma once

#include "backends/cpu/kernels/kernels.h"

namespace eidetic::cpu {

// True when this CPU has the SDOT / UDOT instructions (always false off aarch64).
bool cpu_has_neon_dotprod();

#if defined(EIDETIC_CPU_KERNELS_NEON)
// Quantized products: int8 products widened and added in pairs (SMULL,
// SADALP). quantize_acts_neon writes the same bytes as the reference form.
void quantize_acts_neon(QuantType type, const float* x, size_t x_stride, size_t n, size_t cols, size_t padded_cols,
                        const QuantActs& out);
void gemm_quant_neon(const QuantMatrix& w, const QuantActs& x, size_t n, size_t r0, size_t r1, const float* bias,
                     float* y, size_t y_stride);
// The same with 4-way int8 dot products (SDOT): only where cpu_has_neon_dotprod().
void gemm_quant_dotprod(const QuantMatrix& w, const QuantActs& x, size_t n, size_t r0, size_t r1, const float* bias,
                        float* y, size_t y_stride);
// Dense products: f32 rows for decode, f16 / bf16 rows (FCVTL widens f16, a
// shift bf16), and the prompt product on token panels.
void gemm_f32_neon(const float* w, size_t cols, const float* x, size_t x_stride, size_t n, size_t r0, size_t r1,
                   const float* bias, float* y, size_t y_stride);
void gemm_half_neon(const uint16_t* w, bool bf16, size_t cols, const float* x, size_t x_stride, size_t n, size_t r0,
                    size_t r1, const float* bias, float* y, size_t y_stride);
void gemm_dense_panels_neon(DenseType type, const void* w, size_t cols, const float* panels, size_t n, size_t r0,
                            size_t r1, const float* bias, float* y, size_t y_stride);
// Norms, the causal conv and the Mamba-2 recurrence (decode), on 4-lane f32 vectors.
void causal_conv1d_silu_neon(const float* x, size_t x_stride, size_t n_tokens, size_t channels, size_t k,
                             const float* w, const float* bias, float* tail, float* y, size_t y_stride);
void rms_norm_neon(const float* x, size_t x_stride, const float* w, float eps, size_t n_tokens, size_t dim, float* y,
                   size_t y_stride);
void gated_rms_norm_neon(const float* x, size_t x_stride, const float* z, size_t z_stride, const float* w, float eps,
                         size_t n_tokens, size_t dim, size_t group_size, float* y, size_t y_stride);
void ssd_scan_neon(const SsdScanArgs& args);
// Mamba-1 selective scan with the vector exp of exp_neon.h.
void selective_scan_neon(const SelectiveScanArgs& args);
// y[i] = exp(x[i]) with that vector exp; exposed so that tests can measure its
// error against std::exp.
void exp_neon(const float* x, size_t n, float* y);
// Softplus (Mamba-1's dt) with that exp and a vector log, as softplus_avx2.
void softplus_neon(const float* x, size_t n, float* y);
// ssd_chunked with NEON matrix products; heads spread over the pool (may be null).
void ssd_chunked_neon(const SsdScanArgs& args, size_t chunk, float* scratch, pthreadpool_t pool);
#endif

}  // namespace eidetic::cpu
