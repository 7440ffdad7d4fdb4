#version 450
// y[t, row0 + r] = sum_k W[r, k] * x[t, k] (+ bias) for one token t per
// workgroup row of the grid (decode, and prompts of a few tokens): one
// workgroup per output row, its threads striding over the row in CHUNKs
// (16-byte loads), then a workgroup sum. Activations live in one buffer and
// are addressed by offsets. flags: 1 add bias, 2 accumulate into y (the
// residual add fused into out_proj), 4 softplus (Mamba-1's dt_proj).
#extension GL_GOOGLE_include_directive : require
#define NEED_WG_SUM
#define SCALES_BINDING 3
#include "common.glsl"
#include "weights.glsl"

layout(std430, binding = 1) buffer Act { float act[]; };
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };

layout(push_constant) uniform Push {
  uint K;           // columns used
  uint row_stride;  // elements between rows of W
  uint rows;        // rows in this slice of W
  uint row0;        // its first row's index in y
  uint x_off, x_stride, y_off, y_stride;
  uint flags;
  uint bias_off;
} p;

void main() {
  const uint r = gl_WorkGroupID.x + gl_NumWorkGroups.x * gl_WorkGroupID.y;
  if (r >= p.rows) return;  // whole workgroups only: no barrier is skipped by part of one
  const uint t = gl_WorkGroupID.z;
  const uint xb = p.x_off + t * p.x_stride;
  const uint chunks = (p.K + CHUNK - 1) / CHUNK;
  float acc = 0.0;
  for (uint c = gl_LocalInvocationID.x; c < chunks; c += gl_WorkGroupSize.x) {
    float xs[CHUNK];
    const uint k0 = c * CHUNK;
    // Columns past K are zero in W but x may hold anything there (the next row).
    for (uint j = 0; j < CHUNK; ++j) xs[j] = k0 + j < p.K ? act[xb + k0 + j] : 0.0;
    acc += w_chunk_dot(r, c, p.row_stride, xs);
  }
  acc = wg_sum(acc);
  if (gl_LocalInvocationID.x == 0) {
    if ((p.flags & 1u) != 0) acc += bias[p.bias_off + p.row0 + r];
    if ((p.flags & 4u) != 0) acc = softplus(acc);
    const uint yi = p.y_off + t * p.y_stride + p.row0 + r;
    act[yi] = (p.flags & 2u) != 0 ? act[yi] + acc : acc;
  }
}
