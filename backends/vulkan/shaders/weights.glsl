// Reading a weight matrix of any of the file's element types, bound at
// binding WEIGHTS_BINDING (0 unless defined; its quantization scales at
// binding `SCALES_BINDING`). Rows are
// `row_stride` elements apart: the host pads f32 rows to 4 elements and 16-bit
// rows to 8 so a row starts on 16 bytes; Q8 / Q4 rows are the file's (padded
// to groups of 32). One of W_F32, W_F16, W_BF16, W_Q8, W_Q4 is defined.
//
//   w_at(row, k)             one element, in f32
//   w_load8(row, k, v)       elements k .. k+7 (k a multiple of 8; rows are
//                            padded to a multiple of 8 with zeros)
//   CHUNK                    elements that w_chunk_dot reads in one go
//   w_chunk_dot(row, c, xs)  sum over the c-th CHUNK of the row of w * xs[j]
// and, for Q8 / Q4 with INT_DOT defined:
//   quantize_chunk(xs, xq, xd)             a CHUNK of x as int8 words and a scale
//   w_chunk_dot_int(row, c, xq, xd)        w_chunk_dot on the quantized chunk

#ifndef WEIGHTS_BINDING
#define WEIGHTS_BINDING 0
#endif

#if defined(W_F32)
layout(std430, binding = WEIGHTS_BINDING) readonly buffer Weights { vec4 w4[]; };
#define CHUNK 4
float w_at(uint row, uint k, uint row_stride) {
  const uint i = row * row_stride + k;
  return w4[i >> 2][i & 3u];
}
float w_chunk_dot(uint row, uint c, uint row_stride, float xs[CHUNK]) {
  const vec4 w = w4[(row * row_stride >> 2) + c];
  return w.x * xs[0] + w.y * xs[1] + w.z * xs[2] + w.w * xs[3];
}
void w_load8(uint row, uint k, uint row_stride, out float v[8]) {
  const uint i = (row * row_stride + k) >> 2;
  const vec4 a = w4[i], b = w4[i + 1];
  v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w, v[4] = b.x, v[5] = b.y, v[6] = b.z, v[7] = b.w;
}
#elif defined(W_F16) || defined(W_BF16)
layout(std430, binding = WEIGHTS_BINDING) readonly buffer Weights { uvec4 w4[]; };
#define CHUNK 8
#if defined(W_F16)
vec2 unpack2(uint v) { return unpackHalf2x16(v); }
#else
vec2 unpack2(uint v) { return vec2(uintBitsToFloat(v << 16), uintBitsToFloat(v & 0xffff0000u)); }
#endif
float w_at(uint row, uint k, uint row_stride) {
  const uint i = row * row_stride + k;  // element; two per 32-bit word
  const uint word = w4[i >> 3][(i >> 1) & 3u];
  return unpack2(word)[i & 1u];
}
void w_load8(uint row, uint k, uint row_stride, out float v[8]) {
  const uvec4 w = w4[(row * row_stride + k) >> 3];
  for (uint j = 0; j < 4; ++j) {
    const vec2 e = unpack2(w[j]);
    v[2 * j] = e.x, v[2 * j + 1] = e.y;
  }
}
float w_chunk_dot(uint row, uint c, uint row_stride, float xs[CHUNK]) {
  const uvec4 w = w4[(row * row_stride >> 3) + c];
  const vec2 a = unpack2(w.x), b = unpack2(w.y), d = unpack2(w.z), e = unpack2(w.w);
  return a.x * xs[0] + a.y * xs[1] + b.x * xs[2] + b.y * xs[3] + d.x * xs[4] + d.y * xs[5] + e.x * xs[6] + e.y * xs[7];
}
#elif defined(W_Q8) || defined(W_Q4)
// Groups of 32 along a row, one f16 scale each ([rows, row_stride / 32], two
// per word). Q8: int8 values. Q4: byte j of a group holds elements 2j (low
// nibble) and 2j + 1, stored as value + 8.
layout(std430, binding = WEIGHTS_BINDING) readonly buffer Weights { uvec4 w4[]; };
layout(std430, binding = SCALES_BINDING) readonly buffer Scales { uint scales[]; };
#define CHUNK 32
float group_scale(uint row, uint g, uint row_stride) {
  const uint i = row * (row_stride >> 5) + g;
  return unpackHalf2x16(scales[i >> 1])[i & 1u];
}
#if defined(W_Q8)
float w_at(uint row, uint k, uint row_stride) {
  const uint i = row * row_stride + k;  // byte
  const uint word = w4[i >> 4][(i >> 2) & 3u];
  const int q = bitfieldExtract(int(word), int(i & 3u) * 8, 8);
  return float(q) * group_scale(row, k >> 5, row_stride);
}
void w_load8(uint row, uint k, uint row_stride, out float v[8]) {
  const uint i = row * row_stride + k;  // byte, a multiple of 8: words 0-1 or 2-3 of a uvec4
  const uvec4 w = w4[i >> 4];
  const uint h = (i >> 2) & 2u;
  const float d = group_scale(row, k >> 5, row_stride);
  for (uint b = 0; b < 4; ++b) {
    v[b] = float(bitfieldExtract(int(w[h]), int(b) * 8, 8)) * d;
    v[4 + b] = float(bitfieldExtract(int(w[h + 1]), int(b) * 8, 8)) * d;
  }
}
float w_chunk_dot(uint row, uint c, uint row_stride, float xs[CHUNK]) {
  const uint base = (row * row_stride >> 4) + 2 * c;
  float acc = 0.0;
  for (uint h = 0; h < 2; ++h) {
    const uvec4 w = w4[base + h];
    for (uint j = 0; j < 4; ++j)
      for (uint b = 0; b < 4; ++b)
        acc += float(bitfieldExtract(int(w[j]), int(b) * 8, 8)) * xs[h * 16 + j * 4 + b];
  }
  return acc * group_scale(row, c, row_stride);
}
#else
float w_at(uint row, uint k, uint row_stride) {
  const uint i = row * row_stride + k;  // element; two per byte
  const uint word = w4[i >> 5][(i >> 3) & 3u];
  const uint q = bitfieldExtract(word, int(i & 7u) * 4, 4);
  return (float(q) - 8.0) * group_scale(row, k >> 5, row_stride);
}
void w_load8(uint row, uint k, uint row_stride, out float v[8]) {
  const uint i = row * row_stride + k;  // element, a multiple of 8: one word
  const uint word = w4[i >> 5][(i >> 3) & 3u];
  const float d = group_scale(row, k >> 5, row_stride);
  for (uint b = 0; b < 8; ++b) v[b] = (float(bitfieldExtract(word, int(b) * 4, 4)) - 8.0) * d;
}
float w_chunk_dot(uint row, uint c, uint row_stride, float xs[CHUNK]) {
  const uvec4 w = w4[(row * row_stride >> 5) + c];
  float acc = 0.0;
  for (uint j = 0; j < 4; ++j)
    for (uint b = 0; b < 8; ++b) acc += (float(bitfieldExtract(w[j], int(b) * 4, 4)) - 8.0) * xs[j * 8 + b];
  return acc * group_scale(row, c, row_stride);
}
#endif
#if defined(INT_DOT)
// Integer dot products (VK_KHR_shader_integer_dot_product, core in Vulkan
// 1.3): x's CHUNK is rounded to int8 as the CPU backend rounds activations
// (backends/cpu/kernels/gemm_quant_ref.cpp's quantize_acts: d = max|x| / 127,
// q = roundEven(x / d)), so a group's product is an exact integer sum, four
// multiply-adds per instruction. Debian's glslang has no
// GL_EXT_integer_dot_product, so OpSDot (4450) is declared through
// GL_EXT_spirv_intrinsics (capabilities DotProduct 6019, DotProductInput4x8BitPacked 6018).
#extension GL_EXT_spirv_intrinsics : require
spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6019, 6018], id = 4450)
int sdot4x8(uint a, uint b, spirv_literal int packed_format);  // packed_format 0: four int8 in a word

uint pack4x8(int a, int b, int c, int d) { return (a & 0xff) | (b & 0xff) << 8 | (c & 0xff) << 16 | uint(d) << 24; }

// x's chunk as int8 in the weights' word order: Q8, word j holds elements
// 4j .. 4j+3; Q4, words 2j and 2j+1 hold the even and the odd elements of
// 8j .. 8j+7 (the low and the high nibbles of the weights' word j). xd: the scale.
void quantize_chunk(float xs[CHUNK], out uint xq[8], out float xd) {
  float amax = 0.0;
  for (uint j = 0; j < CHUNK; ++j) amax = max(amax, abs(xs[j]));
  const float id = amax >= 1e-30 ? 127.0 / amax : 0.0;
  int q[CHUNK];
  for (uint j = 0; j < CHUNK; ++j) q[j] = int(clamp(roundEven(xs[j] * id), -127.0, 127.0));
  for (uint j = 0; j < 8; ++j) {
#if defined(W_Q8)
    xq[j] = pack4x8(q[4 * j], q[4 * j + 1], q[4 * j + 2], q[4 * j + 3]);
#else
    const uint e = 8 * (j >> 1) + (j & 1u);
    xq[j] = pack4x8(q[e], q[e + 2], q[e + 4], q[e + 6]);
#endif
  }
  xd = amax / 127.0;
}

// The c-th CHUNK of the row times x's quantized chunk, scaled.
float w_chunk_dot_int(uint row, uint c, uint row_stride, uint xq[8], float xd) {
  int isum = 0;
#if defined(W_Q8)
  const uint base = (row * row_stride >> 4) + 2 * c;
  for (uint h = 0; h < 2; ++h) {
    const uvec4 w = w4[base + h];
    for (uint j = 0; j < 4; ++j) isum += sdot4x8(w[j], xq[4 * h + j], 0);
  }
#else
  const uvec4 w = w4[(row * row_stride >> 5) + c];
  for (uint j = 0; j < 4; ++j) {
    // Nibbles v (stored value + 8) to bytes v - 8: (v | 0x80) - 8 borrows
    // nothing across bytes, and flipping the top bit again gives v - 8 mod 256.
    const uint lo = ((w[j] & 0x0f0f0f0fu) | 0x80808080u) - 0x08080808u;
    const uint hi = (((w[j] >> 4) & 0x0f0f0f0fu) | 0x80808080u) - 0x08080808u;
    isum += sdot4x8(lo ^ 0x80808080u, xq[2 * j], 0) + sdot4x8(hi ^ 0x80808080u, xq[2 * j + 1], 0);
  }
#endif
  return group_scale(row, c, row_stride) * (xd * float(isum));
}
#endif
#else
#error "define one of W_F32, W_F16, W_BF16, W_Q8, W_Q4"
#endif
