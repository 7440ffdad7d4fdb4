// Shared by the compute shaders: the workgroup size (specialization constant
// 0, chosen by the host from the device's limits), a workgroup-wide sum, and
// the scalar activations. Compiled with -DUSE_SUBGROUP where the device has
// subgroup arithmetic in compute shaders (the sum then reduces inside each
// subgroup first), without it elsewhere (a shared-memory tree).
#ifdef USE_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

layout(local_size_x_id = 0, local_size_y = 1, local_size_z = 1) in;

#ifdef NEED_WG_SUM
#ifdef USE_SUBGROUP
// One partial per subgroup: subgroups have at least 4 lanes on every device we
// know, and workgroups at most 1024 invocations.
shared float wg_sum_partial[256];
float wg_sum(float v) {
  v = subgroupAdd(v);
  // A workgroup of one subgroup (the matrix-vector kernel on most GPUs) is done.
  if (gl_NumSubgroups == 1) return v;
  if (subgroupElect()) wg_sum_partial[gl_SubgroupID] = v;
  barrier();
  float s = 0.0;
  for (uint i = 0; i < gl_NumSubgroups; ++i) s += wg_sum_partial[i];
  barrier();  // the partials may be written again by the next call
  return s;
}
#else
shared float wg_sum_tree[gl_WorkGroupSize.x];
float wg_sum(float v) {
  const uint tid = gl_LocalInvocationID.x;
  wg_sum_tree[tid] = v;
  barrier();
  // Halve while even; an odd count is finished by thread 0 below.
  uint m = gl_WorkGroupSize.x;
  while (m > 1 && (m & 1u) == 0) {
    m >>= 1;
    if (tid < m) wg_sum_tree[tid] += wg_sum_tree[tid + m];
    barrier();
  }
  float s = 0.0;
  for (uint i = 0; i < m; ++i) s += wg_sum_tree[i];
  barrier();
  return s;
}
#endif
#endif

float silu(float v) { return v / (1.0 + exp(-v)); }

// log(1 + e^v) as PyTorch's softplus (threshold 20). log(1 + u) is corrected
// for the rounding of 1 + u (Goldberg's log1p), so small results keep their
// relative precision.
float softplus(float v) {
  if (v > 20.0) return v;
  const float u = exp(v);
  const float w = 1.0 + u;
  if (w == 1.0) return u;
  return log(w) * (u / (w - 1.0));
}
