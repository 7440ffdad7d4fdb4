#version 450
// Causal depthwise conv1d + SiLU over n tokens with the carried tail (the
// previous k-1 inputs, [k-1, channels] in the state), in two passes so every
// output is its own thread (prompts are long, channels few):
//   mode 0: y[t, c] = silu(bias[c] + sum_j w[c, j] * in[t - (k-1) + j, c]),
//           one thread per (channel, token); reads the old tail.
//   mode 1: the new tail, the last k-1 rows of "tail ++ x", one thread per
//           channel (after mode 0, which read the old one).
// (A single decode token's conv is fused into in_proj instead; matvec.comp.)
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(std430, binding = 0) buffer Act { float act[]; };
layout(std430, binding = 1) readonly buffer ConvW { float cw[]; };
layout(std430, binding = 2) readonly buffer ConvB { float cb[]; };
layout(std430, binding = 3) buffer State { float st[]; };

layout(push_constant) uniform Push {
  uint channels, k, n;
  uint in_off, in_stride, out_off, out_stride;
  uint has_bias;
  uint tail_off;  // in the state binding
  uint mode;
} p;

// Row r of "tail ++ x" for channel c.
float conv_in(uint r, uint c) {
  const uint hist = p.k - 1;
  return r < hist ? st[p.tail_off + r * p.channels + c] : act[p.in_off + (r - hist) * p.in_stride + c];
}

void main() {
  const uint c = gl_GlobalInvocationID.x;
  if (c >= p.channels) return;
  if (p.mode == 0) {
    const uint t = gl_WorkGroupID.y;
    float acc = p.has_bias != 0 ? cb[c] : 0.0;
    for (uint j = 0; j < p.k; ++j) acc += cw[c * p.k + j] * conv_in(t + j, c);
    act[p.out_off + t * p.out_stride + c] = silu(acc);
    return;
  }
  // Row r takes row r + n, never before r: ascending order reads each old row
  // before overwriting it.
  for (uint r = 0; r + 1 < p.k; ++r) {
    const float v = conv_in(r + p.n, c);
    st[p.tail_off + r * p.channels + c] = v;
  }
}
