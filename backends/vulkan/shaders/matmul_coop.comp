#version 450
// The prompt's matrix product on tensor cores, through cooperative matrices
// (VK_NV_cooperative_matrix; used where the device has it, with 16x16x16
// f16 products into f32 and subgroups of 32). Same bindings, push constants
// and epilogue as matmul.comp. A workgroup of 4 subgroups computes 64 weight
// rows x 64 tokens; each subgroup a 32 x 32 quarter as 2 x 2 accumulators.
// Weights (any type, dequantized as loaded) and activations pass through
// shared memory as f16, 32 columns of K at a time; accumulation is in f32.
#extension GL_GOOGLE_include_directive : require
#extension GL_NV_cooperative_matrix : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
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

const uint BM = 64, BN = 64, BK = 32, WG = 128;
shared float16_t Ws[BM * BK];  // [row][k]
shared float16_t Xs[BN * BK];  // [token][k]
shared float Cs[BN * BM];      // [token][row]

void main() {
  const uint tid = gl_LocalInvocationID.x, sg = gl_SubgroupID;
  const uint m0 = gl_WorkGroupID.x * BM, n0 = gl_WorkGroupID.y * BN;
  const uint tq = (sg / 2) * 32, rq = (sg % 2) * 32;  // this subgroup's quarter
  fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> acc[2][2];
  for (uint i = 0; i < 2; ++i)
    for (uint j = 0; j < 2; ++j) acc[i][j] = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);

  for (uint k0 = 0; k0 < p.K; k0 += BK) {
    // Eight weights per load (16 bytes of f16); past K the padded rows hold zeros.
    for (uint e = tid; e < BM * BK / 8; e += WG) {
      const uint r = e / (BK / 8), kk = (e % (BK / 8)) * 8;
      const uint row = m0 + r, col = k0 + kk;
      float v[8];
      if (row < p.rows && col < p.K) w_load8(row, col, p.row_stride, v);
      else for (uint j = 0; j < 8; ++j) v[j] = 0.0;
      for (uint j = 0; j < 8; ++j) Ws[r * BK + kk + j] = float16_t(v[j]);
    }
    for (uint e = tid; e < BN * BK; e += WG) {
      const uint tok = n0 + e / BK, col = k0 + e % BK;
      Xs[e] = float16_t(tok < p.n && col < p.K ? act[p.x_off + tok * p.x_stride + col] : 0.0);
    }
    barrier();
    for (uint kk = 0; kk < BK; kk += 16) {
      fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> a[2], b[2];
      // A = X [token][k], row-major; B[k][row] = W[row][k]: W's tile read column-major.
      for (uint i = 0; i < 2; ++i) coopMatLoadNV(a[i], Xs, (tq + i * 16) * BK + kk, BK, false);
      for (uint j = 0; j < 2; ++j) coopMatLoadNV(b[j], Ws, (rq + j * 16) * BK + kk, BK, true);
      for (uint i = 0; i < 2; ++i)
        for (uint j = 0; j < 2; ++j) acc[i][j] = coopMatMulAddNV(a[i], b[j], acc[i][j]);
    }
    barrier();
  }
  for (uint i = 0; i < 2; ++i)
    for (uint j = 0; j < 2; ++j) coopMatStoreNV(acc[i][j], Cs, (tq + i * 16) * BM + rq + j * 16, BM, false);
  barrier();
  for (uint e = tid; e < BN * BM; e += WG) {
    const uint t = n0 + e / BM, r = m0 + e % BM;
    if (t >= p.n || r >= p.rows) continue;
    float v = Cs[e];
    if ((p.flags & 1u) != 0) v += bias[p.bias_off + p.row0 + r];
    if ((p.flags & 4u) != 0) v = softplus(v);
    const uint yi = p.y_off + t * p.y_stride + p.row0 + r;
    act[yi] = (p.flags & 2u) != 0 ? act[yi] + v : v;
  }
}
