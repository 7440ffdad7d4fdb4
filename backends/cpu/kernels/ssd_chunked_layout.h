// Scratch layout of ssd_chunked (shared by its forms and by the size query).
// Plain arithmetic only: included from files built with -mavx2 -mfma (see
// exp_avx2.h on why those must not instantiate C++ library inlines).
#pragma once

#include <stddef.h>

namespace eidetic::cpu {

struct SsdChunkedLayout {
  size_t L;         // chunk length (tokens)
  size_t Lp;        // L rounded up to a multiple of 8
  size_t Pp;        // head_dim rounded up to a multiple of 8
  size_t n_chunks;  // chunks in the call
  // Per (group, chunk): Bᵀ [d_state][Lp], then G = C·Bᵀ [L][Lp].
  size_t group_floats;
  // Per head: the state transposed [d_state][Pp], the decay products
  // [L][L+1], the masked coefficients M [L][Lp], the weighted x [L][Pp].
  size_t head_floats;
  size_t n_groups, n_heads;

  size_t total_floats() const { return n_groups * n_chunks * group_floats + n_heads * head_floats; }
  float* group_block(float* scratch, size_t g, size_t c) const { return scratch + (g * n_chunks + c) * group_floats; }
  float* head_block(float* scratch, size_t h) const {
    return scratch + n_groups * n_chunks * group_floats + h * head_floats;
  }
};

// L = the chunk length actually used (kernels.h: ssd_chunk_length).
inline SsdChunkedLayout ssd_chunked_layout(size_t n_tokens, size_t n_heads, size_t head_dim, size_t n_groups,
                                           size_t d_state, size_t L) {
  SsdChunkedLayout s;
  s.L = L;
  s.Lp = (L + 7) & ~size_t(7);
  s.Pp = (head_dim + 7) & ~size_t(7);
  s.n_chunks = L ? (n_tokens + L - 1) / L : 0;
  s.group_floats = d_state * s.Lp + L * s.Lp;
  s.head_floats = d_state * s.Pp + L * (L + 1) + L * s.Lp + L * s.Pp;
  s.n_groups = n_groups;
  s.n_heads = n_heads;
  return s;
}

}  // namespace eidetic::cpu
