// AVX2+FMA forms of the kernels in kernels.h (x86-64 only: these exist when the
// library is built with EIDETIC_CPU_KERNELS_AVX2 defined). Call them only where
// cpu_has_avx2_fma() is true; dispatch.cpp does so for the plain names, tests
// call them directly to hold them against the reference forms.
#pragma once

#include "backends/cpu/kernels/kernels.h"

namespace eidetic::cpu {

// True when this CPU runs AVX2 and FMA (always false off x86-64).
bool cpu_has_avx2_fma();

#if defined(EIDETIC_CPU_KERNELS_AVX2)
void rms_norm_avx2(const float* x, size_t x_stride, const float* w, float eps, size_t n_tokens, size_t dim, float* y,
                   size_t y_stride);
void gated_rms_norm_avx2(const float* x, size_t x_stride, const float* z, size_t z_stride, const float* w, float eps,
                         size_t n_tokens, size_t dim, size_t group_size, float* y, size_t y_stride);
void causal_conv1d_silu_avx2(const float* x, size_t x_stride, size_t n_tokens, size_t channels, size_t k,
                             const float* w, const float* bias, float* tail, float* y, size_t y_stride);
void selective_scan_avx2(const SelectiveScanArgs& args);
void ssd_scan_avx2(const SsdScanArgs& args);
void softplus_avx2(const float* x, size_t n, float* y);
// ssd_chunked with AVX2 matrix products; heads spread over the pool (may be null).
void ssd_chunked_avx2(const SsdScanArgs& args, size_t chunk, float* scratch, pthreadpool_t pool);
// The same on AVX-512F vectors: only where cpu_has_avx512f().
void ssd_chunked_avx512(const SsdScanArgs& args, size_t chunk, float* scratch, pthreadpool_t pool);
bool cpu_has_avx512f();

// Quantized products with AVX2 byte multiplies (vpmaddubsw); need F16C too.
// quantize_acts_avx2 writes the same bytes as the reference form.
void quantize_acts_avx2(QuantType type, const float* x, size_t x_stride, size_t n, size_t cols, size_t padded_cols,
                        const QuantActs& out);
void gemm_quant_avx2(const QuantMatrix& w, const QuantActs& x, size_t n, size_t r0, size_t r1, const float* bias,
                     float* y, size_t y_stride);
// f16 / bf16 products: F16C (vcvtph2ps) widens f16, a shift widens bf16.
void gemm_half_avx2(const uint16_t* w, bool bf16, size_t cols, const float* x, size_t x_stride, size_t n, size_t r0,
                    size_t r1, const float* bias, float* y, size_t y_stride);
// f32 weights and the dense prompt products (F16C widens f16); the AVX-512F
// forms only where cpu_has_avx512f().
void gemm_f32_avx2(const float* w, size_t cols, const float* x, size_t x_stride, size_t n, size_t r0, size_t r1,
                   const float* bias, float* y, size_t y_stride);
void gemm_dense_panels_avx2(DenseType type, const void* w, size_t cols, const float* panels, size_t n, size_t r0,
                            size_t r1, const float* bias, float* y, size_t y_stride);
void gemm_f32_avx512(const float* w, size_t cols, const float* x, size_t x_stride, size_t n, size_t r0, size_t r1,
                     const float* bias, float* y, size_t y_stride);
void gemm_dense_panels_avx512(DenseType type, const void* w, size_t cols, const float* panels, size_t n, size_t r0,
                              size_t r1, const float* bias, float* y, size_t y_stride);

// y[i] = exp(x[i]) with the vector exp the kernels use (exp_avx2.h); exposed so
// that tests can measure its error against std::exp.
void exp_avx2(const float* x, size_t n, float* y);
#endif

// True when this CPU has AVX-512 VNNI with AVX-512VL/BW, AVX2, FMA and F16C.
bool cpu_has_avx512_vnni();

#if defined(EIDETIC_CPU_KERNELS_AVX512)
// Quantized products with VNNI dot products (vpdpbusd) on 256-bit vectors,
// which AVX-512VL gives 32 registers of.
void gemm_quant_vnni(const QuantMatrix& w, const QuantActs& x, size_t n, size_t r0, size_t r1, const float* bias,
                     float* y, size_t y_stride);
// gemm_quant for one token (n = 1, packed y) on 512-bit vectors; what
// gemm_quant_vnni runs for n = 1.
void gemv_quant_avx512(const QuantMatrix& w, const QuantActs& x, size_t r0, size_t r1, const float* bias, float* y);
// The prompt product on token panels (kernels.h: gemm_quant_panels).
void gemm_quant_panels_vnni(const QuantMatrix& w, const QuantPanels& x, size_t n, size_t r0, size_t r1,
                            const float* bias, float* y, size_t y_stride);
#endif

}  // namespace eidetic::cpu
