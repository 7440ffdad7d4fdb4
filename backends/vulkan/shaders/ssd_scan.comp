#version 450
// Mamba-2 recurrence over n tokens (decode, and prompts token by token): one
// workgroup per (head element i, head h), its threads over the state index n
// (up to 8 states each, kept in registers across the tokens; a workgroup
// of one subgroup sums without barriers). dt is taken raw
// from in_proj's output and made softplus(dt + dt_bias) clamped to
// [dt_min, dt_max] here. Per token:
//   S = exp(dt*A) * S + dt * x * B;   y = S·C + D*x
#extension GL_GOOGLE_include_directive : require
#define NEED_WG_SUM
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

const uint MAXJ = 8;  // states per thread at most

void main() {
  const uint i = gl_WorkGroupID.x, h = gl_WorkGroupID.y, tid = gl_LocalInvocationID.x;
  const uint g = h / p.heads_per_group;
  const uint sb = p.s_off + (h * p.head_dim + i) * p.d_state;
  float s[MAXJ];
  for (uint j = 0; j < MAXJ; ++j) {
    const uint nn = tid + j * gl_WorkGroupSize.x;
    s[j] = nn < p.d_state ? st[sb + nn] : 0.0;
  }
  const float a = a_vec[h], dd = d_vec[h], bias = dt_bias[h];
  for (uint t = 0; t < p.n; ++t) {
    const float dt = clamp(softplus(act[p.dt_off + t * p.dt_stride + h] + bias), p.dt_min, p.dt_max);
    const float decay = exp(dt * a);
    const float x = act[p.x_off + t * p.x_stride + h * p.head_dim + i];
    const uint bb = p.b_off + t * p.x_stride + g * p.d_state, cb = p.c_off + t * p.x_stride + g * p.d_state;
    float part = 0.0;
    for (uint j = 0; j < MAXJ; ++j) {
      const uint nn = tid + j * gl_WorkGroupSize.x;
      if (nn < p.d_state) {
        s[j] = decay * s[j] + dt * x * act[bb + nn];
        part += s[j] * act[cb + nn];
      }
    }
    const float acc = wg_sum(part);
    if (tid == 0) act[p.y_off + t * p.y_stride + h * p.head_dim + i] = acc + dd * x;
  }
  for (uint j = 0; j < MAXJ; ++j) {
    const uint nn = tid + j * gl_WorkGroupSize.x;
    if (nn < p.d_state) st[sb + nn] = s[j];
  }
}
