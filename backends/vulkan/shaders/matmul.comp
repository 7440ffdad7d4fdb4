#version 450
// Y[t, row0 + r] = sum_k W[r, k] * X[t, k] (+ bias) for a prompt: tiles of
// 64 rows x 32 tokens per workgroup of 128 threads, each thread 4 x 4 outputs,
// K walked in steps of 16 through shared memory (weights converted to f32 as
// they are loaded, whatever their type). Same push constants and flags as
// matvec.comp, plus the token count n.
#extension GL_GOOGLE_include_directive : require
#define SCALES_BINDING 3
#include "common.glsl"
#include "weights.glsl"

layout(std430, binding = 1) buffer Act { float act[]; };
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };

layout(push_constant) uniform Push {
  uint K, row_stride, rows, row0;
  uint x_off, x_stride, y_off, y_stride;
  uint flags, bias_off;
  uint n;
} p;

const uint BM = 64, BN = 32, BK = 16;
shared float As[BK][BM + 1];
shared float Bs[BK][BN + 1];

void main() {
  // The host launches this with a workgroup of 128 (spec constant 0).
  const uint tid = gl_LocalInvocationID.x;
  const uint m0 = gl_WorkGroupID.x * BM, n0 = gl_WorkGroupID.y * BN;
  const uint tr = tid % 16, tc = tid / 16;  // rows tr*4.., tokens tc*4..
  float acc[4][4];
  for (uint i = 0; i < 4; ++i)
    for (uint j = 0; j < 4; ++j) acc[i][j] = 0.0;

  for (uint k0 = 0; k0 < p.K; k0 += BK) {
    // Eight weights per load; past K the padded rows hold zeros.
    for (uint e = tid; e < BM * BK / 8; e += 128) {
      const uint r = e / (BK / 8), kk = (e % (BK / 8)) * 8;
      const uint row = m0 + r, col = k0 + kk;
      float v[8];
      if (row < p.rows && col < p.K) w_load8(row, col, p.row_stride, v);
      else for (uint j = 0; j < 8; ++j) v[j] = 0.0;
      for (uint j = 0; j < 8; ++j) As[kk + j][r] = v[j];
    }
    for (uint e = tid; e < BN * BK; e += 128) {
      const uint t = e / BK, k = e % BK;
      const uint tok = n0 + t, col = k0 + k;
      Bs[k][t] = tok < p.n && col < p.K ? act[p.x_off + tok * p.x_stride + col] : 0.0;
    }
    barrier();
    for (uint k = 0; k < BK; ++k) {
      float a[4], b[4];
      for (uint i = 0; i < 4; ++i) a[i] = As[k][tr * 4 + i];
      for (uint j = 0; j < 4; ++j) b[j] = Bs[k][tc * 4 + j];
      for (uint i = 0; i < 4; ++i)
        for (uint j = 0; j < 4; ++j) acc[i][j] += a[i] * b[j];
    }
    barrier();
  }
  for (uint i = 0; i < 4; ++i) {
    const uint r = m0 + tr * 4 + i;
    if (r >= p.rows) continue;
    for (uint j = 0; j < 4; ++j) {
      const uint t = n0 + tc * 4 + j;
      if (t >= p.n) continue;
      float v = acc[i][j];
      if ((p.flags & 1u) != 0) v += bias[p.bias_off + p.row0 + r];
      if ((p.flags & 4u) != 0) v = softplus(v);
      const uint yi = p.y_off + t * p.y_stride + p.row0 + r;
      act[yi] = (p.flags & 2u) != 0 ? act[yi] + v : v;
    }
  }
}
