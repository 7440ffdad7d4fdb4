#version 450
// Causal depthwise conv1d + SiLU over n tokens with the carried tail (the
// previous k-1 inputs, [k-1, channels] in the state): one thread per channel
// walks the tokens, so the same kernel serves a prompt and one decode step,
// and updates the tail after its last read of it.
//   y[t, c] = silu(bias[c] + sum_j w[c, j] * in[t - (k-1) + j, c])
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
} p;

// Row r of "tail ++ x" for channel c.
float conv_in(uint r, uint c) {
  const uint hist = p.k - 1;
  return r < hist ? st[p.tail_off + r * p.channels + c] : act[p.in_off + (r - hist) * p.in_stride + c];
}

void main() {
  const uint c = gl_GlobalInvocationID.x;
  if (c >= p.channels) return;
  const float b = p.has_bias != 0 ? cb[c] : 0.0;
  for (uint t = 0; t < p.n; ++t) {
    float acc = b;
    for (uint j = 0; j < p.k; ++j) acc += cw[c * p.k + j] * conv_in(t + j, c);
    act[p.out_off + t * p.out_stride + c] = silu(acc);
  }
  // New tail: the last k-1 rows of "tail ++ x"; row r takes row r + n, never
  // before r, so ascending order reads each old row before overwriting it.
  for (uint r = 0; r + 1 < p.k; ++r) {
    const float v = conv_in(r + p.n, c);
    st[p.tail_off + r * p.channels + c] = v;
  }
}
