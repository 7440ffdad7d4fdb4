// y[n, out] = x[n, in] · Wᵀ + b for a weight matrix of the model file, in
// whatever dtype the file stores it, run on the mapped weights in place
// (nothing is packed or copied at load). A few tokens (decode) take the row
// forms of kernels.h (gemm_f32, gemm_half, gemm_quant), which stream each
// weight row once per token; a prompt packs its activations into token panels
// once (gemm_dense_panels, gemm_quant_panels) so that each weight meets 64
// tokens per read. Q8 and Q4 quantize the activations to int8 per group of 32
// first. Buffers are per thread and grow to the largest call, then are reused
// (no allocation in steady state); the rows are split over the thread pool.
#pragma once

#include <pthreadpool.h>

#include "backends/cpu/kernels/kernels.h"
#include "runtime/src/model/model_file.h"

namespace eidetic::cpu {

// The kernels' view of a Q8 / Q4 tensor of the file; unsupported for a
// grouping other than 32 columns with f16 scales (the converter's).
Result<QuantMatrix> quant_matrix(const ModelFile& file, int index);

class Linear {
 public:
  // weight: tensor index [out, in]; bias: tensor index [out] or -1. Rows of x
  // are x_stride floats apart, rows of y y_stride apart (0 = packed).
  static Result<Linear> create(const ModelFile& file, int weight, int bias, size_t x_stride = 0, size_t y_stride = 0);

  Status run(const float* x, size_t n, float* y, pthreadpool_t pool) const;

  size_t in() const { return in_; }
  size_t out() const { return out_; }

 private:
  Linear() = default;
  void run_dense(const float* x, size_t n, float* y, pthreadpool_t pool) const;
  void run_quant(const float* x, size_t n, float* y, pthreadpool_t pool) const;

  size_t in_ = 0, out_ = 0, x_stride_ = 0, y_stride_ = 0;
  DenseType dense_ = DenseType::kF32;  // unless quant_.data
  const void* w_ = nullptr;            // f32 / f16 / bf16 weights, in the mapped file
  QuantMatrix quant_{};                // Q8 / Q4 weights and scales, in the mapped file
  const float* bias_ = nullptr;
};

}  // namespace eidetic::cpu
