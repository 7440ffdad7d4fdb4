#version 450
// y[t] = x[t] / sqrt(mean(x[t]^2) + eps) * w, one workgroup per token (y may
// be x: each thread reads only the elements it writes). has_w = 0: no weight
// (FalconMamba's norms of dt, B and C).
#extension GL_GOOGLE_include_directive : require
#define NEED_WG_SUM
#include "common.glsl"

layout(std430, binding = 0) buffer Act { float act[]; };
layout(std430, binding = 1) readonly buffer Weight { float w[]; };

layout(push_constant) uniform Push {
  uint dim, x_off, x_stride, y_off, y_stride;
  float eps;
  uint has_w;
} p;

void main() {
  const uint t = gl_WorkGroupID.x;
  const uint xb = p.x_off + t * p.x_stride, yb = p.y_off + t * p.y_stride;
  float ss = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < p.dim; i += gl_WorkGroupSize.x) ss += act[xb + i] * act[xb + i];
  const float scale = 1.0 / sqrt(wg_sum(ss) / float(p.dim) + p.eps);
  for (uint i = gl_LocalInvocationID.x; i < p.dim; i += gl_WorkGroupSize.x) {
    const float v = act[xb + i] * scale;
    act[yb + i] = p.has_w != 0 ? v * w[i] : v;
  }
}
