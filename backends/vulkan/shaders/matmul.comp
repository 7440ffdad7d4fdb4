#version 450
// Y[t, row0 + r] = sum_k W[r, k] * X[t, k] (+ bias) for a prompt: tiles of
// 128 rows x 32 tokens per workgroup of 128 threads (the least every device
// allows), each thread 8 rows x 4 tokens in registers, K walked in steps of 16
// through shared memory (weights converted to f32 as they are loaded, whatever
// their type). Per step of K a thread reads its 8 weights and 4 activations as
// three 16-byte shared loads for 32 multiply-adds: shared memory, not the
// arithmetic units, bounds a tile with fewer outputs per thread. Same push
// constants and flags as matvec.comp, plus the token count n.
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

const uint BM = 128, BN = 32, BK = 16, TM = 8, TN = 4, THREADS = 128;
shared vec4 As[BK][BM / 4];  // [k][rows, 4 a vector]
shared vec4 Bs[BK][BN / 4];  // [k][tokens, 4 a vector]

void main() {
  // The host launches this with a workgroup of THREADS (spec constant 0).
  const uint tid = gl_LocalInvocationID.x;
  const uint m0 = gl_WorkGroupID.x * BM, n0 = gl_WorkGroupID.y * BN;
  const uint tr = tid % (BM / TM), tc = tid / (BM / TM);  // rows tr*8.., tokens tc*4..
  float acc[TM][TN];
  for (uint i = 0; i < TM; ++i)
    for (uint j = 0; j < TN; ++j) acc[i][j] = 0.0;

  for (uint k0 = 0; k0 < p.K; k0 += BK) {
    // Eight weights per load, two loads per thread; past K the padded rows hold zeros.
    for (uint e = tid; e < BM * BK / 8; e += THREADS) {
      const uint r = e / (BK / 8), kk = (e % (BK / 8)) * 8;
      const uint row = m0 + r, col = k0 + kk;
      float v[8];
      if (row < p.rows && col < p.K) w_load8(row, col, p.row_stride, v);
      else for (uint j = 0; j < 8; ++j) v[j] = 0.0;
      for (uint j = 0; j < 8; ++j) As[kk + j][r >> 2][r & 3u] = v[j];
    }
    // Consecutive threads read consecutive columns of a token.
    for (uint e = tid; e < BN * BK; e += THREADS) {
      const uint t = e / BK, k = e % BK;
      const uint tok = n0 + t, col = k0 + k;
      Bs[k][t >> 2][t & 3u] = tok < p.n && col < p.K ? act[p.x_off + tok * p.x_stride + col] : 0.0;
    }
    barrier();
    for (uint k = 0; k < BK; ++k) {
      const vec4 a0 = As[k][2 * tr], a1 = As[k][2 * tr + 1], b = Bs[k][tc];
      const float a[TM] = float[TM](a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w);
      for (uint i = 0; i < TM; ++i)
        for (uint j = 0; j < TN; ++j) acc[i][j] += a[i] * b[j];
    }
    barrier();
  }
  for (uint i = 0; i < TM; ++i) {
    const uint r = m0 + tr * TM + i;
    if (r >= p.rows) continue;
    for (uint j = 0; j < TN; ++j) {
      const uint t = n0 + tc * TN + j;
      if (t >= p.n) continue;
      float v = acc[i][j];
      if ((p.flags & 1u) != 0) v += bias[p.bias_off + p.row0 + r];
      if ((p.flags & 4u) != 0) v = softplus(v);
      const uint yi = p.y_off + t * p.y_stride + p.row0 + r;
      act[yi] = (p.flags & 2u) != 0 ? act[yi] + v : v;
    }
  }
}
