// CPU kernels that XNNPACK does not provide. Each kernel has a portable C++
// reference form (the `_ref` suffix, in <name>_ref.cpp) and, where it pays, a
// SIMD form with its ISA in the file name (<name>_avx2.cpp, <name>_neon.cpp).
// The plain name dispatches at run time to the best form the CPU supports.
// Tests hold every SIMD form against the reference.
//
// Conventions: row-major, activations are [n_tokens, width] with an explicit
// row stride (in floats) so that a kernel can read a column slice of a wider
// projection output without a copy. All buffers are f32.
#pragma once

#include <pthreadpool.h>

#include <cstddef>
#include <cstdint>

namespace eidetic::cpu {

// y[t] = x[t] / sqrt(mean(x[t]^2) + eps) * w   (w may be null: no weight)
// y may be x (in place).
void rms_norm(const float* x, size_t x_stride, const float* w, float eps, size_t n_tokens, size_t dim, float* y,
              size_t y_stride);

// Mamba-2 gated RMSNorm: g = x * silu(z), then RMSNorm over each group of
// `group_size` consecutive channels, times w (w may be null). dim must be a
// multiple of group_size. y may be x or z (in place).
void gated_rms_norm(const float* x, size_t x_stride, const float* z, size_t z_stride, const float* w, float eps,
                    size_t n_tokens, size_t dim, size_t group_size, float* y, size_t y_stride);

// The instruction sets of the kernel forms this CPU runs ("AVX2", "NEON +
// dotprod", "portable", ...), chosen once as the kernels are.
const char* kernel_isa();

// Causal depthwise conv1d with kernel width k over n_tokens, then SiLU.
// w: [channels, k] (PyTorch's [channels, 1, k] squeezed); bias: [channels] or null.
// tail: the previous k-1 inputs, [k-1, channels], oldest first; read and updated,
// so a prompt and token-by-token decode share one state.
// y[t, c] = silu(bias[c] + sum_j w[c, j] * in[t - (k-1) + j, c])
// k >= 1 (tail may be null when k == 1); y must not overlap x or tail.
void causal_conv1d_silu(const float* x, size_t x_stride, size_t n_tokens, size_t channels, size_t k, const float* w,
                        const float* bias, float* tail, float* y, size_t y_stride);

// Mamba-1 selective scan over n_tokens, channel by channel.
// x, dt, z: [n_tokens, d_inner] (dt after softplus); b, c: [n_tokens, d_state];
// a: [d_inner, d_state] (= -exp(A_log)); d: [d_inner];
// state: [d_inner, d_state], read and updated.
//   s = exp(dt*a) * s + dt * b * x;  y = (sum_n s*c + d*x) * silu(z)
// clang-format off: each pointer with its row stride
struct SelectiveScanArgs {
  size_t n_tokens, d_inner, d_state;
  const float* x;
  size_t x_stride;
  const float* dt;
  size_t dt_stride;
  const float* b;
  size_t b_stride;
  const float* c;
  size_t c_stride;
  const float* z;
  size_t z_stride;
  const float* a;
  const float* d;
  float* state;
  float* y;
  size_t y_stride;
};
// clang-format on
void selective_scan(const SelectiveScanArgs& args);

// Mamba-2 (SSD) recurrence over n_tokens, head by head.
// x: [n_tokens, n_heads*head_dim]; dt: [n_tokens, n_heads] (after softplus and
// clamp); b, c: [n_tokens, n_groups*d_state]; head h uses group h / (n_heads/n_groups)
// (n_heads a multiple of n_groups).
// a: [n_heads] (= -exp(A_log)); d: [n_heads]; state: [n_heads, head_dim, d_state].
//   S = exp(dt*a) * S + dt * x ⊗ b;  y = S c + d * x    (no gate: gated_rms_norm follows)
// clang-format off: each pointer with its row stride
struct SsdScanArgs {
  size_t n_tokens, n_heads, head_dim, n_groups, d_state;
  const float* x;
  size_t x_stride;
  const float* dt;
  size_t dt_stride;
  const float* b;
  size_t b_stride;
  const float* c;
  size_t c_stride;
  const float* a;
  const float* d;
  float* state;
  float* y;
  size_t y_stride;
};
// clang-format on
void ssd_scan(const SsdScanArgs& args);

// ---- Quantized weights: the model file's Q8 and Q4 (converter/quantize.h) ----
// W is [rows, padded_cols], cut along each row into groups of kQuantGroup
// columns with one f16 scale d per group: Q8 stores int8 q (value q*d), Q4 the
// nibble q+8, byte k of a group holding elements 2k (low nibble) and 2k+1.
// The products quantize the activations to int8 per group of 32 as well
// (llama.cpp's q8_0 x q8_0 scheme), so each group's dot product is exact in
// integers and only the group sums are scaled in f32.
constexpr size_t kQuantGroup = 32;

enum class QuantType { kQ8, kQ4 };

struct QuantMatrix {
  QuantType type;
  const uint8_t* data;     // row r at data + r * row_bytes(): padded_cols (Q8) or padded_cols / 2 (Q4)
  const uint16_t* scales;  // f16 [rows, padded_cols / 32]
  size_t rows, padded_cols;
  size_t row_bytes() const { return type == QuantType::kQ8 ? padded_cols : padded_cols / 2; }
};

// Activations as the products read them: per token, padded_cols int8 values
// and one f32 scale per group (x ~ q*d). For Q4 weights the 32 values of a
// group are stored evens first (x0 x2 .. x30 x1 x3 .. x31), matching the
// nibble order, and corr holds 8*d*sum(q) per group (the nibbles' offset).
struct QuantActs {
  int8_t* q;    // [n, padded_cols]
  float* d;     // [n, padded_cols / 32]
  float* corr;  // [n, padded_cols / 32], Q4 only (may be null for Q8)
};

// Quantize n rows of x ([n, cols], rows x_stride apart) for a product with
// weights of `type`: d = max|x| / 127 per group, q = round(x * 127 / max|x|);
// columns [cols, padded_cols) are zero, and so is a group whose max|x| is
// below kMinActScale (where 127 / max|x| would overflow).
constexpr float kMinActScale = 1e-30f;
void quantize_acts(QuantType type, const float* x, size_t x_stride, size_t n, size_t cols, size_t padded_cols,
                   const QuantActs& out);

// y[t, r] = sum_c W[r, c] * x[t, c] (+ bias[r]) for rows [r0, r1) and tokens
// [0, n), x quantized by quantize_acts for w.type; bias may be null. Row
// ranges are independent, so threads may split [0, rows) between them.
void gemm_quant(const QuantMatrix& w, const QuantActs& x, size_t n, size_t r0, size_t r1, const float* bias, float* y,
                size_t y_stride);

// Row r of W in f32, its first `cols` values (the embedding lookup).
void dequantize_row(const QuantMatrix& w, size_t r, size_t cols, float* out);

// ---- Half-precision weights: the model file's F16 and BF16 ----
// y[t, r] = sum_c W[r, c] * x[t, c] (+ bias[r]) for rows [r0, r1) and tokens
// [0, n): W is [rows, cols] of IEEE half (bf16 false) or bfloat16, row-major,
// read in place; x is f32, rows x_stride apart; bias may be null.
void gemm_half(const uint16_t* w, bool bf16, size_t cols, const float* x, size_t x_stride, size_t n, size_t r0,
               size_t r1, const float* bias, float* y, size_t y_stride);

// ---- f32 weights ----
// The same product for f32 weights W [rows, cols], read in place: the form for
// a few tokens (decode), which streams each weight row once per token.
void gemm_f32(const float* w, size_t cols, const float* x, size_t x_stride, size_t n, size_t r0, size_t r1,
              const float* bias, float* y, size_t y_stride);

// ---- Prompt products: activations in token panels ----
// Over many tokens the products read the activations transposed, in panels of
// kPanelTokens tokens stored column by column: x[16p + j][c] at
// (p * cols + c) * 16 + j, zero for tokens past n. A kernel broadcasts one
// weight into a vector of 16 tokens, so the weights are read in place in their
// row-major layout, each tile of rows once for up to 64 tokens, and nothing is
// packed at load. The activations are packed once per product, shared by all
// threads' row ranges.
constexpr size_t kPanelTokens = 16;
inline size_t token_panels_floats(size_t n, size_t cols) {
  return (n + kPanelTokens - 1) / kPanelTokens * kPanelTokens * cols;
}
void pack_token_panels(const float* x, size_t x_stride, size_t n, size_t cols, float* panels);

// y[t, r] = sum_c W[r, c] * x[t, c] (+ bias[r]) for rows [r0, r1) and tokens
// [0, n): W [rows, cols] row-major of f32, f16 or bf16, read in place; x packed
// by pack_token_panels; bias may be null.
enum class DenseType { kF32, kF16, kBF16 };
void gemm_dense_panels(DenseType type, const void* w, size_t cols, const float* panels, size_t n, size_t r0, size_t r1,
                       const float* bias, float* y, size_t y_stride);

// Q8 / Q4 weights over many tokens: the activations quantized by quantize_acts
// for QuantType::kQ8 (natural column order, whatever the weights' type), then
// packed by pack_quant_panels in panels of 16 tokens: q holds, per panel and
// per 4 columns, 16 tokens x 4 bytes (q at ((p * padded_cols / 4 + c / 4) * 16
// + j) * 4 + c % 4); d the scales at (p * groups + g) * 16 + j; corr, per token
// and group, -zero * sum(q) with the weights' zero point (128 for Q8, whose
// bytes the kernels offset by 128, 8 for Q4), so that the products run on
// unsigned weight bytes. Padding tokens are zero.
struct QuantPanels {
  int8_t* q;      // [panels, padded_cols / 4, 16, 4]
  float* d;       // [panels, groups, 16]
  int32_t* corr;  // [panels, groups, 16]
};
inline size_t quant_panels_tokens(size_t n) { return (n + kPanelTokens - 1) / kPanelTokens * kPanelTokens; }
void pack_quant_panels(QuantType type, const QuantActs& x, size_t n, size_t padded_cols, const QuantPanels& out);
void gemm_quant_panels(const QuantMatrix& w, const QuantPanels& x, size_t n, size_t r0, size_t r1, const float* bias,
                       float* y, size_t y_stride);
// Whether this CPU has a SIMD form of gemm_quant_panels (AVX-512 VNNI so far);
// without one the row form gemm_quant is the faster for any n.
bool have_quant_panels();

// y[i] = softplus(x[i]) = log(1 + e^x[i]), or x[i] itself above 20 (PyTorch's
// threshold). y may be x.
void softplus(const float* x, size_t n, float* y);

// The same recurrence for a prompt, in the chunked ("SSD") form: within each
// chunk of tokens the outputs come from matrix products (C·Bᵀ masked by the
// decay products, times dt·x; C times the state at the chunk's start), and the
// state passes from chunk to chunk, ending as ssd_scan leaves it. Equal to
// ssd_scan up to rounding (not bit for bit). `chunk` is the chunk length
// (clamped to 1 .. kSsdMaxChunk); scratch holds ssd_chunked_scratch_floats()
// floats and must not overlap the arguments. With a pool, heads are spread
// over its threads; the result is the same bit for bit for any pool. On CPUs
// without a SIMD form of it (x86-64 AVX2 or AVX-512, aarch64 NEON), this runs ssd_scan.
constexpr size_t kSsdMaxChunk = 256;
inline size_t ssd_chunk_length(size_t chunk, size_t n_tokens) {
  size_t l = chunk < 1 ? 1 : chunk > kSsdMaxChunk ? kSsdMaxChunk : chunk;
  return n_tokens < l ? n_tokens : l;
}
size_t ssd_chunked_scratch_floats(size_t n_tokens, size_t n_heads, size_t head_dim, size_t n_groups, size_t d_state,
                                  size_t chunk);
void ssd_chunked(const SsdScanArgs& args, size_t chunk, float* scratch, pthreadpool_t pool);

// Threaded forms of the kernels above: the work is split over the pool's
// threads by token row (norms), channel (conv, selective_scan) or head
// (ssd_scan), never inside a reduction, so the result is the same bit for bit
// as the single-threaded call, for any pool. A null pool, or too little work
// to share, runs on the calling thread.
void rms_norm(const float* x, size_t x_stride, const float* w, float eps, size_t n_tokens, size_t dim, float* y,
              size_t y_stride, pthreadpool_t pool);
void gated_rms_norm(const float* x, size_t x_stride, const float* z, size_t z_stride, const float* w, float eps,
                    size_t n_tokens, size_t dim, size_t group_size, float* y, size_t y_stride, pthreadpool_t pool);
void causal_conv1d_silu(const float* x, size_t x_stride, size_t n_tokens, size_t channels, size_t k, const float* w,
                        const float* bias, float* tail, float* y, size_t y_stride, pthreadpool_t pool);
void selective_scan(const SelectiveScanArgs& args, pthreadpool_t pool);
void ssd_scan(const SsdScanArgs& args, pthreadpool_t pool);

}  // namespace eidetic::cpu
