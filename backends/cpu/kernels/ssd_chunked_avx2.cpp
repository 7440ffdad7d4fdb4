// AVX2+FMA chunked ("SSD") form of the Mamba-2 recurrence; the math is that
// of ssd_chunked_ref.cpp. Per chunk of L tokens (i, j local token indices,
// n the state index, q the index within the head):
//   per group:  Bᵀ[n][j] = B[j][n];  G = C·Bᵀ                       [L][L]
//   per head:   M[i][j] = G[i][j] * P(i,j) * dt_j  (j <= i, else 0)
//               Y = P0 ∘ (C·Sᵀ) + M·X + D·X                         [L][P]
//               Sᵀ = P0(L-1)·Sᵀ + Bᵀ·(w ∘ X),  w_j = P(L-1,j)·dt_j    [N][P]
// The state is kept transposed (Sᵀ, [d_state][head_dim]) while a call runs so
// that every product reads rows of its right-hand matrix (Sᵀ, X, Bᵀ, w∘X)
// and broadcasts scalars of its left-hand one (C, M, Bᵀ): one register-blocked
// micro-kernel (6 rows × 16 columns, 12 accumulators) serves all three.
//
// Threads: first the groups' G and Bᵀ for every chunk (tasks: group × chunk),
// then the heads (tasks: one head, all chunks in order). Each task's result
// does not depend on which thread runs it, so any pool gives the same bits.
#include "backends/cpu/kernels/exp_avx2.h"
#include "backends/cpu/kernels/kernels_avx2.h"
#include "backends/cpu/kernels/ssd_chunked_layout.h"

namespace eidetic::cpu {
namespace {

constexpr size_t kMR = 6;              // rows per micro-tile
constexpr float kTiny = 1.17549435e-38f;  // FLT_MIN: decay products below it become 0

// acc[r][v] += sum_{k < K} a[r*lda + k] * b[k*ldb + 8v .. 8v+7]. NV vectors of
// columns; with kMask the last one is loaded under mask m.
template <size_t MR, size_t NV, bool kMask>
inline void accumulate(const float* a, size_t lda, const float* b, size_t ldb, size_t K,
                       __m256 (&acc)[kMR][2], __m256i m) {
  for (size_t k = 0; k < K; ++k) {
    const float* bk = b + k * ldb;
    __m256 b0, b1 = _mm256_setzero_ps();
    if (NV == 1) {
      b0 = kMask ? _mm256_maskload_ps(bk, m) : _mm256_loadu_ps(bk);
    } else {
      b0 = _mm256_loadu_ps(bk);
      b1 = kMask ? _mm256_maskload_ps(bk + 8, m) : _mm256_loadu_ps(bk + 8);
    }
    for (size_t r = 0; r < MR; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r * lda + k);
      acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
      if (NV == 2) acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
    }
  }
}

template <size_t NV, bool kMask>
inline __m256 load_v(const float* p, size_t v, __m256i m) {
  return (kMask && v == NV - 1) ? _mm256_maskload_ps(p + 8 * v, m) : _mm256_loadu_ps(p + 8 * v);
}
template <size_t NV, bool kMask>
inline void store_v(float* p, size_t v, __m256i m, __m256 x) {
  if (kMask && v == NV - 1) _mm256_maskstore_ps(p + 8 * v, m, x); else _mm256_storeu_ps(p + 8 * v, x);
}

// Calls f.template tile<NV, kMask>(col0, mask) for column tiles of 16 over
// [0, cols): full tiles unmasked, the last one as 1 or 2 vectors, masked if
// it is not a whole number of vectors.
template <class F>
inline void for_col_tiles(size_t cols, F& f) {
  size_t c0 = 0;
  const __m256i all = _mm256_set1_epi32(-1);
  for (; c0 + 16 <= cols; c0 += 16) f.template tile<2, false>(c0, all);
  const size_t rest = cols - c0;
  if (rest == 0) return;
  if (rest > 8) {
    if (rest == 16) f.template tile<2, false>(c0, all);
    else f.template tile<2, true>(c0, lane_mask(rest - 8));
  } else {
    if (rest == 8) f.template tile<1, false>(c0, all);
    else f.template tile<1, true>(c0, lane_mask(rest));
  }
}

// Calls f.template rows<MR>(row0) over [0, rows) in tiles of kMR rows.
template <class F>
inline void for_row_tiles(size_t rows, F& f) {
  size_t r0 = 0;
  for (; r0 + kMR <= rows; r0 += kMR) f.template rows<kMR>(r0);
  switch (rows - r0) {
    case 1: f.template rows<1>(r0); break;
    case 2: f.template rows<2>(r0); break;
    case 3: f.template rows<3>(r0); break;
    case 4: f.template rows<4>(r0); break;
    case 5: f.template rows<5>(r0); break;
    default: break;
  }
}

struct Ctx {
  const SsdScanArgs* p;
  SsdChunkedLayout lay;
  float* scratch;
  size_t heads_per_group;
};

// A row-tile functor that remembers its MR for the column tiles it runs.
template <class Base>
struct RowTiled : Base {
  size_t mr = 0;
  template <size_t MR> void rows(size_t r0) {
    this->row0 = r0;
    mr = MR;
    for_col_tiles(this->cols(), *this);
  }
  template <size_t NV, bool kMask> void tile(size_t c0, __m256i m) {
    switch (mr) {
      case 1: this->template run<1, NV, kMask>(c0, m); break;
      case 2: this->template run<2, NV, kMask>(c0, m); break;
      case 3: this->template run<3, NV, kMask>(c0, m); break;
      case 4: this->template run<4, NV, kMask>(c0, m); break;
      case 5: this->template run<5, NV, kMask>(c0, m); break;
      default: this->template run<kMR, NV, kMask>(c0, m); break;
    }
  }
};

// ---------------------------------------------------------------- per group
// G[i][:] = sum_n C[i][n] Bᵀ[n][:] for rows i of the chunk (Lp columns).
struct GBase {
  const float* c; size_t c_stride;
  const float* bt; size_t lp, n;
  float* g;
  size_t row0 = 0;
  size_t cols() const { return lp; }
  template <size_t MR, size_t NV, bool kMask> void run(size_t c0, __m256i m) {
    __m256 acc[kMR][2];
    for (size_t r = 0; r < kMR; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    accumulate<MR, NV, kMask>(c + row0 * c_stride, c_stride, bt + c0, lp, n, acc, m);
    for (size_t r = 0; r < MR; ++r)
      for (size_t v = 0; v < NV; ++v) store_v<NV, kMask>(g + (row0 + r) * lp + c0, v, m, acc[r][v]);
  }
};

void group_task(void* context, size_t task) {
  const Ctx& cx = *static_cast<const Ctx*>(context);
  const SsdScanArgs& p = *cx.p;
  const SsdChunkedLayout& s = cx.lay;
  const size_t g = task / s.n_chunks, ch = task % s.n_chunks, N = p.d_state;
  const size_t t0 = ch * s.L, lc = min_size(s.L, p.n_tokens - t0);
  float* bt = s.group_block(cx.scratch, g, ch);
  float* gm = bt + N * s.Lp;
  for (size_t n = 0; n < N; ++n) {
    float* row = bt + n * s.Lp;
    for (size_t j = 0; j < lc; ++j) row[j] = p.b[(t0 + j) * p.b_stride + g * N + n];
    for (size_t j = lc; j < s.Lp; ++j) row[j] = 0.0f;
  }
  RowTiled<GBase> f;
  f.c = p.c + t0 * p.c_stride + g * N, f.c_stride = p.c_stride;
  f.bt = bt, f.lp = s.Lp, f.n = N, f.g = gm;
  for_row_tiles(lc, f);
}

// ---------------------------------------------------------------- per head
// Y rows of the chunk: P0(i) * (C·Sᵀ)[i] + (M·X)[i] + D x_i.
struct YBase {
  const float* c; size_t c_stride;   // C rows of the chunk
  const float* st; size_t pp, n;     // Sᵀ [n][pp]
  const float* mm; size_t lp, lc;    // M [lc][lp]
  const float* x; size_t x_stride;   // X rows of the chunk, this head
  const float* dm; size_t dm_stride; // P0(i) = dm[i * dm_stride]
  float* y; size_t y_stride;
  float d; size_t cols_;
  size_t row0 = 0;
  size_t cols() const { return cols_; }
  template <size_t MR, size_t NV, bool kMask> void run(size_t c0, __m256i m) {
    __m256 acc[kMR][2];
    for (size_t r = 0; r < kMR; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    accumulate<MR, NV, kMask>(c + row0 * c_stride, c_stride, st + c0, pp, n, acc, m);
    for (size_t r = 0; r < MR; ++r) {
      const __m256 p0 = _mm256_set1_ps(dm[(row0 + r) * dm_stride]);
      for (size_t v = 0; v < NV; ++v) acc[r][v] = _mm256_mul_ps(acc[r][v], p0);
    }
    // M is zero above its diagonal: tokens after the tile's last row add nothing.
    accumulate<MR, NV, kMask>(mm + row0 * lp, lp, x + c0, x_stride, min_size(row0 + MR, lc), acc, m);
    const __m256 dv = _mm256_set1_ps(d);
    for (size_t r = 0; r < MR; ++r)
      for (size_t v = 0; v < NV; ++v) {
        const __m256 xv = load_v<NV, kMask>(x + (row0 + r) * x_stride + c0, v, m);
        store_v<NV, kMask>(y + (row0 + r) * y_stride + c0, v, m, _mm256_fmadd_ps(dv, xv, acc[r][v]));
      }
  }
};

// Sᵀ rows: P0(L-1) * Sᵀ[n] + (Bᵀ·Xw)[n], in place.
struct SBase {
  const float* bt; size_t lp, lc;  // Bᵀ [n][lp]
  const float* xw; size_t pp;      // w∘X [lc][pp]
  float* st;                       // Sᵀ [n][pp]
  float decay;
  size_t row0 = 0;
  size_t cols() const { return pp; }
  template <size_t MR, size_t NV, bool kMask> void run(size_t c0, __m256i m) {
    __m256 acc[kMR][2];
    const __m256 dv = _mm256_set1_ps(decay);
    for (size_t r = 0; r < kMR; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (size_t r = 0; r < MR; ++r)
      for (size_t v = 0; v < NV; ++v) acc[r][v] = _mm256_mul_ps(dv, load_v<NV, kMask>(st + (row0 + r) * pp + c0, v, m));
    accumulate<MR, NV, kMask>(bt + row0 * lp, lp, xw + c0, pp, lc, acc, m);
    for (size_t r = 0; r < MR; ++r)
      for (size_t v = 0; v < NV; ++v) store_v<NV, kMask>(st + (row0 + r) * pp + c0, v, m, acc[r][v]);
  }
};

void head_task(void* context, size_t h) {
  const Ctx& cx = *static_cast<const Ctx*>(context);
  const SsdScanArgs& p = *cx.p;
  const SsdChunkedLayout& s = cx.lay;
  const size_t N = p.d_state, P = p.head_dim, L = s.L, g = h / cx.heads_per_group;
  float* st = s.head_block(cx.scratch, h);  // [N][Pp]
  float* dm = st + N * s.Pp;                // [L][L+1]
  float* mm = dm + L * (L + 1);             // [L][Lp]
  float* xw = mm + L * s.Lp;                // [L][Pp]
  float* state = p.state + h * P * N;       // [P][N]
  for (size_t n = 0; n < N; ++n) {
    float* row = st + n * s.Pp;
    for (size_t q = 0; q < P; ++q) row[q] = state[q * N + n];
    for (size_t q = P; q < s.Pp; ++q) row[q] = 0.0f;
  }
  const float a = p.a[h];
  for (size_t ch = 0; ch < s.n_chunks; ++ch) {
    const size_t t0 = ch * L, lc = min_size(L, p.n_tokens - t0);
    const float* bt = s.group_block(cx.scratch, g, ch);
    const float* gm = bt + N * s.Lp;
    const float* dt = p.dt + t0 * p.dt_stride + h;
    const float* x = p.x + t0 * p.x_stride + h * P;
    // Decay products (see ssd_chunked_ref.cpp), flushed to 0 below FLT_MIN.
    for (size_t i = 0; i < lc; ++i) {
      const float dec = expf(dt[i * p.dt_stride] * a);
      float* row = dm + i * (L + 1);
      for (size_t j = 0; j <= i; ++j) {
        const float v = (i ? row[j - (L + 1)] : 1.0f) * dec;
        row[j] = v < kTiny ? 0.0f : v;
      }
      row[i + 1] = 1.0f;
    }
    for (size_t i = 0; i < lc; ++i) {
      const float* drow = dm + i * (L + 1);
      float* mrow = mm + i * s.Lp;
      for (size_t j = 0; j <= i; ++j) mrow[j] = gm[i * s.Lp + j] * drow[j + 1] * dt[j * p.dt_stride];
      for (size_t j = i + 1; j < s.Lp; ++j) mrow[j] = 0.0f;
    }
    RowTiled<YBase> fy;
    fy.c = p.c + t0 * p.c_stride + g * N, fy.c_stride = p.c_stride;
    fy.st = st, fy.pp = s.Pp, fy.n = N;
    fy.mm = mm, fy.lp = s.Lp, fy.lc = lc;
    fy.x = x, fy.x_stride = p.x_stride;
    fy.dm = dm, fy.dm_stride = L + 1;
    fy.y = p.y + t0 * p.y_stride + h * P, fy.y_stride = p.y_stride;
    fy.d = p.d[h], fy.cols_ = P;
    for_row_tiles(lc, fy);

    const float* last = dm + (lc - 1) * (L + 1);
    for (size_t j = 0; j < lc; ++j) {
      const float w = last[j + 1] * dt[j * p.dt_stride];
      float* row = xw + j * s.Pp;
      for (size_t q = 0; q < P; ++q) row[q] = w * x[j * p.x_stride + q];
      for (size_t q = P; q < s.Pp; ++q) row[q] = 0.0f;
    }
    RowTiled<SBase> fs;
    fs.bt = bt, fs.lp = s.Lp, fs.lc = lc;
    fs.xw = xw, fs.pp = s.Pp, fs.st = st, fs.decay = last[0];
    for_row_tiles(N, fs);
  }
  for (size_t q = 0; q < P; ++q)
    for (size_t n = 0; n < N; ++n) state[q * N + n] = st[n * s.Pp + q];
}

}  // namespace

void ssd_chunked_avx2(const SsdScanArgs& p, size_t chunk, float* scratch, pthreadpool_t pool) {
  const size_t L = ssd_chunk_length(chunk, p.n_tokens);
  if (L == 0) return;
  Ctx cx{&p, ssd_chunked_layout(p.n_tokens, p.n_heads, p.head_dim, p.n_groups, p.d_state, L), scratch,
         p.n_heads / p.n_groups};
  pthreadpool_parallelize_1d(pool, group_task, &cx, p.n_groups * cx.lay.n_chunks, 0);
  pthreadpool_parallelize_1d(pool, head_task, &cx, p.n_heads, 0);
}

}  // namespace eidetic::cpu
