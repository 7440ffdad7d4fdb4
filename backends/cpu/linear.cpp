#include "backends/cpu/linear.h"

#include <type_traits>
#include <vector>

namespace eidetic::cpu {

namespace {

// From this many tokens on a product packs its activations into token panels:
// a panel form computes 16 tokens per vector whatever n is, so below these the
// row forms are faster. Measured with quant_kernels_bench 3352 768 (mamba2-130m's
// in_proj) on an AVX-512 VNNI Xeon, one thread, µs per product:
//   f32  rows 733 / 1327 at 4 / 8 tokens, panels 865 / 910;
//   f16  rows 705 / 1522 at 8 / 16, panels 1624 / 1679, at 64: 6223 / 2362;
//   q8   rows 321 / 561 at 4 / 8, panels 511 / 525;  q4 rows 218 / 430, panels 467 / 474.
constexpr size_t kPanelMinTokensF32 = 6, kPanelMinTokensHalf = 20, kPanelMinTokensQuant = 8;

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

// A per-thread buffer of at least `count` elements of T, kept for later calls.
template <typename T>
T* thread_buffer(size_t count) {
  thread_local std::vector<T> buffer;
  if (buffer.size() < count) buffer.resize(count);
  return buffer.data();
}

}  // namespace

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
  l.bias_ = bias >= 0 ? file.tensor_f32(bias) : nullptr;
  l.w_ = file.tensor_data(weight);
  switch (w.dtype()) {
    case fb::DType::F32: l.dense_ = DenseType::kF32; return l;
    case fb::DType::F16: l.dense_ = DenseType::kF16; return l;
    case fb::DType::BF16: l.dense_ = DenseType::kBF16; return l;
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
  if (n == 0) return Status::ok();
  if (quant_.data)
    run_quant(x, n, y, pool);
  else
    run_dense(x, n, y, pool);
  return Status::ok();
}

void Linear::run_dense(const float* x, size_t n, float* y, pthreadpool_t pool) const {
  if (n >= (dense_ == DenseType::kF32 ? kPanelMinTokensF32 : kPanelMinTokensHalf)) {
    float* panels = thread_buffer<float>(token_panels_floats(n, in_));
    pack_token_panels(x, x_stride_, n, in_, panels);
    split_rows(out_, pool, [&](size_t r0, size_t r1) {
      gemm_dense_panels(dense_, w_, in_, panels, n, r0, r1, bias_, y, y_stride_);
    });
    return;
  }
  if (dense_ == DenseType::kF32) {
    const auto* w = static_cast<const float*>(w_);
    split_rows(out_, pool,
               [&](size_t r0, size_t r1) { gemm_f32(w, in_, x, x_stride_, n, r0, r1, bias_, y, y_stride_); });
    return;
  }
  const auto* w = static_cast<const uint16_t*>(w_);
  const bool bf16 = dense_ == DenseType::kBF16;
  split_rows(out_, pool,
             [&](size_t r0, size_t r1) { gemm_half(w, bf16, in_, x, x_stride_, n, r0, r1, bias_, y, y_stride_); });
}

void Linear::run_quant(const float* x, size_t n, float* y, pthreadpool_t pool) const {
  const size_t pc = quant_.padded_cols, groups = pc / kQuantGroup;
  const bool panels = n >= kPanelMinTokensQuant && have_quant_panels();
  // Row-major activations ([n, pc] int8, then [n, groups] scales and Q4's
  // corrections), and for panels their packed copy after them.
  const size_t row_floats = (n * pc + 3) / 4 + 2 * n * groups, np = quant_panels_tokens(n);
  const size_t panel_floats = panels ? np * pc / 4 + 2 * np * groups : 0;
  float* buffer = thread_buffer<float>(row_floats + panel_floats);
  QuantActs acts{};
  acts.q = reinterpret_cast<int8_t*>(buffer);
  acts.d = buffer + (n * pc + 3) / 4;
  if (panels) {
    quantize_acts(QuantType::kQ8, x, x_stride_, n, in_, pc, acts);
    float* p = buffer + row_floats;
    const QuantPanels packed{reinterpret_cast<int8_t*>(p), p + np * pc / 4,
                             reinterpret_cast<int32_t*>(p + np * pc / 4 + np * groups)};
    pack_quant_panels(quant_.type, acts, n, pc, packed);
    split_rows(out_, pool,
               [&](size_t r0, size_t r1) { gemm_quant_panels(quant_, packed, n, r0, r1, bias_, y, y_stride_); });
    return;
  }
  acts.corr = quant_.type == QuantType::kQ4 ? acts.d + n * groups : nullptr;
  quantize_acts(quant_.type, x, x_stride_, n, in_, pc, acts);
  split_rows(out_, pool, [&](size_t r0, size_t r1) { gemm_quant(quant_, acts, n, r0, r1, bias_, y, y_stride_); });
}

}  // namespace eidetic::cpu
