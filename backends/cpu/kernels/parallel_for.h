// parallel_for over a pthreadpool: f(begin, end) on tiles of [0, range). For
// work that is independent per item, and tiles that start where the kernel's
// own blocks start (multiples of 8 channels for the SIMD forms), the result
// does not depend on the tile size or on which thread runs a tile: the same
// bits for any pool. A null pool, or one tile, runs on this thread.
#pragma once

#include <pthreadpool.h>

#include <cstddef>
#include <type_traits>

namespace eidetic::cpu {

template <class F>
void parallel_for(pthreadpool_t pool, size_t range, size_t tile, F&& f) {
  if (range == 0) return;
  if (!pool || tile >= range || pthreadpool_get_threads_count(pool) <= 1) {
    f(size_t(0), range);
    return;
  }
  using Fn = std::remove_reference_t<F>;
  pthreadpool_parallelize_1d_tile_1d(
      pool, [](void* c, size_t start, size_t n) { (*static_cast<Fn*>(c))(start, start + n); },
      const_cast<void*>(static_cast<const void*>(&f)), range, tile, 0);
}

// A tile of about range / threads items, rounded up to a multiple of `align`,
// for work that is split once per thread.
inline size_t tile_per_thread(pthreadpool_t pool, size_t range, size_t align) {
  const size_t threads = pool ? pthreadpool_get_threads_count(pool) : 1;
  size_t t = (range + threads - 1) / (threads ? threads : 1);
  t = (t + align - 1) / align * align;
  return t ? t : align;
}

}  // namespace eidetic::cpu
