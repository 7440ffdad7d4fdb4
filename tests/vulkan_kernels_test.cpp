// Each Vulkan shader against the CPU backend's reference kernels (kernels_ref.h)
// on random inputs of odd sizes, strided and offset as the blocks use them;
// the matrix products against a double-precision sum over the weights as
// stored (f32, f16, bf16, q8, q4). On lavapipe, with the validation layer on
// and required to stay silent (tests/vulkan_test_env.h).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "backends/cpu/kernels/activations.h"
#include "backends/cpu/kernels/kernels_ref.h"
#include "backends/top_k.h"
#include "backends/vulkan/vk_ops.h"
#include "backends/vulkan/vk_weights.h"
#include "runtime/src/core/half.h"
#include "tests/vulkan_test_env.h"

using namespace eidetic;

namespace {

std::vector<float> random_vec(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

// |got - want| <= tol * (1 + |want|), element by element.
void check_close(const std::vector<float>& got, const std::vector<float>& want, float tol, const char* what) {
  REQUIRE(got.size() == want.size());
  float worst = 0;
  size_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const float e = std::fabs(got[i] - want[i]) / (1.0f + std::fabs(want[i]));
    worst = std::max(worst, std::isnan(got[i]) ? INFINITY : e);
    bad += !(e <= tol);
  }
  INFO(what << ": worst scaled error " << worst);
  CHECK(bad == 0);
}

// One device with the validation layer, an activations buffer and a state
// buffer, and the means to fill, run and read them.
struct Gpu {
  std::unique_ptr<vk::Context> ctx;
  std::unique_ptr<vk::Kernels> kernels;
  std::unique_ptr<vk::DescriptorAllocator> sets;
  std::unique_ptr<vk::WeightStore> weights;
  vk::Buffer act, state, tokens, dummy;

  Gpu(size_t act_floats, size_t state_floats = 4) {
    auto c = vk::Context::create(0, true);
    REQUIRE_MESSAGE(c.is_ok(), c.status().message());
    ctx = std::move(c).value();
    kernels = std::make_unique<vk::Kernels>(*ctx);
    sets = std::make_unique<vk::DescriptorAllocator>(*ctx);
    weights = std::make_unique<vk::WeightStore>(*ctx);
    act = make(act_floats * 4, vk::Memory::kDevice);
    state = make(state_floats * 4, vk::Memory::kDevice);
    tokens = make(256 * 4, vk::Memory::kUpload);
    dummy = make(16, vk::Memory::kDevice);
  }
  vk::Buffer make(size_t bytes, vk::Memory m) {
    auto b = vk::Buffer::create(*ctx, bytes, m);
    REQUIRE_MESSAGE(b.is_ok(), b.status().message());
    return std::move(b).value();
  }
  vk::OpBuilder ops() { return vk::OpBuilder(*kernels, *sets, act.slice(), dummy.slice()); }
  vk::Slice vec(const std::vector<float>& v) {
    auto s = weights->derived(v);
    REQUIRE(s.is_ok());
    REQUIRE(weights->finish().is_ok());
    return *s;
  }
  void put(vk::Buffer& dst, size_t off, const std::vector<float>& v) {
    vk::Buffer staging = make(v.size() * 4, vk::Memory::kUpload);
    std::memcpy(staging.mapped(), v.data(), v.size() * 4);
    auto cmd = ctx->begin_once();
    REQUIRE(cmd.is_ok());
    VkBufferCopy region{0, off * 4, v.size() * 4};
    vkCmdCopyBuffer(*cmd, staging.handle(), dst.handle(), 1, &region);
    REQUIRE(ctx->end_once(*cmd).is_ok());
  }
  std::vector<float> get(vk::Buffer& src, size_t off, size_t count) {
    vk::Buffer staging = make(count * 4, vk::Memory::kReadback);
    auto cmd = ctx->begin_once();
    REQUIRE(cmd.is_ok());
    vk::full_barrier(*cmd);
    VkBufferCopy region{off * 4, 0, count * 4};
    vkCmdCopyBuffer(*cmd, src.handle(), staging.handle(), 1, &region);
    VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, VK_ACCESS_TRANSFER_WRITE_BIT,
                       VK_ACCESS_HOST_READ_BIT};
    vkCmdPipelineBarrier(*cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, nullptr, 0,
                         nullptr);
    REQUIRE(ctx->end_once(*cmd).is_ok());
    std::vector<float> out(count);
    std::memcpy(out.data(), staging.mapped(), count * 4);
    return out;
  }
  void run(const std::vector<vk::Step>& steps, const vk::PassInfo& pass) {
    auto cmd = ctx->begin_once();
    REQUIRE(cmd.is_ok());
    vk::full_barrier(*cmd);  // the uploads before
    vk::record_steps(*cmd, steps, pass);
    REQUIRE(ctx->end_once(*cmd).is_ok());
  }
};

// A weight matrix in one of the file's types, with its values as stored.
struct TestMatrix {
  fb::DType dtype;
  uint32_t rows, cols, padded = 0;
  std::vector<uint8_t> data;
  std::vector<uint16_t> scales;
  std::vector<float> value;  // [rows, cols], what the kernels should multiply by
};

TestMatrix make_matrix(fb::DType dtype, uint32_t rows, uint32_t cols, uint32_t seed) {
  TestMatrix m;
  m.dtype = dtype, m.rows = rows, m.cols = cols;
  const std::vector<float> w = random_vec(size_t(rows) * cols, seed);
  m.value.resize(w.size());
  switch (dtype) {
    case fb::DType::F32:
      m.data.resize(w.size() * 4);
      std::memcpy(m.data.data(), w.data(), m.data.size());
      m.value = w;
      break;
    case fb::DType::F16:
    case fb::DType::BF16: {
      std::vector<uint16_t> h(w.size());
      for (size_t i = 0; i < w.size(); ++i) {
        uint32_t bits;
        std::memcpy(&bits, &w[i], 4);
        h[i] = dtype == fb::DType::F16 ? f32_to_f16(w[i]) : uint16_t(bits >> 16);
        m.value[i] = dtype == fb::DType::F16 ? f16_to_f32(h[i]) : bf16_to_f32(h[i]);
      }
      m.data.resize(h.size() * 2);
      std::memcpy(m.data.data(), h.data(), m.data.size());
      break;
    }
    case fb::DType::Q8:
    case fb::DType::Q4: {
      // Groups of 32 along each row, an f16 scale per group; Q4 stores q + 8,
      // two per byte, the even element in the low nibble.
      const bool q4 = dtype == fb::DType::Q4;
      m.padded = (cols + 31) / 32 * 32;
      const uint32_t groups = m.padded / 32;
      m.data.assign(size_t(rows) * (q4 ? m.padded / 2 : m.padded), q4 ? 0x88 : 0);
      m.scales.resize(size_t(rows) * groups);
      for (uint32_t r = 0; r < rows; ++r)
        for (uint32_t g = 0; g < groups; ++g) {
          float amax = 0;
          for (uint32_t c = g * 32; c < std::min(cols, g * 32 + 32); ++c)
            amax = std::max(amax, std::fabs(w[r * cols + c]));
          const uint16_t dh = f32_to_f16(amax / (q4 ? 7.0f : 127.0f));
          const float d = f16_to_f32(dh);
          m.scales[r * groups + g] = dh;
          for (uint32_t c = g * 32; c < std::min(cols, g * 32 + 32); ++c) {
            const int lim = q4 ? 7 : 127;
            const int q = d > 0 ? std::clamp(int(std::lround(w[r * cols + c] / d)), -lim, lim) : 0;
            m.value[r * cols + c] = float(q) * d;
            if (q4) {
              uint8_t& b = m.data[size_t(r) * m.padded / 2 + c / 2];
              b = c % 2 ? uint8_t((b & 0x0f) | (q + 8) << 4) : uint8_t((b & 0xf0) | (q + 8));
            } else {
              m.data[size_t(r) * m.padded + c] = uint8_t(int8_t(q));
            }
          }
        }
      break;
    }
  }
  return m;
}

vk::WeightMatrix upload(Gpu& g, const TestMatrix& m) {
  auto w =
      g.weights->upload(m.dtype, m.rows, m.cols, m.data.data(), m.padded, m.scales.empty() ? nullptr : m.scales.data());
  REQUIRE_MESSAGE(w.is_ok(), w.status().message());
  REQUIRE(g.weights->finish().is_ok());
  return std::move(w).value();
}

const fb::DType kTypes[] = {fb::DType::F32, fb::DType::F16, fb::DType::BF16, fb::DType::Q8, fb::DType::Q4};

}  // namespace

TEST_CASE("vulkan: matrix-vector and matrix-matrix products, every weight type") {
  // 45 columns (not a multiple of any load width), 261 rows (the tiled
  // product's 128-row tiles, the last one partial); strided x and y; n = 1
  // and 3 take the matrix-vector kernel, 7 and 40 the tiled product.
  const uint32_t rows = 261, cols = 45, xs = 51, ys = 265;
  for (fb::DType type : kTypes) {
    for (bool split : {false, true}) {
      // split: the matrix in parts of a few rows, as a tensor larger than one
      // binding is (EIDETIC_VULKAN_MAX_BINDING makes the limit small).
      if (split) setenv("EIDETIC_VULKAN_MAX_BINDING", "1024", 1);
      Gpu g(64 * (xs + ys) + 16);
      if (split) unsetenv("EIDETIC_VULKAN_MAX_BINDING");
      const TestMatrix tm = make_matrix(type, rows, cols, 7);
      const vk::WeightMatrix w = upload(g, tm);
      CAPTURE(fb::EnumNameDType(type));
      CAPTURE(split);
      if (split) CHECK(w.parts.size() > 1);
      const std::vector<float> bias = random_vec(rows, 11);
      const vk::Slice bias_s = g.vec(bias);
      for (uint32_t n : {1u, 3u, 7u, 40u}) {
        for (uint32_t flags : {0u, uint32_t(vk::kBias | vk::kSoftplus), uint32_t(vk::kBias | vk::kAccumulate)}) {
          CAPTURE(n);
          CAPTURE(flags);
          const uint32_t x_off = 5, y_off = 5 + n * xs + 3;
          const std::vector<float> x = random_vec(size_t(n) * xs, 100 + n);
          const std::vector<float> y0 = random_vec(size_t(n) * ys, 200 + n);
          g.put(g.act, x_off, x);
          g.put(g.act, y_off, y0);
          std::vector<vk::Step> steps;
          REQUIRE(g.ops()
                      .linear(steps, w, (flags & vk::kBias) ? &bias_s : nullptr, {x_off, xs}, {y_off, ys}, flags)
                      .is_ok());
          g.run(steps, vk::PassInfo{n, false, true});
          std::vector<float> want = y0;
          for (uint32_t t = 0; t < n; ++t)
            for (uint32_t r = 0; r < rows; ++r) {
              double acc = 0;
              for (uint32_t c = 0; c < cols; ++c) acc += double(tm.value[r * cols + c]) * x[t * xs + c];
              float v = float(acc) + ((flags & vk::kBias) ? bias[r] : 0.0f);
              if (flags & vk::kSoftplus) v = cpu::softplus(v);
              want[t * ys + r] = (flags & vk::kAccumulate) ? y0[t * ys + r] + v : v;
            }
          check_close(g.get(g.act, y_off, want.size()), want, 2e-6f, "linear");
        }
      }
      CHECK_NO_VALIDATION_MESSAGES();
    }
  }
}

TEST_CASE("vulkan: matrix-vector products of wide rows (several subgroups per row) and few rows") {
  // 2100 columns give f32 / f16 rows 128 or 256 threads, and 19 rows one row
  // per workgroup for Q8 / Q4 (matvec_shape in vk_ops.cpp).
  const uint32_t rows = 19, cols = 2100;
  for (fb::DType type : kTypes) {
    CAPTURE(fb::EnumNameDType(type));
    Gpu g(4 * cols + 4 * rows + 64);
    const TestMatrix tm = make_matrix(type, rows, cols, 17);
    const vk::WeightMatrix w = upload(g, tm);
    for (uint32_t n : {1u, 3u}) {
      CAPTURE(n);
      const std::vector<float> x = random_vec(size_t(n) * cols, 300 + n);
      g.put(g.act, 0, x);
      std::vector<vk::Step> steps;
      REQUIRE(g.ops().linear(steps, w, nullptr, {0, cols}, {3 * cols + 5, rows}, 0).is_ok());
      g.run(steps, vk::PassInfo{n, false, true});
      std::vector<float> want(size_t(n) * rows);
      for (uint32_t t = 0; t < n; ++t)
        for (uint32_t r = 0; r < rows; ++r) {
          double acc = 0;
          for (uint32_t c = 0; c < cols; ++c) acc += double(tm.value[size_t(r) * cols + c]) * x[size_t(t) * cols + c];
          want[t * rows + r] = float(acc);
        }
      check_close(g.get(g.act, 3 * cols + 5, want.size()), want, 2e-5f, "wide linear");
    }
  }
  CHECK_NO_VALIDATION_MESSAGES();
}

TEST_CASE("vulkan: the pre-norm and the one-token causal conv fused into the matrix-vector product") {
  // in_proj as a mixer runs it in decode: y = W rmsnorm(h), and rows
  // [row0, row0 + channels) also go through the conv (tail carried) to conv_out.
  const uint32_t hidden = 45, rows = 70, row0 = 9, channels = 37, k = 4;
  for (fb::DType type : {fb::DType::F32, fb::DType::Q4}) {
    CAPTURE(fb::EnumNameDType(type));
    Gpu g(4096, 1024);
    const TestMatrix tm = make_matrix(type, rows, hidden, 13);
    const vk::WeightMatrix w = upload(g, tm);
    const std::vector<float> nw = random_vec(hidden, 14), cw = random_vec(channels * k, 15),
                             cb = random_vec(channels, 16);
    const vk::Slice nws = g.vec(nw), cws = g.vec(cw), cbs = g.vec(cb);
    std::vector<float> tail = random_vec((k - 1) * channels, 17);
    g.put(g.state, 3, tail);
    for (int step = 0; step < 3; ++step) {
      CAPTURE(step);
      const std::vector<float> h = random_vec(hidden, 20 + step, -2, 2);
      g.put(g.act, 0, h);
      vk::LinearFusion f;
      f.norm_w = &nws, f.norm_eps = 1e-5f, f.raw_x = {0, hidden};
      f.conv = true, f.conv_row0 = row0, f.channels = channels, f.k = k, f.tail_off = 3, f.conv_out = 2000;
      f.conv_w = cws, f.conv_b = &cbs, f.state = g.state.slice();
      std::vector<vk::Step> steps;
      REQUIRE(g.ops().linear(steps, w, nullptr, {500, hidden}, {1000, rows}, 0, false, false, f).is_ok());
      g.run(steps, vk::PassInfo{1, false, true});
      std::vector<float> xn(hidden), y(rows), conv(channels);
      cpu::rms_norm_ref(h.data(), hidden, nw.data(), 1e-5f, 1, hidden, xn.data(), hidden);
      for (uint32_t r = 0; r < rows; ++r) {
        double acc = 0;
        for (uint32_t c = 0; c < hidden; ++c) acc += double(tm.value[r * hidden + c]) * xn[c];
        y[r] = float(acc);
      }
      cpu::causal_conv1d_silu_ref(y.data() + row0, rows, 1, channels, k, cw.data(), cb.data(), tail.data(), conv.data(),
                                  channels);
      check_close(g.get(g.act, 1000, rows), y, 5e-6f, "fused product");
      check_close(g.get(g.act, 2000, channels), conv, 5e-6f, "fused conv");
      check_close(g.get(g.state, 3, tail.size()), tail, 5e-6f, "fused conv tail");
    }
  }
  CHECK_NO_VALIDATION_MESSAGES();
}

TEST_CASE("vulkan: Mamba-2's gated RMSNorm fused into out_proj's matrix-vector product, accumulating") {
  const uint32_t dim = 75, rows = 33, zs = 90;
  Gpu g(8192);
  const TestMatrix tm = make_matrix(fb::DType::F16, rows, dim, 41);
  const vk::WeightMatrix w = upload(g, tm);
  const std::vector<float> nw = random_vec(dim, 42);
  const vk::Slice nws = g.vec(nw);
  for (uint32_t n : {1u, 3u}) {
    CAPTURE(n);
    const std::vector<float> y = random_vec(n * dim, 43, -2, 2), z = random_vec(n * zs, 44, -3, 3),
                             h = random_vec(n * rows, 45);
    g.put(g.act, 0, y);
    g.put(g.act, 1000, z);
    g.put(g.act, 2000, h);
    vk::LinearFusion f;
    f.norm_w = &nws, f.norm_eps = 1e-5f, f.raw_x = {0, dim}, f.gate = true, f.z = {1000 + 5, zs};
    std::vector<vk::Step> steps;
    REQUIRE(g.ops().linear(steps, w, nullptr, {4000, dim}, {2000, rows}, vk::kAccumulate, false, false, f).is_ok());
    g.run(steps, vk::PassInfo{n, false, true});
    std::vector<float> normed(n * dim), want = h;
    cpu::gated_rms_norm_ref(y.data(), dim, z.data() + 5, zs, nw.data(), 1e-5f, n, dim, dim, normed.data(), dim);
    for (uint32_t t = 0; t < n; ++t)
      for (uint32_t r = 0; r < rows; ++r) {
        double acc = 0;
        for (uint32_t c = 0; c < dim; ++c) acc += double(tm.value[r * dim + c]) * normed[t * dim + c];
        want[t * rows + r] += float(acc);
      }
    check_close(g.get(g.act, 2000, n * rows), want, 5e-6f, "gated norm + out_proj");
  }
  CHECK_NO_VALIDATION_MESSAGES();
}

// The CPU backend's product of Q8 / Q4 weights with x ([n, cols], rows
// x_stride apart): x rounded to int8 per group (quantize_acts_ref), then
// gemm_quant_ref. y: [n, rows], contiguous.
std::vector<float> cpu_quant_product(const TestMatrix& m, const std::vector<float>& x, size_t x_stride, uint32_t n) {
  const auto type = m.dtype == fb::DType::Q8 ? cpu::QuantType::kQ8 : cpu::QuantType::kQ4;
  const size_t groups = m.padded / 32;
  std::vector<int8_t> q(size_t(n) * m.padded);
  std::vector<float> d(n * groups), corr(n * groups), y(size_t(n) * m.rows);
  const cpu::QuantActs acts{q.data(), d.data(), corr.data()};
  cpu::quantize_acts_ref(type, x.data(), x_stride, n, m.cols, m.padded, acts);
  const cpu::QuantMatrix w{type, m.data.data(), m.scales.data(), m.rows, m.padded};
  cpu::gemm_quant_ref(w, acts, n, 0, m.rows, nullptr, y.data(), m.rows);
  return y;
}

// Made with EIDETIC_VULKAN_INT_DOT=1 (lavapipe has the feature but does not
// accelerate it, so by default it takes the float kernel).
std::unique_ptr<Gpu> int_dot_gpu(size_t act_floats, size_t state_floats = 4) {
  setenv("EIDETIC_VULKAN_INT_DOT", "1", 1);
  auto g = std::make_unique<Gpu>(act_floats, state_floats);
  unsetenv("EIDETIC_VULKAN_INT_DOT");
  REQUIRE_MESSAGE(g->ctx->info().int_dot, "the test device has no integer dot products");
  return g;
}

TEST_CASE("vulkan: Q8 / Q4 matrix-vector products in integer dot products equal the CPU's quantized product") {
  // 45 columns (a part group), 2100 (wide rows: several subgroups per row);
  // 37 rows (8 per workgroup), 5 (fewer); strided x; n = 1 and 3 tokens;
  // bias, softplus, accumulate.
  for (fb::DType type : {fb::DType::Q8, fb::DType::Q4}) {
    for (auto [rows, cols] : {std::pair<uint32_t, uint32_t>{37, 45}, {5, 2100}}) {
      CAPTURE(fb::EnumNameDType(type));
      CAPTURE(cols);
      const uint32_t xs = cols + 6, ys = rows + 4;
      auto g = int_dot_gpu(3 * (xs + ys) + 16);
      const TestMatrix tm = make_matrix(type, rows, cols, 23);
      const vk::WeightMatrix w = upload(*g, tm);
      const std::vector<float> bias = random_vec(rows, 24);
      const vk::Slice bias_s = g->vec(bias);
      for (uint32_t n : {1u, 3u}) {
        for (uint32_t flags : {0u, uint32_t(vk::kBias | vk::kSoftplus), uint32_t(vk::kBias | vk::kAccumulate)}) {
          CAPTURE(n);
          CAPTURE(flags);
          const uint32_t x_off = 5, y_off = 5 + n * xs + 3;
          const std::vector<float> x = random_vec(size_t(n) * xs, 400 + n, -3, 3);
          const std::vector<float> y0 = random_vec(size_t(n) * ys, 500 + n);
          g->put(g->act, x_off, x);
          g->put(g->act, y_off, y0);
          std::vector<vk::Step> steps;
          REQUIRE(g->ops()
                      .linear(steps, w, (flags & vk::kBias) ? &bias_s : nullptr, {x_off, xs}, {y_off, ys}, flags)
                      .is_ok());
          g->run(steps, vk::PassInfo{n, false, true});
          const std::vector<float> prod = cpu_quant_product(tm, x, xs, n);
          std::vector<float> want = y0;
          for (uint32_t t = 0; t < n; ++t)
            for (uint32_t r = 0; r < rows; ++r) {
              float v = prod[t * rows + r] + ((flags & vk::kBias) ? bias[r] : 0.0f);
              if (flags & vk::kSoftplus) v = cpu::softplus(v);
              want[t * ys + r] = (flags & vk::kAccumulate) ? y0[t * ys + r] + v : v;
            }
          check_close(g->get(g->act, y_off, want.size()), want, 1e-5f, "integer-dot linear");
        }
      }
      CHECK_NO_VALIDATION_MESSAGES();
    }
  }
}

TEST_CASE("vulkan: the fused pre-norm and gated norm with integer dot products") {
  // The kernel rounds x * norm_w (x * silu(z) * norm_w) to int8 and applies
  // the RMS scale to the sums: the CPU's product of the same rounded values,
  // times that scale.
  const uint32_t dim = 75, rows = 33, zs = 90;
  for (fb::DType type : {fb::DType::Q8, fb::DType::Q4}) {
    for (bool gate : {false, true}) {
      CAPTURE(fb::EnumNameDType(type));
      CAPTURE(gate);
      auto g = int_dot_gpu(8192);
      const TestMatrix tm = make_matrix(type, rows, dim, 51);
      const vk::WeightMatrix w = upload(*g, tm);
      const std::vector<float> nw = random_vec(dim, 52);
      const vk::Slice nws = g->vec(nw);
      const std::vector<float> y = random_vec(dim, 53, -2, 2), z = random_vec(zs, 54, -3, 3), h = random_vec(rows, 55);
      g->put(g->act, 0, y);
      g->put(g->act, 1000, z);
      g->put(g->act, 2000, h);
      vk::LinearFusion f;
      f.norm_w = &nws, f.norm_eps = 1e-5f, f.raw_x = {0, dim};
      if (gate) f.gate = true, f.z = {1000 + 5, zs};
      std::vector<vk::Step> steps;
      REQUIRE(g->ops().linear(steps, w, nullptr, {4000, dim}, {2000, rows}, vk::kAccumulate, false, false, f).is_ok());
      g->run(steps, vk::PassInfo{1, false, true});
      std::vector<float> v(dim);
      double ss = 0;
      for (uint32_t c = 0; c < dim; ++c) {
        const float gated = gate ? y[c] * (z[5 + c] / (1.0f + std::exp(-z[5 + c]))) : y[c];  // y * silu(z)
        ss += double(gated) * gated;
        v[c] = gated * nw[c];
      }
      const float scale = float(1.0 / std::sqrt(ss / dim + 1e-5));
      const std::vector<float> prod = cpu_quant_product(tm, v, dim, 1);
      std::vector<float> want = h;
      for (uint32_t r = 0; r < rows; ++r) want[r] += prod[r] * scale;
      check_close(g->get(g->act, 2000, rows), want, 1e-5f, "normed integer-dot product");
      CHECK_NO_VALIDATION_MESSAGES();
    }
  }
}

TEST_CASE("vulkan: the LM head's last-token product reads the last row") {
  Gpu g(4096);
  const TestMatrix tm = make_matrix(fb::DType::F16, 29, 19, 3);
  const vk::WeightMatrix w = upload(g, tm);
  const uint32_t n = 6;
  const std::vector<float> x = random_vec(n * 19, 5);
  g.put(g.act, 0, x);
  std::vector<vk::Step> steps;
  REQUIRE(g.ops().linear(steps, w, nullptr, {0, 19}, {1000, 29}, 0, true, true).is_ok());
  g.run(steps, vk::PassInfo{n, false, true});
  std::vector<float> want(29);
  for (uint32_t r = 0; r < 29; ++r) {
    double acc = 0;
    for (uint32_t c = 0; c < 19; ++c) acc += double(tm.value[r * 19 + c]) * x[(n - 1) * 19 + c];
    want[r] = float(acc);
  }
  check_close(g.get(g.act, 1000, 29), want, 2e-6f, "last-token head");
  CHECK_NO_VALIDATION_MESSAGES();
}

TEST_CASE("vulkan: embedding gather, every weight type, split tables") {
  const uint32_t vocab = 53, hidden = 37, n = 9;
  for (fb::DType type : kTypes) {
    for (bool split : {false, true}) {
      CAPTURE(fb::EnumNameDType(type));
      CAPTURE(split);
      if (split) setenv("EIDETIC_VULKAN_MAX_BINDING", "1024", 1);
      Gpu g(2048);
      if (split) unsetenv("EIDETIC_VULKAN_MAX_BINDING");
      const TestMatrix tm = make_matrix(type, vocab, hidden, 9);
      const vk::WeightMatrix e = upload(g, tm);
      if (split) CHECK(e.parts.size() > 1);
      const int32_t ids[n] = {0, 52, 7, 7, 31, 1, 50, 26, 13};
      std::memcpy(g.tokens.mapped(), ids, sizeof(ids));
      std::vector<vk::Step> steps;
      REQUIRE(g.ops().embed(steps, e, g.tokens.slice(), 0, {3, 40}).is_ok());
      g.run(steps, vk::PassInfo{n, false, true});
      const std::vector<float> got = g.get(g.act, 3, n * 40);
      std::vector<float> got_rows, want;
      for (uint32_t t = 0; t < n; ++t)
        for (uint32_t k = 0; k < hidden; ++k) {
          got_rows.push_back(got[t * 40 + k]);
          want.push_back(tm.value[ids[t] * hidden + k]);
        }
      check_close(got_rows, want, 0.0f, "embedding");
      CHECK_NO_VALIDATION_MESSAGES();
    }
  }
}

TEST_CASE("vulkan: RMSNorm and gated RMSNorm against the CPU reference") {
  Gpu g(8192);
  const uint32_t n = 5, dim = 75, xs = 80;
  const std::vector<float> x = random_vec(n * xs, 21, -3, 3), z = random_vec(n * xs, 22, -3, 3);
  const std::vector<float> w = random_vec(dim, 23);
  const vk::Slice ws = g.vec(w);
  for (bool with_w : {true, false}) {
    CAPTURE(with_w);
    g.put(g.act, 0, x);
    std::vector<vk::Step> steps;
    REQUIRE(g.ops().rms_norm(steps, dim, with_w ? &ws : nullptr, 1e-5f, {0, xs}, {1000, dim}).is_ok());
    REQUIRE(g.ops().rms_norm(steps, dim, with_w ? &ws : nullptr, 1e-5f, {0, xs}, {0, xs}).is_ok());  // in place
    g.run(steps, vk::PassInfo{n, false, true});
    std::vector<float> want(n * dim);
    cpu::rms_norm_ref(x.data(), xs, with_w ? w.data() : nullptr, 1e-5f, n, dim, want.data(), dim);
    check_close(g.get(g.act, 1000, n * dim), want, 2e-6f, "rms_norm");
    const std::vector<float> in_place = g.get(g.act, 0, n * xs);
    for (uint32_t t = 0; t < n; ++t)
      for (uint32_t i = 0; i < dim; ++i) CHECK(in_place[t * xs + i] == g.get(g.act, 1000 + t * dim + i, 1)[0]);
  }
  for (uint32_t group : {75u, 25u}) {
    CAPTURE(group);
    g.put(g.act, 0, x);
    g.put(g.act, 2000, z);
    std::vector<vk::Step> steps;
    REQUIRE(g.ops().gated_rms_norm(steps, dim, group, ws, 1e-5f, {0, xs}, {2000, xs}, {4000, dim}).is_ok());
    g.run(steps, vk::PassInfo{n, false, true});
    std::vector<float> want(n * dim);
    cpu::gated_rms_norm_ref(x.data(), xs, z.data(), xs, w.data(), 1e-5f, n, dim, group, want.data(), dim);
    check_close(g.get(g.act, 4000, n * dim), want, 2e-6f, "gated_rms_norm");
  }
  CHECK_NO_VALIDATION_MESSAGES();
}

TEST_CASE("vulkan: causal conv1d + SiLU, prompt and single steps, tail carried") {
  const uint32_t channels = 37, k = 4, xs = 50;
  Gpu g(4096, 512);
  const std::vector<float> w = random_vec(channels * k, 31), b = random_vec(channels, 32);
  const vk::Slice ws = g.vec(w), bs = g.vec(b);
  std::vector<float> tail = random_vec((k - 1) * channels, 33);
  const uint32_t tail_off = 7;
  g.put(g.state, tail_off, tail);
  for (uint32_t n : {9u, 1u, 1u, 3u}) {
    CAPTURE(n);
    const std::vector<float> x = random_vec(n * xs, 40 + n);
    g.put(g.act, 0, x);
    std::vector<vk::Step> steps;
    REQUIRE(g.ops().conv1d(steps, channels, k, ws, &bs, g.state.slice(), tail_off, {2, xs}, {1000, channels}).is_ok());
    g.run(steps, vk::PassInfo{n, false, true});
    std::vector<float> want(n * channels);
    cpu::causal_conv1d_silu_ref(x.data() + 2, xs, n, channels, k, w.data(), b.data(), tail.data(), want.data(),
                                channels);
    check_close(g.get(g.act, 1000, n * channels), want, 2e-6f, "conv1d y");
    check_close(g.get(g.state, tail_off, tail.size()), tail, 0.0f, "conv1d tail");
  }
  CHECK_NO_VALIDATION_MESSAGES();
}

TEST_CASE("vulkan: Mamba-1 selective scan against the CPU reference") {
  const uint32_t di = 37, ds = 16, w = 3 * di + 2 * ds;  // one row holds x | dt | z | B | C
  Gpu g(8192, 4096);
  const std::vector<float> a_log = random_vec(di * ds, 51, -1, 1.5f), d = random_vec(di, 52);
  std::vector<float> a(a_log.size());
  for (size_t i = 0; i < a.size(); ++i) a[i] = -std::exp(a_log[i]);
  const vk::Slice as = g.vec(a), dsl = g.vec(d);
  std::vector<float> state = random_vec(di * ds, 53);
  g.put(g.state, 5, state);
  for (uint32_t n : {6u, 1u, 2u}) {
    CAPTURE(n);
    std::vector<float> in = random_vec(n * w, 60 + n);
    for (uint32_t t = 0; t < n; ++t)
      for (uint32_t i = 0; i < di; ++i) in[t * w + di + i] = cpu::softplus(in[t * w + di + i] - 1.0f);
    g.put(g.act, 0, in);
    vk::OpBuilder::SelectiveScan s{};
    s.d_inner = di, s.d_state = ds;
    s.x = {0, w}, s.dt = {di, w}, s.z = {2 * di, w}, s.b = {3 * di, w}, s.c = {3 * di + ds, w};
    s.y = {3000, di};
    s.a = as, s.d = dsl, s.state = g.state.slice(), s.s_off = 5;
    std::vector<vk::Step> steps;
    REQUIRE(g.ops().selective_scan(steps, s).is_ok());
    g.run(steps, vk::PassInfo{n, false, true});
    std::vector<float> y(n * di);
    cpu::SelectiveScanArgs r{};
    r.n_tokens = n, r.d_inner = di, r.d_state = ds;
    r.x = in.data(), r.x_stride = w, r.dt = in.data() + di, r.dt_stride = w, r.z = in.data() + 2 * di, r.z_stride = w;
    r.b = in.data() + 3 * di, r.b_stride = w, r.c = in.data() + 3 * di + ds, r.c_stride = w;
    r.a = a.data(), r.d = d.data(), r.state = state.data(), r.y = y.data(), r.y_stride = di;
    cpu::selective_scan_ref(r);
    check_close(g.get(g.act, 3000, n * di), y, 1e-5f, "selective_scan y");
    check_close(g.get(g.state, 5, state.size()), state, 1e-5f, "selective_scan state");
  }
  CHECK_NO_VALIDATION_MESSAGES();
}

TEST_CASE("vulkan: Mamba-1 scan with dt_proj (and FalconMamba's norms) computed in it for one token") {
  // dbc = [x_dt (rank) | B | C], as x_proj writes it; dt = softplus(dt_proj x_dt + bias);
  // with bc_norm_eps, x_dt, B and C each through a weightless RMSNorm first.
  const uint32_t di = 37, ds = 16, rank = 45, dbc_w = rank + 2 * ds, w = 2 * di;  // w: x | z
  for (fb::DType type : kTypes) {
    const bool quant = type == fb::DType::Q8 || type == fb::DType::Q4;
    for (bool int_dot : {false, true}) {
      if (int_dot && !quant) continue;
      CAPTURE(fb::EnumNameDType(type));
      CAPTURE(int_dot);
      auto g = int_dot ? int_dot_gpu(8192, 4096) : std::make_unique<Gpu>(8192, 4096);
      const TestMatrix tm = make_matrix(type, di, rank, 71);
      const vk::WeightMatrix dt_proj = upload(*g, tm);
      const std::vector<float> a_log = random_vec(di * ds, 72, -1, 1.5f), d = random_vec(di, 73),
                               bias = random_vec(di, 74);
      std::vector<float> a(a_log.size());
      for (size_t i = 0; i < a.size(); ++i) a[i] = -std::exp(a_log[i]);
      const vk::Slice as = g->vec(a), dsl = g->vec(d), bs = g->vec(bias);
      for (float eps : {0.0f, 1e-5f}) {
        CAPTURE(eps);
        std::vector<float> state = random_vec(di * ds, 75);
        g->put(g->state, 5, state);
        vk::OpBuilder::SelectiveScan s{};
        s.d_inner = di, s.d_state = ds;
        s.x = {0, w}, s.z = {di, w}, s.dt = {6000, di};  // dt: not read by a one-token pass
        s.b = {1000 + rank, dbc_w}, s.c = {1000 + rank + ds, dbc_w}, s.y = {3000, di};
        s.a = as, s.d = dsl, s.state = g->state.slice(), s.s_off = 5;
        s.dt_proj = &dt_proj, s.dt_bias = bs, s.dt_x = {1000, dbc_w}, s.dt_rank = rank, s.bc_norm_eps = eps;
        std::vector<vk::Step> steps;
        REQUIRE(g->ops().selective_scan(steps, s).is_ok());
        for (int step = 0; step < 2; ++step) {
          CAPTURE(step);
          const std::vector<float> xz = random_vec(w, 80 + step), raw = random_vec(dbc_w, 90 + step, -2, 2);
          g->put(g->act, 0, xz);
          g->put(g->act, 1000, raw);
          g->run(steps, vk::PassInfo{1, false, true});
          // The CPU block's order: the norms, then dt_proj (the CPU's int8
          // product with int_dot, else exact), softplus, the scan.
          std::vector<float> dbc = raw;
          if (eps > 0)
            for (auto [off, len] : {std::pair<uint32_t, uint32_t>{0, rank}, {rank, ds}, {rank + ds, ds}})
              cpu::rms_norm_ref(dbc.data() + off, dbc_w, nullptr, eps, 1, len, dbc.data() + off, dbc_w);
          std::vector<float> dt(di);
          const std::vector<float> x_dt(dbc.begin(), dbc.begin() + rank);
          const std::vector<float> prod = int_dot ? cpu_quant_product(tm, x_dt, rank, 1) : std::vector<float>();
          for (uint32_t c = 0; c < di; ++c) {
            double acc = 0;
            for (uint32_t k = 0; k < rank; ++k) acc += double(tm.value[c * rank + k]) * x_dt[k];
            dt[c] = cpu::softplus((int_dot ? prod[c] : float(acc)) + bias[c]);
          }
          std::vector<float> y(di);
          cpu::SelectiveScanArgs r{};
          r.n_tokens = 1, r.d_inner = di, r.d_state = ds;
          r.x = xz.data(), r.x_stride = w, r.dt = dt.data(), r.dt_stride = di, r.z = xz.data() + di, r.z_stride = w;
          r.b = dbc.data() + rank, r.b_stride = dbc_w, r.c = dbc.data() + rank + ds, r.c_stride = dbc_w;
          r.a = a.data(), r.d = d.data(), r.state = state.data(), r.y = y.data(), r.y_stride = di;
          cpu::selective_scan_ref(r);
          check_close(g->get(g->act, 3000, di), y, 1e-5f, "scan y");
          check_close(g->get(g->state, 5, state.size()), state, 1e-5f, "scan state");
        }
      }
      CHECK_NO_VALIDATION_MESSAGES();
    }
  }
}

// n = 7 and 1 run the recurrence (ssd_scan.comp); 40 and 100 the chunked
// form (ssd_chunked.comp: chunks of 32, the last one partial), held against
// both the CPU's recurrence and its chunked form in the same chunks.
TEST_CASE(
    "vulkan: Mamba-2 scan, token by token and chunked, against the CPU reference (dt's softplus, bias, clamp fused)") {
  const uint32_t nh = 6, hd = 21, ng = 2, n_state = 24, di = nh * hd, cw = di + 2 * ng * n_state, pw = 40;
  for (uint32_t d_state : {n_state, 200u}) {  // 200: several states per thread
    CAPTURE(d_state);
    const uint32_t cwid = di + 2 * ng * d_state;
    Gpu g(131072, 65536);  // x|B|C rows from 0, raw dt at 100000, y at 110000
    const std::vector<float> a_log = random_vec(nh, 71), dv = random_vec(nh, 72), dt_bias = random_vec(nh, 73);
    std::vector<float> a(nh);
    for (uint32_t h = 0; h < nh; ++h) a[h] = -std::exp(a_log[h]);
    const vk::Slice as = g.vec(a), dsl = g.vec(dv), bs = g.vec(dt_bias);
    std::vector<float> state = random_vec(nh * hd * d_state, 74);
    g.put(g.state, 3, state);
    for (uint32_t n : {7u, 1u, 40u, 100u, 3u}) {
      CAPTURE(n);
      const std::vector<float> xbc = random_vec(n * cwid, 80 + n), raw_dt = random_vec(n * pw, 90 + n, -4, 3);
      g.put(g.act, 0, xbc);
      g.put(g.act, 100000, raw_dt);
      vk::OpBuilder::SsdScan s{};
      s.n_heads = nh, s.head_dim = hd, s.n_groups = ng, s.d_state = d_state;
      s.x = {0, cwid}, s.b_off = di, s.c_off = di + ng * d_state;
      s.dt = {100000 + 4, pw}, s.y = {110000, di};
      s.dt_bias = bs, s.a = as, s.d = dsl, s.state = g.state.slice(), s.s_off = 3;
      s.dt_min = 0.01f, s.dt_max = 1.5f;
      std::vector<vk::Step> steps;
      REQUIRE(g.ops().ssd_scan(steps, s).is_ok());
      g.run(steps, vk::PassInfo{n, false, true});
      std::vector<float> dt(n * nh), y(n * di);
      for (uint32_t t = 0; t < n; ++t)
        for (uint32_t h = 0; h < nh; ++h)
          dt[t * nh + h] = std::clamp(cpu::softplus(raw_dt[t * pw + 4 + h] + dt_bias[h]), 0.01f, 1.5f);
      cpu::SsdScanArgs r{};
      r.n_tokens = n, r.n_heads = nh, r.head_dim = hd, r.n_groups = ng, r.d_state = d_state;
      r.x = xbc.data(), r.x_stride = cwid, r.dt = dt.data(), r.dt_stride = nh;
      r.b = xbc.data() + di, r.b_stride = cwid, r.c = xbc.data() + di + ng * d_state, r.c_stride = cwid;
      r.a = a.data(), r.d = dv.data(), r.state = state.data(), r.y = y.data(), r.y_stride = di;
      if (n >= vk::kSsdChunkedMinTokens) {
        std::vector<float> y2(n * di), state2 = state, scratch(32 * 33 + 32);
        cpu::SsdScanArgs r2 = r;
        r2.state = state2.data(), r2.y = y2.data();
        cpu::ssd_chunked_ref(r2, 32, scratch.data());
        check_close(g.get(g.act, 110000, n * di), y2, 1e-5f, "ssd_chunked y vs the CPU's chunked form");
      }
      cpu::ssd_scan_ref(r);
      check_close(g.get(g.act, 110000, n * di), y, 1e-5f, "ssd_scan y");
      check_close(g.get(g.state, 3, state.size()), state, 1e-5f, "ssd_scan state");
    }
    (void)cw;
  }
  CHECK_NO_VALIDATION_MESSAGES();
}

TEST_CASE("vulkan: top-k selection against select_top_k (ties, NaN, infinities, signed zeros)") {
  // Vocabularies of one pass, two, and (70000, k 256) five; logits on a
  // coarse grid so that many tie and the id order decides.
  for (uint32_t vocab : {1u, 7u, 1000u, 1025u, 50280u, 70000u}) {
    CAPTURE(vocab);
    const uint32_t off = 13;
    Gpu g(off + vocab);
    vk::Buffer cand = g.make(size_t(vk::top_k_pairs(vocab)) * 8, vk::Memory::kDevice);
    std::mt19937 rng(vocab);
    std::uniform_int_distribution<int> grid(-60, 60), special(0, 99);
    std::vector<float> logits(vocab);
    for (float& l : logits) {
      const int r = special(rng);
      l = r == 0 ? NAN : r == 1 ? -INFINITY : r == 2 ? INFINITY : r == 3 ? -0.0f : float(grid(rng)) * 0.125f;
    }
    g.put(g.act, off, logits);
    std::vector<uint64_t> scratch(vocab);
    for (uint32_t k : {1u, 2u, 3u, 40u, 104u, 256u}) {
      CAPTURE(k);
      uint32_t kpad = 1;
      while (kpad < k) kpad *= 2;
      std::vector<vk::Step> steps;
      auto at = g.ops().top_k(steps, vocab, off, kpad, cand.slice());
      REQUIRE_MESSAGE(at.is_ok(), at.status().message());
      g.run(steps, vk::PassInfo{1, false, true});
      const std::vector<float> raw = g.get(cand, size_t(*at) * 2, size_t(kpad) * 2);
      const size_t n = std::min<size_t>(k, vocab);
      std::vector<int32_t> want_ids(n);
      std::vector<float> want_logits(n);
      select_top_k(logits.data(), vocab, {n, want_ids.data(), want_logits.data()}, scratch.data());
      size_t bad = 0;
      for (size_t i = 0; i < n; ++i) {
        uint32_t key, id;
        std::memcpy(&key, &raw[2 * i], 4);
        std::memcpy(&id, &raw[2 * i + 1], 4);
        bad += int32_t(id) != want_ids[i] || key != order_key(want_logits[i]);
      }
      CHECK(bad == 0);
    }
    CHECK_NO_VALIDATION_MESSAGES();
  }
}

TEST_CASE("vulkan: the device is found and described") {
  auto devices = vk::list_devices();
  REQUIRE_MESSAGE(devices.is_ok(), devices.status().message());
  REQUIRE(!devices->empty());
  MESSAGE("Vulkan devices: " << devices->front());
  auto ctx = vk::Context::create(0, true);
  REQUIRE(ctx.is_ok());
  const auto& info = (*ctx)->info();
  MESSAGE(info.name << ": subgroup size " << info.subgroup_size << ", subgroup arithmetic " << info.subgroup_arithmetic
                    << ", max storage binding " << info.max_storage_buffer_range << " B, fp16 " << info.float16
                    << ", int8 " << info.int8);
  CHECK(info.max_storage_buffer_range > 0);
  auto bad = vk::Context::create(int(devices->size()), true);
  REQUIRE(!bad.is_ok());
  CHECK(bad.status().message().find("does not exist") != std::string::npos);
  CHECK(bad.status().message().find(devices->front()) != std::string::npos);
}

TEST_CASE("vulkan: the validation layer is live and its messages are counted") {
  // An invalid call (a buffer of size 0) must be reported; then the count is
  // cleared again. Run last: the other cases assert that nothing was reported.
  CHECK_NO_VALIDATION_MESSAGES();
  auto ctx = vk::Context::create(0, true);
  REQUIRE(ctx.is_ok());
  VkBufferCreateInfo bi{};
  bi.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
  bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
  VkBuffer b = VK_NULL_HANDLE;
  if (vkCreateBuffer((*ctx)->device(), &bi, nullptr, &b) == VK_SUCCESS && b)
    vkDestroyBuffer((*ctx)->device(), b, nullptr);
  CHECK(vk::validation_counts().errors > 0);
  vk::reset_validation_counts();
}
