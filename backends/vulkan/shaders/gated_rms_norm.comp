#version 450
// Mamba-2's gated RMSNorm: g = x * silu(z), normalised over each group of
// group_size channels, times w. One workgroup per (group, token).
#extension GL_GOOGLE_include_directive : require
#define NEED_WG_SUM
#include "common.glsl"

layout(std430, binding = 0) buffer Act { float act[]; };
layout(std430, binding = 1) readonly buffer Weight { float w[]; };

layout(push_constant) uniform Push {
  uint group_size;
  uint x_off, x_stride, z_off, z_stride, y_off, y_stride;
  float eps;
} p;

void main() {
  const uint g0 = gl_WorkGroupID.x * p.group_size, t = gl_WorkGroupID.y;
  const uint xb = p.x_off + t * p.x_stride + g0, zb = p.z_off + t * p.z_stride + g0;
  const uint yb = p.y_off + t * p.y_stride + g0;
  float ss = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < p.group_size; i += gl_WorkGroupSize.x) {
    const float g = act[xb + i] * silu(act[zb + i]);
    ss += g * g;
  }
  const float scale = 1.0 / sqrt(wg_sum(ss) / float(p.group_size) + p.eps);
  for (uint i = gl_LocalInvocationID.x; i < p.group_size; i += gl_WorkGroupSize.x) {
    const float g = act[xb + i] * silu(act[zb + i]);
    act[yb + i] = g * scale * w[g0 + i];
  }
}
