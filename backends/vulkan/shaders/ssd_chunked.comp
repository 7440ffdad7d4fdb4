#version 450
// Mamba-2 scan of a prompt in chunks of L tokens (the "SSD" form), the GPU
// version of backends/cpu/kernels/ssd_chunked_ref.cpp: one workgroup per
// (QT head elements, head h), walking the chunks in order with its slice of
// the state [QT, d_state] in shared memory. Within a chunk (local i, j), with
// dec_k = exp(dt_k*a), P(i, j) = dec_{j+1} * ... * dec_i and P0(i) = dec_0 * ... * dec_i:
//   y_i = P0(i) * (S c_i) + sum_{j<=i} (c_i . b_j) * P(i, j) * dt_j * x_j + D x_i
//   S'  = P0(L-1) * S + sum_j P(L-1, j) * dt_j * x_j ⊗ b_j
// The decay products are multiplied out, as the CPU form does (exponentials
// of differences of sums would lose precision in f32). dt is taken raw, as
// ssd_scan.comp takes it: softplus(dt + dt_bias) clamped to [dt_min, dt_max].
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(std430, binding = 0) buffer Act { float act[]; };
layout(std430, binding = 1) readonly buffer DtBias { float dt_bias[]; };
layout(std430, binding = 2) readonly buffer A { float a_vec[]; };  // -exp(A_log), [n_heads]
layout(std430, binding = 3) readonly buffer D { float d_vec[]; };
layout(std430, binding = 4) buffer State { float st[]; };

layout(push_constant) uniform Push {
  uint n, head_dim, heads_per_group, d_state;
  uint x_off, x_stride;   // x of head h, element i at x_off + t*x_stride + h*head_dim + i
  uint b_off, c_off;      // B, C of group g at b_off + t*x_stride + g*d_state (same rows as x)
  uint dt_off, dt_stride; // raw dt of head h at dt_off + t*dt_stride + h
  uint y_off, y_stride;
  uint s_off;             // state [n_heads, head_dim, d_state]
  float dt_min, dt_max;
} p;

layout(constant_id = 1) const uint NS = 128;  // = d_state
const uint L = 32;   // tokens per chunk
const uint QT = 16;  // head elements per workgroup

shared float s_tile[QT * NS];  // the state's rows q0 .. q0+QT-1
shared float pm[L * L];        // P(i, j), then the masked coefficients M(i, j)
shared float xs[L * QT];       // x of the chunk, this workgroup's elements
shared float dtv[L], decv[L], p0[L], plast[L];  // plast: P(lc-1, j) * dt_j

void main() {
  const uint tid = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x;
  const uint h = gl_WorkGroupID.y, q0 = gl_WorkGroupID.x * QT, g = h / p.heads_per_group;
  const uint P = p.head_dim;
  const uint sb = p.s_off + h * P * NS;
  for (uint e = tid; e < QT * NS; e += wg) {
    const uint q = e / NS;
    s_tile[e] = q0 + q < P ? st[sb + (q0 + q) * NS + e % NS] : 0.0;
  }
  const float a = a_vec[h], dd = d_vec[h], bias = dt_bias[h];
  for (uint t0 = 0; t0 < p.n; t0 += L) {
    const uint lc = min(L, p.n - t0);
    if (tid < lc) {
      const float dt = clamp(softplus(act[p.dt_off + (t0 + tid) * p.dt_stride + h] + bias), p.dt_min, p.dt_max);
      dtv[tid] = dt;
      decv[tid] = exp(dt * a);
    }
    for (uint e = tid; e < L * QT; e += wg) {
      const uint i = e / QT, q = e % QT;
      xs[e] = i < lc && q0 + q < P ? act[p.x_off + (t0 + i) * p.x_stride + h * P + q0 + q] : 0.0;
    }
    barrier();
    // Row i of the decay products, from the diagonal leftwards.
    if (tid < lc) {
      const uint i = tid;
      float v = 1.0;
      pm[i * L + i] = 1.0;
      for (uint j = i; j > 0; --j) {
        v *= decv[j];
        pm[i * L + j - 1] = v;
      }
      p0[i] = v * decv[0];
      if (i == lc - 1)
        for (uint j = 0; j < lc; ++j) plast[j] = pm[i * L + j] * dtv[j];
    }
    barrier();
    // M(i, j) = (c_i . b_j) * P(i, j) * dt_j below the diagonal, 0 above.
    for (uint e = tid; e < L * L; e += wg) {
      const uint i = e / L, j = e % L;
      float m = 0.0;
      if (j <= i && i < lc) {
        const uint cb = p.c_off + (t0 + i) * p.x_stride + g * NS, bb = p.b_off + (t0 + j) * p.x_stride + g * NS;
        float dot = 0.0;
        for (uint nn = 0; nn < NS; ++nn) dot += act[cb + nn] * act[bb + nn];
        m = dot * pm[e] * dtv[j];
      }
      pm[e] = m;
    }
    barrier();
    for (uint e = tid; e < L * QT; e += wg) {
      const uint i = e / QT, q = e % QT;
      if (i >= lc || q0 + q >= P) continue;
      const uint cb = p.c_off + (t0 + i) * p.x_stride + g * NS;
      float sc = 0.0;
      for (uint nn = 0; nn < NS; ++nn) sc += s_tile[q * NS + nn] * act[cb + nn];
      float y = p0[i] * sc + dd * xs[e];
      for (uint j = 0; j <= i; ++j) y += pm[i * L + j] * xs[j * QT + q];
      act[p.y_off + (t0 + i) * p.y_stride + h * P + q0 + q] = y;
    }
    barrier();  // the outputs have read the state at the chunk's start
    const float pl = p0[lc - 1];
    for (uint e = tid; e < QT * NS; e += wg) {
      const uint q = e / NS, nn = e % NS;
      float s = s_tile[e] * pl;
      for (uint j = 0; j < lc; ++j) s += plast[j] * xs[j * QT + q] * act[p.b_off + (t0 + j) * p.x_stride + g * NS + nn];
      s_tile[e] = s;
    }
    barrier();  // before the next chunk overwrites the tiles
  }
  for (uint e = tid; e < QT * NS; e += wg) {
    const uint q = e / NS;
    if (q0 + q < P) st[sb + (q0 + q) * NS + e % NS] = s_tile[e];
  }
}
