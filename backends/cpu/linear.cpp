#include "backends/cpu/linear.h"

#include "runtime/src/core/half.h"

namespace eidetic::cpu {
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
    default:
      return unsupported(std::string("weights of type ") + fb::EnumNameDType(w.dtype()) + " in tensor '" +
                         w.name()->str() + "' (this runtime runs f32, f16 and bf16)");
  }
}

Status Linear::run(const float* x, size_t n, float* y, pthreadpool_t pool) const {
  if (xnn_) return xnn_->run(x, n, y, pool);
  run_half(x, n, y);
  return Status::ok();
}

void Linear::run_half(const float* x, size_t n, float* y) const {
  const bool bf16 = dtype_ == fb::DType::BF16;
  for (size_t o = 0; o < out_; ++o) {
    const uint16_t* row = half_ + o * in_;
    for (size_t t = 0; t < n; ++t) {
      const float* xt = x + t * x_stride_;
      float acc = 0.0f;
      for (size_t i = 0; i < in_; ++i) acc += (bf16 ? bf16_to_f32(row[i]) : f16_to_f32(row[i])) * xt[i];
      y[t * y_stride_ + o] = acc + (bias_ ? bias_[o] : 0.0f);
    }
  }
}

}  // namespace eidetic::cpu
