#include "backends/cpu/linear.h"

#include <type_traits>
#include <vector>

namespace eidetic::cpu {

Result<QuantMatrix> quant_matrix(const ModelFile& file, int index) {
  const fb::Tensor& w = file.tensor(index);
  const fb::QuantParams* q = w.quant();  // present: the file was verified
  if (q->group_size() != kQuantGroup || q->scale_dtype() != fb::DType::F16)
    return unsupported("tensor '" + w.name()->str() + "': quantization groups of " + std::to_string(q->group_size()) +
                       " with " + fb::EnumNameDType(q->scale_dtype()) +
                       " scales (this runtime runs groups of 32 with f16 scales)");
  QuantMatrix m{};
  m.type = w.dtype() == fb::DType::Q8 ? QuantType::kQ8 : QuantType::kQ4;
  m.data = file.tensor_data(index);
  m.scales = reinterpret_cast<const uint16_t*>(file.tensor_scales(index));
  m.rows = w.shape()->Get(0);
  m.padded_cols = q->padded_cols();
  return m;
}

Result<Linear> Linear::create(const ModelFile& file, int weight, int bias, size_t x_stride, size_t y_stride) {
  const fb::Tensor& w = file.tensor(weight);
  Linear l;
  l.out_ = w.shape()->Get(0);
  l.in_ = w.shape()->Get(1);
  l.x_stride_ = x_stride ? x_stride : l.in_;
  l.y_stride_ = y_stride ? y_stride : l.out_;
  l.dtype_ = w.dtype();
  l.bias_ = bias >= 0 ? file.tensor_f32(bias) : nullptr;
  switch (w.dtype()) {
    case fb::DType::F32: {
      EID_TRY(xnnpack_init());
      EID_ASSIGN_OR_RETURN(LinearXnnpack op, LinearXnnpack::create(file.tensor_f32(weight), l.bias_, l.in_, l.out_,
                                                                    l.x_stride_, l.y_stride_));
      l.xnn_ = std::make_shared<LinearXnnpack>(std::move(op));
      return l;
    }
    case fb::DType::F16:
    case fb::DType::BF16:
      l.half_ = reinterpret_cast<const uint16_t*>(file.tensor_data(weight));
      return l;
    case fb::DType::Q8:
    case fb::DType::Q4: {
      EID_ASSIGN_OR_RETURN(l.quant_, quant_matrix(file, weight));
      return l;
    }
    default:
      return unsupported(std::string("weights of type ") + fb::EnumNameDType(w.dtype()) + " in tensor '" +
                         w.name()->str() + "' (this runtime runs f32, f16, bf16, q8 and q4)");
  }
}

Status Linear::run(const float* x, size_t n, float* y, pthreadpool_t pool) const {
  if (xnn_) return xnn_->run(x, n, y, pool);
  if (quant_.data)
    run_quant(x, n, y, pool);
  else
    run_half(x, n, y, pool);
  return Status::ok();
}

namespace {

// Rows [0, out) split over the pool's threads in tiles of whole kernel row
// tiles (multiples of 8), a few per thread for balance; the calling thread
// alone without a pool or for small products.
template <typename Fn>
void split_rows(size_t out, pthreadpool_t pool, Fn&& fn) {
  const size_t threads = pool ? pthreadpool_get_threads_count(pool) : 1;
  if (threads <= 1 || out < 64) {
    fn(size_t(0), out);
    return;
  }
  size_t tile = (out + 4 * threads - 1) / (4 * threads);
  tile = (tile + 7) / 8 * 8;
  using F = std::remove_reference_t<Fn>;
  auto task = [](void* context, size_t r0, size_t count) { (*static_cast<F*>(context))(r0, r0 + count); };
  pthreadpool_parallelize_1d_tile_1d(pool, task, &fn, out, tile, 0);
}

}  // namespace

void Linear::run_half(const float* x, size_t n, float* y, pthreadpool_t pool) const {
  const bool bf16 = dtype_ == fb::DType::BF16;
  split_rows(out_, pool, [&](size_t r0, size_t r1) {
    gemm_half(half_, bf16, in_, x, x_stride_, n, r0, r1, bias_, y, y_stride_);
  });
}

void Linear::run_quant(const float* x, size_t n, float* y, pthreadpool_t pool) const {
  if (n == 0) return;
  const size_t pc = quant_.padded_cols, groups = pc / kQuantGroup;
  // One buffer per thread: [n, pc] int8, then [n, groups] scales and corrections.
  thread_local std::vector<float> buffer;
  const size_t floats = (n * pc + 3) / 4 + 2 * n * groups;
  if (buffer.size() < floats) buffer.resize(floats);
  QuantActs acts{};
  acts.q = reinterpret_cast<int8_t*>(buffer.data());
  acts.d = buffer.data() + (n * pc + 3) / 4;
  acts.corr = quant_.type == QuantType::kQ4 ? acts.d + n * groups : nullptr;
  quantize_acts(quant_.type, x, x_stride_, n, in_, pc, acts);

  split_rows(out_, pool, [&](size_t r0, size_t r1) { gemm_quant(quant_, acts, n, r0, r1, bias_, y, y_stride_); });
}

}  // namespace eidetic::cpu
