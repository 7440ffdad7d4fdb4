// Dense f32 linear layer on XNNPACK: y[n, out] = x[n, in] * W^T + b.
//
// One object per weight matrix, created once. XNNPACK (Debian's 2022 snapshot)
// has no flag to use the caller's weights in place: creation packs W (and b)
// into XNNPACK's own blocked layout, so afterwards the source buffers -- e.g.
// pages of the mmapped model file -- are no longer read and may be released.
//
// Preconditions of run(), from XNNPACK:
//  - x may be read up to XNN_EXTRA_BYTES (16) bytes past its last element; the
//    caller's buffer must extend that far (values there are ignored).
//  - one object runs one product at a time (setup writes into the operator);
//    objects are independent, and a pthreadpool may be shared.
#pragma once

#include <pthreadpool.h>

#include <cstddef>

#include "runtime/src/core/status.h"

struct xnn_operator;

namespace eidetic::cpu {

class LinearXnnpack {
 public:
  // w: [out, in] row-major; bias: [out] or null. Rows of x are x_stride floats
  // apart and rows of y y_stride apart (0 = packed: in, out).
  static Result<LinearXnnpack> create(const float* w, const float* bias, size_t in, size_t out, size_t x_stride = 0,
                                      size_t y_stride = 0);

  // y = x W^T + b for n rows; pool may be null (calling thread only).
  Status run(const float* x, size_t n, float* y, pthreadpool_t pool = nullptr);

  size_t in() const { return in_; }
  size_t out() const { return out_; }

  LinearXnnpack(LinearXnnpack&& o) noexcept;
  LinearXnnpack& operator=(LinearXnnpack&& o) noexcept;
  LinearXnnpack(const LinearXnnpack&) = delete;
  LinearXnnpack& operator=(const LinearXnnpack&) = delete;
  ~LinearXnnpack();

 private:
  LinearXnnpack(xnn_operator* op, size_t in, size_t out) : op_(op), in_(in), out_(out) {}
  xnn_operator* op_ = nullptr;
  size_t in_ = 0, out_ = 0;
};

// xnn_initialize, once per process (later calls return the first result).
Status xnnpack_init();

}  // namespace eidetic::cpu
