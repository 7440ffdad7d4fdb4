// Portable reference forms of the kernels in kernels.h: same arguments, same
// semantics. Plain C++ that any compiler vectorises as it can; they define what
// the SIMD forms must compute and are what runs where no SIMD form exists.
#pragma once

#include "backends/cpu/kernels/kernels.h"

namespace eidetic::cpu {

void rms_norm_ref(const float* x, size_t x_stride, const float* w, float eps, size_t n_tokens, size_t dim, float* y,
                  size_t y_stride);
void gated_rms_norm_ref(const float* x, size_t x_stride, const float* z, size_t z_stride, const float* w, float eps,
                        size_t n_tokens, size_t dim, size_t group_size, float* y, size_t y_stride);
void causal_conv1d_silu_ref(const float* x, size_t x_stride, size_t n_tokens, size_t channels, size_t k, const float* w,
                            const float* bias, float* tail, float* y, size_t y_stride);
void selective_scan_ref(const SelectiveScanArgs& args);
void ssd_scan_ref(const SsdScanArgs& args);

void softplus_ref(const float* x, size_t n, float* y);
// ssd_chunked on one thread; scratch as for ssd_chunked.
void ssd_chunked_ref(const SsdScanArgs& args, size_t chunk, float* scratch);
void quantize_acts_ref(QuantType type, const float* x, size_t x_stride, size_t n, size_t cols, size_t padded_cols,
                       const QuantActs& out);
void gemm_quant_ref(const QuantMatrix& w, const QuantActs& x, size_t n, size_t r0, size_t r1, const float* bias,
                    float* y, size_t y_stride);
void gemm_half_ref(const uint16_t* w, bool bf16, size_t cols, const float* x, size_t x_stride, size_t n, size_t r0,
                   size_t r1, const float* bias, float* y, size_t y_stride);
void gemm_f32_ref(const float* w, size_t cols, const float* x, size_t x_stride, size_t n, size_t r0, size_t r1,
                  const float* bias, float* y, size_t y_stride);
void pack_token_panels_ref(const float* x, size_t x_stride, size_t n, size_t cols, float* panels);
void gemm_dense_panels_ref(DenseType type, const void* w, size_t cols, const float* panels, size_t n, size_t r0,
                           size_t r1, const float* bias, float* y, size_t y_stride);
void pack_quant_panels_ref(QuantType type, const QuantActs& x, size_t n, size_t padded_cols, const QuantPanels& out);
void gemm_quant_panels_ref(const QuantMatrix& w, const QuantPanels& x, size_t n, size_t r0, size_t r1,
                           const float* bias, float* y, size_t y_stride);

}  // namespace eidetic::cpu
