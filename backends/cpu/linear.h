// y[n, out] = x[n, in] · Wᵀ + b for a weight matrix of the model file, in
// whatever dtype the file stores it. f32 goes to XNNPACK (packed once at load);
// f16 and bf16 run gemm_half (kernels.h) on the mapped weights in place;
// Q8 and Q4 run the quantized products of kernels.h (gemm_quant) on the mapped
// weights, the activations quantized to int8 per group of 32 first, into a
// per-thread buffer that grows to the largest call and is then reused (no
// allocation in steady state), and the rows split over the thread pool.
#pragma once

#include <pthreadpool.h>

#include <memory>
#include <optional>

#include "backends/cpu/kernels/kernels.h"
#include "backends/cpu/linear_xnnpack.h"
#include "runtime/src/model/model_file.h"

namespace eidetic::cpu {

// The kernels' view of a Q8 / Q4 tensor of the file; unsupported for a
// grouping other than 32 columns with f16 scales (the converter's).
Result<QuantMatrix> quant_matrix(const ModelFile& file, int index);

class Linear {
 public:
  // weight: tensor index [out, in]; bias: tensor index [out] or -1. Rows of x
  // are x_stride floats apart, rows of y y_stride apart (0 = packed).
  static Result<Linear> create(const ModelFile& file, int weight, int bias, size_t x_stride = 0,
                               size_t y_stride = 0);

  // x must stay readable 16 bytes past its last row (XNNPACK reads ahead).
  Status run(const float* x, size_t n, float* y, pthreadpool_t pool) const;

  size_t in() const { return in_; }
  size_t out() const { return out_; }

 private:
  Linear() = default;
  void run_half(const float* x, size_t n, float* y, pthreadpool_t pool) const;
  void run_quant(const float* x, size_t n, float* y, pthreadpool_t pool) const;

  size_t in_ = 0, out_ = 0, x_stride_ = 0, y_stride_ = 0;
  fb::DType dtype_ = fb::DType::F32;
  const uint16_t* half_ = nullptr;  // f16 / bf16 weights, in the mapped file
  QuantMatrix quant_{};             // Q8 / Q4 weights and scales, in the mapped file
  const float* bias_ = nullptr;
  std::shared_ptr<LinearXnnpack> xnn_;  // shared: XNNPACK operators are move-only
};

}  // namespace eidetic::cpu
