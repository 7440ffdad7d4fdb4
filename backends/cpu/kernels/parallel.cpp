// The kernels that take a pthreadpool (kernels.h): ssd_chunked, and threaded
// forms of the others that split the work by token row, channel or head and
// run the dispatched single-threaded kernel on each part. Parts never cut a
// reduction, and channel parts start at multiples of 8 (where the SIMD forms'
// blocks start), so the bits do not depend on the number of threads.
//
// Small calls stay on the calling thread: waking the pool costs a few
// microseconds, more than a decode step's conv or norm takes.
#include <algorithm>

#include "backends/cpu/kernels/kernels.h"
#include "backends/cpu/kernels/kernels_avx2.h"
#include "backends/cpu/kernels/kernels_neon.h"
#include "backends/cpu/kernels/parallel_for.h"
#include "backends/cpu/kernels/ssd_chunked_layout.h"

namespace eidetic::cpu {
namespace {

// Below this many multiply-adds (roughly) a call runs on one thread.
constexpr size_t kMinParallelWork = 16384;

bool threaded(pthreadpool_t pool, size_t work) {
  return pool && pthreadpool_get_threads_count(pool) > 1 && work >= kMinParallelWork;
}

using ChunkedFn = void (*)(const SsdScanArgs&, size_t, float*, pthreadpool_t);

// The best SIMD form of ssd_chunked for this CPU, or null.
ChunkedFn chunked_form() {
  static const ChunkedFn f = []() -> ChunkedFn {
#if defined(EIDETIC_CPU_KERNELS_AVX2)
    if (cpu_has_avx512f()) return ssd_chunked_avx512;
    if (cpu_has_avx2_fma()) return ssd_chunked_avx2;
#endif
#if defined(EIDETIC_CPU_KERNELS_NEON)
    return ssd_chunked_neon;
#endif
    return nullptr;
  }();
  return f;
}

}  // namespace

#if defined(EIDETIC_CPU_KERNELS_AVX2)
bool cpu_has_avx512f() { return cpu_has_avx2_fma() && __builtin_cpu_supports("avx512f"); }
#endif

size_t ssd_chunked_scratch_floats(size_t n_tokens, size_t n_heads, size_t head_dim, size_t n_groups, size_t d_state,
                                  size_t chunk) {
  const size_t L = ssd_chunk_length(chunk, n_tokens);
  // The AVX2 form's layout; the reference form needs less (L*(L+1) + L).
  return ssd_chunked_layout(n_tokens, n_heads, head_dim, n_groups, d_state, L).total_floats();
}

void ssd_chunked(const SsdScanArgs& args, size_t chunk, float* scratch, pthreadpool_t pool) {
  if (const ChunkedFn f = chunked_form()) {
    f(args, chunk, scratch, pool);
    return;
  }
  // No SIMD form of the chunked scan for this CPU: the portable one's dot
  // products do not vectorise (a compiler keeps the order of a float sum), so
  // the recurrence, with its SIMD forms, runs instead. Same result up to rounding.
  ssd_scan(args, pool);
}

void rms_norm(const float* x, size_t x_stride, const float* w, float eps, size_t n_tokens, size_t dim, float* y,
              size_t y_stride, pthreadpool_t pool) {
  if (!threaded(pool, n_tokens * dim) || n_tokens < 2) {
    rms_norm(x, x_stride, w, eps, n_tokens, dim, y, y_stride);
    return;
  }
  parallel_for(pool, n_tokens, tile_per_thread(pool, n_tokens, 1), [&](size_t t0, size_t t1) {
    rms_norm(x + t0 * x_stride, x_stride, w, eps, t1 - t0, dim, y + t0 * y_stride, y_stride);
  });
}

void gated_rms_norm(const float* x, size_t x_stride, const float* z, size_t z_stride, const float* w, float eps,
                    size_t n_tokens, size_t dim, size_t group_size, float* y, size_t y_stride, pthreadpool_t pool) {
  if (!threaded(pool, n_tokens * dim) || n_tokens < 2) {
    gated_rms_norm(x, x_stride, z, z_stride, w, eps, n_tokens, dim, group_size, y, y_stride);
    return;
  }
  parallel_for(pool, n_tokens, tile_per_thread(pool, n_tokens, 1), [&](size_t t0, size_t t1) {
    gated_rms_norm(x + t0 * x_stride, x_stride, z + t0 * z_stride, z_stride, w, eps, t1 - t0, dim, group_size,
                   y + t0 * y_stride, y_stride);
  });
}

void causal_conv1d_silu(const float* x, size_t x_stride, size_t n_tokens, size_t channels, size_t k, const float* w,
                        const float* bias, float* tail, float* y, size_t y_stride, pthreadpool_t pool) {
  // Each part runs the dispatched kernel on its own channels, with its slice of
  // the tail ([k-1, channels], rows `channels` apart) copied into a packed
  // buffer and back. Parts start at multiples of 8, as the SIMD forms' blocks do.
  constexpr size_t kMaxHist = 7, kPart = 256;
  if (!threaded(pool, n_tokens * channels * k) || k < 1 || k - 1 > kMaxHist) {
    causal_conv1d_silu(x, x_stride, n_tokens, channels, k, w, bias, tail, y, y_stride);
    return;
  }
  const size_t hist = k - 1;
  parallel_for(pool, channels, std::min(kPart, tile_per_thread(pool, channels, 8)), [&](size_t c0, size_t c1) {
    float part[kMaxHist * kPart];
    const size_t m = c1 - c0;
    for (size_t r = 0; r < hist; ++r) std::copy(tail + r * channels + c0, tail + r * channels + c1, part + r * m);
    causal_conv1d_silu(x + c0, x_stride, n_tokens, m, k, w + c0 * k, bias ? bias + c0 : nullptr, hist ? part : nullptr,
                       y + c0, y_stride);
    for (size_t r = 0; r < hist; ++r) std::copy(part + r * m, part + (r + 1) * m, tail + r * channels + c0);
  });
}

void selective_scan(const SelectiveScanArgs& args, pthreadpool_t pool) {
  if (!threaded(pool, args.n_tokens * args.d_inner * args.d_state)) {
    selective_scan(args);
    return;
  }
  parallel_for(pool, args.d_inner, tile_per_thread(pool, args.d_inner, 8), [&](size_t d0, size_t d1) {
    SelectiveScanArgs a = args;
    a.d_inner = d1 - d0;
    a.x += d0, a.dt += d0, a.z += d0, a.y += d0, a.d += d0;
    a.a += d0 * args.d_state, a.state += d0 * args.d_state;
    selective_scan(a);
  });
}

void ssd_scan(const SsdScanArgs& args, pthreadpool_t pool) {
  if (!threaded(pool, args.n_tokens * args.n_heads * args.head_dim * args.d_state)) {
    ssd_scan(args);
    return;
  }
  const size_t heads_per_group = args.n_heads / args.n_groups;
  parallel_for(pool, args.n_heads, 1, [&](size_t h0, size_t h1) {
    for (size_t h = h0; h < h1; ++h) {
      SsdScanArgs a = args;
      const size_t g = h / heads_per_group;
      a.n_heads = 1, a.n_groups = 1;
      a.x += h * args.head_dim, a.dt += h, a.a += h, a.d += h;
      a.b += g * args.d_state, a.c += g * args.d_state;
      a.state += h * args.head_dim * args.d_state, a.y += h * args.head_dim;
      ssd_scan(a);
    }
  });
}

}  // namespace eidetic::cpu
