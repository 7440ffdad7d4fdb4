#version 450
// h[t, :] = E[tokens[t], :] for the tokens whose id falls in this slice of
// the embedding [row0, row0 + rows) (a table larger than one storage binding
// is split by rows; each slice's dispatch fills the tokens it holds).
#extension GL_GOOGLE_include_directive : require
#define SCALES_BINDING 3
#include "common.glsl"
#include "weights.glsl"

layout(std430, binding = 1) readonly buffer Tokens { int tokens[]; };
layout(std430, binding = 2) buffer Act { float act[]; };

layout(push_constant) uniform Push {
  uint K, row_stride, rows, row0;
  uint out_off, out_stride;
  uint tok_off;
} p;

void main() {
  const uint k = gl_GlobalInvocationID.x, t = gl_WorkGroupID.y;
  if (k >= p.K) return;
  const uint id = uint(tokens[p.tok_off + t]);
  if (id < p.row0 || id - p.row0 >= p.rows) return;
  act[p.out_off + t * p.out_stride + k] = w_at(id - p.row0, k, p.row_stride);
}
