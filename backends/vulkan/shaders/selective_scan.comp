#version 450
// Mamba-1 selective scan over n tokens: one thread per channel d, its d_state
// states (specialization constant 1) in registers across the tokens, so the
// scan needs no barriers at all. Per token:
//   s = exp(dt*a) * s + dt * x * b;   y = (sum_n s*c + D*x) * silu(z)
// (the sum over n in order n = 0, 1, ..., as the CPU reference adds it).
//
// With DT_PROJ (and one of weights.glsl's W_*), the thread first computes its
// channel's dt = softplus(dt_proj[d] . x_dt + dt_bias[d]) from the x_proj
// output's first dt_rank columns: a decoded token's dt_proj without a
// dispatch of its own. The row's product is weights.glsl's, as the
// matrix-vector kernel computes it (int8 dot products with INT_DOT). With
// bc_norm_eps > 0 (FalconMamba), x_dt, B and C are read through a weightless
// RMSNorm each, which the host then does not dispatch either; the norm's
// scale multiplies x_dt's product afterwards.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#if defined(DT_PROJ)
#define WEIGHTS_BINDING 4
#define SCALES_BINDING 5
#include "weights.glsl"
layout(std430, binding = 6) readonly buffer DtBias { float dt_bias[]; };
#endif

layout(std430, binding = 0) buffer Act { float act[]; };
layout(std430, binding = 1) readonly buffer A { float a_mat[]; };  // -exp(A_log), [d_inner, d_state]
layout(std430, binding = 2) readonly buffer D { float d_vec[]; };
layout(std430, binding = 3) buffer State { float st[]; };

layout(push_constant) uniform Push {
  uint n, d_inner, d_state;
  uint x_off, x_stride, dt_off, dt_stride;  // DT_PROJ: dt_off / dt_stride locate x_dt
  uint b_off, c_off, bc_stride;
  uint z_off, z_stride, y_off, y_stride;
  uint s_off;
  uint dt_rank, w_row_stride;  // DT_PROJ only
  float bc_norm_eps;           // DT_PROJ only; 0: no norms
} p;

layout(constant_id = 1) const uint NS = 16;  // = d_state

// 1 / rms of v[off, off + len) with bc_norm_eps (the CPU's rms_norm, w null).
float rms_scale(uint off, uint len) {
  float ss = 0.0;
  for (uint i = 0; i < len; ++i) ss += act[off + i] * act[off + i];
  return 1.0 / sqrt(ss / float(len) + p.bc_norm_eps);
}

float channel_dt(uint d, uint t) {
#if defined(DT_PROJ)
  const uint xb = p.dt_off + t * p.dt_stride;
  const float scale = p.bc_norm_eps > 0.0 ? rms_scale(xb, p.dt_rank) : 1.0;
  float acc = 0.0;
  for (uint c = 0; c * CHUNK < p.dt_rank; ++c) {
    float xs[CHUNK];
    // Columns past dt_rank are B's in x_dt's row and zero in W.
    for (uint j = 0; j < CHUNK; ++j) xs[j] = c * CHUNK + j < p.dt_rank ? act[xb + c * CHUNK + j] : 0.0;
#if defined(INT_DOT)
    uint xq[8];
    float xd;
    quantize_chunk(xs, xq, xd);
    acc += w_chunk_dot_int(d, c, p.w_row_stride, xq, xd);
#else
    acc += w_chunk_dot(d, c, p.w_row_stride, xs);
#endif
  }
  return softplus(acc * scale + dt_bias[d]);
#else
  return act[p.dt_off + t * p.dt_stride + d];
#endif
}

void main() {
  const uint d = gl_GlobalInvocationID.x;
  if (d >= p.d_inner) return;
  float s[NS], a[NS];
  for (uint j = 0; j < NS; ++j) {
    s[j] = st[p.s_off + d * NS + j];
    a[j] = a_mat[d * NS + j];
  }
  const float dd = d_vec[d];
  for (uint t = 0; t < p.n; ++t) {
    const float x = act[p.x_off + t * p.x_stride + d];
    const float dt = channel_dt(d, t);
    const uint bb = p.b_off + t * p.bc_stride, cb = p.c_off + t * p.bc_stride;
    const bool norm = p.bc_norm_eps > 0.0;
    const float sb = norm ? rms_scale(bb, NS) : 1.0, sc = norm ? rms_scale(cb, NS) : 1.0;
    float acc = 0.0;
    for (uint j = 0; j < NS; ++j) {
      s[j] = exp(dt * a[j]) * s[j] + dt * x * (act[bb + j] * sb);
      acc += s[j] * (act[cb + j] * sc);
    }
    const float z = act[p.z_off + t * p.z_stride + d];
    act[p.y_off + t * p.y_stride + d] = (acc + dd * x) * silu(z);
  }
  for (uint j = 0; j < NS; ++j) st[p.s_off + d * NS + j] = s[j];
}
