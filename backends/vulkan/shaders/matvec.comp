#version 450
// y[t, row0 + r] = sum_k W[r, k] * x[t, k] (+ bias) for one token t per
// workgroup row of the grid (decode, and prompts of a few tokens): one
// workgroup per output row, its threads striding over the row in CHUNKs
// (16-byte loads), then a workgroup sum. Activations live in one buffer and
// are addressed by offsets.
//
// flags: 1 add bias; 2 accumulate into y (the residual add fused into
// out_proj); 4 softplus (Mamba-1's dt_proj); 8 RMSNorm x first (the block's
// pre-norm fused in: x is the raw residual stream, and its sum of squares is
// taken in the same pass); 16 the mixer's causal conv for one token fused in
// (rows [conv_row0, conv_row0 + channels) are the conv's input channels: the
// row's value is pushed into the channel's tail and silu(conv) is written at
// conv_off); 32 gate x by silu(z) first (with 8: Mamba-2's gated RMSNorm
// over the whole row fused into out_proj).
//
// With INT_DOT (Q8 / Q4 weights on devices with integer dot products), each
// CHUNK of x is rounded to int8 once and multiplied with ROWS rows' groups in
// integers (weights.glsl). The fused norm's scale multiplies the sums
// afterwards, which rounding per group does not change.
#extension GL_GOOGLE_include_directive : require
#define NEED_WG_SUM
#define SCALES_BINDING 3
#include "common.glsl"
#include "weights.glsl"

layout(std430, binding = 1) buffer Act { float act[]; };
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, binding = 4) readonly buffer NormW { float norm_w[]; };
layout(std430, binding = 5) readonly buffer ConvW { float conv_w[]; };
layout(std430, binding = 6) readonly buffer ConvB { float conv_b[]; };
layout(std430, binding = 7) buffer State { float st[]; };

layout(push_constant) uniform Push {
  uint K;           // columns used
  uint row_stride;  // elements between rows of W
  uint rows;        // rows in this slice of W
  uint row0;        // its first row's index in y
  uint x_off, x_stride, y_off, y_stride;
  uint flags;
  uint bias_off;
  uint n;           // unused here (matmul.comp's)
  float norm_eps;
  uint conv_row0, conv_channels, conv_k, conv_off, tail_off, conv_has_bias;
  uint z_off, z_stride;
} p;

// Rows per workgroup (specialization constant 1): each thread loads its piece
// of x once and multiplies it with that many rows, so x's reads (from cache)
// shrink next to the weights' (from memory) as the weights get smaller.
layout(constant_id = 1) const uint ROWS = 1;

void main() {
  const uint r0 = (gl_WorkGroupID.x + gl_NumWorkGroups.x * gl_WorkGroupID.y) * ROWS;
  if (r0 >= p.rows) return;  // whole workgroups only: no barrier is skipped by part of one
  const uint t = gl_WorkGroupID.z;
  const uint xb = p.x_off + t * p.x_stride;
  const uint chunks = (p.K + CHUNK - 1) / CHUNK;
  const bool norm = (p.flags & 8u) != 0, gate = (p.flags & 32u) != 0;
  const uint zb = p.z_off + t * p.z_stride;
  float acc[ROWS];
  for (uint i = 0; i < ROWS; ++i) acc[i] = 0.0;
  float ss = 0.0;
  for (uint c = gl_LocalInvocationID.x; c < chunks; c += gl_WorkGroupSize.x) {
    float xs[CHUNK];
    const uint k0 = c * CHUNK;
    // Columns past K are zero in W but x may hold anything there (the next row).
    for (uint j = 0; j < CHUNK; ++j) {
      float v = k0 + j < p.K ? act[xb + k0 + j] : 0.0;
      if (gate && k0 + j < p.K) v *= silu(act[zb + k0 + j]);
      ss += v * v;
      xs[j] = norm && k0 + j < p.K ? v * norm_w[k0 + j] : v;
    }
#if defined(INT_DOT)
    uint xq[8];
    float xd;
    quantize_chunk(xs, xq, xd);
    for (uint i = 0; i < ROWS; ++i)
      if (r0 + i < p.rows) acc[i] += w_chunk_dot_int(r0 + i, c, p.row_stride, xq, xd);
#else
    for (uint i = 0; i < ROWS; ++i)
      if (r0 + i < p.rows) acc[i] += w_chunk_dot(r0 + i, c, p.row_stride, xs);
#endif
  }
  const float scale = norm ? 1.0 / sqrt(wg_sum(ss) / float(p.K) + p.norm_eps) : 1.0;
  for (uint i = 0; i < ROWS; ++i) acc[i] = wg_sum(acc[i]) * scale;
  if (gl_LocalInvocationID.x != 0) return;
  for (uint i = 0; i < ROWS; ++i) {
    const uint r = r0 + i;
    if (r >= p.rows) break;
    float v = acc[i];
    if ((p.flags & 1u) != 0) v += bias[p.bias_off + p.row0 + r];
    if ((p.flags & 4u) != 0) v = softplus(v);
    const uint yi = p.y_off + t * p.y_stride + p.row0 + r;
    act[yi] = (p.flags & 2u) != 0 ? act[yi] + v : v;
    const uint ch = p.row0 + r - p.conv_row0;  // wraps for rows before the conv's
    if ((p.flags & 16u) != 0 && ch < p.conv_channels) {
      // conv_in rows: the k-1 tail rows, then this token's value.
      const uint k = p.conv_k;
      float cv = p.conv_has_bias != 0 ? conv_b[ch] : 0.0;
      for (uint j = 0; j + 1 < k; ++j) cv += conv_w[ch * k + j] * st[p.tail_off + j * p.conv_channels + ch];
      cv += conv_w[ch * k + k - 1] * v;
      act[p.conv_off + ch] = silu(cv);
      for (uint j = 0; j + 2 < k; ++j)
        st[p.tail_off + j * p.conv_channels + ch] = st[p.tail_off + (j + 1) * p.conv_channels + ch];
      if (k > 1) st[p.tail_off + (k - 2) * p.conv_channels + ch] = v;
    }
  }
}
