#version 450
// One pass of the top-k selection over a row of logits (backends/top_k.h's
// order: logit descending, then id ascending; NaN below -inf). Each workgroup
// takes N consecutive entries, sorts them (bitonic, in shared memory) and
// writes its best KPAD as (order key, id) pairs; the host chains passes, each
// cutting the entries by N / KPAD, until KPAD remain. The first pass reads
// logits (the entry's index is its id), the later ones the pairs of the pass
// before. KPAD = 1 (greedy) is a plain reduction.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Act { float act[]; };
layout(std430, binding = 1) buffer Cand { uvec2 cand[]; };

layout(push_constant) uniform Push {
  uint n_in;        // entries in
  uint in_off;      // first entry: a float offset in act (first pass) or a pair offset in cand
  uint out_off;     // pair offset in cand of workgroup 0's output
  uint from_logits; // 1: the first pass
} p;

layout(constant_id = 1) const uint KPAD = 1;  // a power of two, <= N / 2
const uint N = 1024;                          // entries per workgroup (the host launches 256 threads)

shared uint skey[N];
shared uint sid[N];

// backends/top_k.h's order_key, in integer operations only (a driver's
// fast-math cannot drop the NaN and -0 cases).
uint order_key(float v) {
  uint b = floatBitsToUint(v);
  const uint mag = b & 0x7fffffffu;
  if (mag > 0x7f800000u) return 0u;  // NaN
  if (mag == 0u) b = 0u;             // -0 -> +0
  return (b & 0x80000000u) != 0u ? ~b : (b | 0x80000000u);
}

bool before(uvec2 a, uvec2 b) { return a.x > b.x || (a.x == b.x && a.y < b.y); }

// Entry e of this workgroup; past the end a sentinel that ranks last.
uvec2 entry(uint e) {
  const uint i = gl_WorkGroupID.x * N + e;
  if (i >= p.n_in) return uvec2(0u, 0xffffffffu);
  return p.from_logits != 0u ? uvec2(order_key(act[p.in_off + i]), i) : cand[p.in_off + i];
}

void main() {
  const uint tid = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x;
  if (KPAD == 1) {
    uvec2 best = uvec2(0u, 0xffffffffu);
    for (uint e = tid; e < N; e += wg) {
      const uvec2 v = entry(e);
      if (before(v, best)) best = v;
    }
    skey[tid] = best.x;
    sid[tid] = best.y;
    barrier();
    for (uint m = wg >> 1; m > 0; m >>= 1) {
      if (tid < m) {
        const uvec2 o = uvec2(skey[tid + m], sid[tid + m]);
        if (before(o, uvec2(skey[tid], sid[tid]))) {
          skey[tid] = o.x;
          sid[tid] = o.y;
        }
      }
      barrier();
    }
    if (tid == 0) cand[p.out_off + gl_WorkGroupID.x] = uvec2(skey[0], sid[0]);
    return;
  }
  for (uint e = tid; e < N; e += wg) {
    const uvec2 v = entry(e);
    skey[e] = v.x;
    sid[e] = v.y;
  }
  barrier();
  // Bitonic sort, best first: at each step the pair (i, i + j) is ordered
  // best-first where bit k of i is clear, worst-first where it is set.
  for (uint k = 2; k <= N; k <<= 1) {
    for (uint j = k >> 1; j > 0; j >>= 1) {
      for (uint q = tid; q < N / 2; q += wg) {
        const uint i = 2 * q - (q & (j - 1)), l = i + j;
        const uvec2 a = uvec2(skey[i], sid[i]), b = uvec2(skey[l], sid[l]);
        if ((i & k) == 0 ? before(b, a) : before(a, b)) {
          skey[i] = b.x, sid[i] = b.y;
          skey[l] = a.x, sid[l] = a.y;
        }
      }
      barrier();
    }
  }
  for (uint e = tid; e < KPAD; e += wg) cand[p.out_off + gl_WorkGroupID.x * KPAD + e] = uvec2(skey[e], sid[e]);
}
