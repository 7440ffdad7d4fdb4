#version 450
// Mamba-1 selective scan over n tokens. A workgroup holds WG / d_state
// channels, one thread per (channel d, state n), so each state element stays
// in a register across the tokens. Per token:
//   s = exp(dt*a) * s + dt * x * b;   y = (sum_n s*c + D*x) * silu(z)
// The sum over n is added in order n = 0, 1, ... by the channel's first thread
// (the CPU reference's order).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(std430, binding = 0) buffer Act { float act[]; };
layout(std430, binding = 1) readonly buffer A { float a_mat[]; };  // -exp(A_log), [d_inner, d_state]
layout(std430, binding = 2) readonly buffer D { float d_vec[]; };
layout(std430, binding = 3) buffer State { float st[]; };

layout(push_constant) uniform Push {
  uint n, d_inner, d_state;
  uint x_off, x_stride, dt_off, dt_stride;
  uint b_off, c_off, bc_stride;
  uint z_off, z_stride, y_off, y_stride;
  uint s_off;
} p;

shared float partial[gl_WorkGroupSize.x];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint per_wg = gl_WorkGroupSize.x / p.d_state;
  const uint lane = tid % p.d_state, local = tid / p.d_state;
  const uint d = gl_WorkGroupID.x * per_wg + local;
  const bool live = local < per_wg && d < p.d_inner;
  const uint si = p.s_off + d * p.d_state + lane;
  float s = live ? st[si] : 0.0;
  const float a = live ? a_mat[d * p.d_state + lane] : 0.0;
  for (uint t = 0; t < p.n; ++t) {
    float x = 0.0;
    if (live) {
      x = act[p.x_off + t * p.x_stride + d];
      const float dt = act[p.dt_off + t * p.dt_stride + d];
      const float b = act[p.b_off + t * p.bc_stride + lane];
      const float c = act[p.c_off + t * p.bc_stride + lane];
      s = exp(dt * a) * s + dt * x * b;
      partial[tid] = s * c;
    }
    barrier();
    if (live && lane == 0) {
      float acc = 0.0;
      for (uint j = 0; j < p.d_state; ++j) acc += partial[tid + j];
      const float z = act[p.z_off + t * p.z_stride + d];
      act[p.y_off + t * p.y_stride + d] = (acc + d_vec[d] * x) * silu(z);
    }
    barrier();
  }
  if (live) st[si] = s;
}
