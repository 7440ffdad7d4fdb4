// XNNPACK fully-connected operator wrapped as LinearXnnpack (see the header).
#include "backends/cpu/linear_xnnpack.h"

#include <xnnpack.h>

#include <limits>
#include <string>

namespace eidetic::cpu {
namespace {

Status xnn_error(const char* what, xnn_status s) {
  return {Code::kBackendError,
          std::string("XNNPACK ") + what + " failed (xnn_status " + std::to_string(static_cast<int>(s)) + ")"};
}

}  // namespace

Status xnnpack_init() {
  static const xnn_status s = xnn_initialize(/*allocator=*/nullptr);
  if (s != xnn_status_success) return xnn_error("xnn_initialize", s);
  return Status::ok();
}

Result<LinearXnnpack> LinearXnnpack::create(const float* w, const float* bias, size_t in, size_t out, size_t x_stride,
                                            size_t y_stride) {
  if (!w || in == 0 || out == 0) return invalid_argument("linear: null weights or empty shape");
  if (x_stride == 0) x_stride = in;
  if (y_stride == 0) y_stride = out;
  if (x_stride < in || y_stride < out) return invalid_argument("linear: stride smaller than width");
  EID_TRY(xnnpack_init());
  xnn_operator_t op = nullptr;
  const float inf = std::numeric_limits<float>::infinity();
  // flags 0: W is [out, in] (XNN_FLAG_TRANSPOSE_WEIGHTS would mean [in, out]).
  const xnn_status s =
      xnn_create_fully_connected_nc_f32(in, out, x_stride, y_stride, w, bias, -inf, inf, /*flags=*/0, &op);
  if (s != xnn_status_success) return xnn_error("create_fully_connected_nc_f32", s);
  return LinearXnnpack(op, in, out);
}

Status LinearXnnpack::run(const float* x, size_t n, float* y, pthreadpool_t pool) {
  if (!op_) return invalid_argument("linear: moved-from object");
  if (n == 0) return Status::ok();
  if (!x || !y) return invalid_argument("linear: null input or output");
  xnn_status s = xnn_setup_fully_connected_nc_f32(op_, n, x, y, pool);
  if (s != xnn_status_success) return xnn_error("setup_fully_connected_nc_f32", s);
  s = xnn_run_operator(op_, pool);
  if (s != xnn_status_success) return xnn_error("run_operator", s);
  return Status::ok();
}

LinearXnnpack::LinearXnnpack(LinearXnnpack&& o) noexcept : op_(o.op_), in_(o.in_), out_(o.out_) { o.op_ = nullptr; }

LinearXnnpack& LinearXnnpack::operator=(LinearXnnpack&& o) noexcept {
  if (this != &o) {
    if (op_) xnn_delete_operator(op_);
    op_ = o.op_;
    in_ = o.in_;
    out_ = o.out_;
    o.op_ = nullptr;
  }
  return *this;
}

LinearXnnpack::~LinearXnnpack() {
  if (op_) xnn_delete_operator(op_);
}

}  // namespace eidetic::cpu
