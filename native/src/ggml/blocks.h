// Block decoders of ggml's quantised types: ports of ggml-quants.c's dequantize_row_q4_0 ...
// dequantize_row_q8_K (ggml-org/llama.cpp, ggml/src/ggml-quants.c), one block at a time, in the same
// float operations and order. Compiled in the generic translation units (no FMA instructions) they give
// ggml's values bit for bit; the SIMD few-row kernels inline them too, where a contracted multiply-add
// is as good.
#pragma once
#include <cstdint>
#include <cstring>

#include "elementwise/half.h"
#include "ggml/ggml.h"

namespace peftjs::ggml {

inline float half_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_float(h);
}

// get_scale_min_k4: the 6-bit scale and min of sub-block j (0-7) of a Q4_K / Q5_K block's 12 scale bytes.
inline void scale_min_k4(int j, const uint8_t* q, uint8_t* d, uint8_t* m) {
  if (j < 4) {
    *d = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4);
  }
}

template <Type T>
struct Block;

template <>
struct Block<Type::Q4_0> {  // d (f16), qs[16]: x = (nibble - 8) * d, low nibbles first
  static constexpr int kElements = 32, kBytes = 18;
  static void decode(const uint8_t* b, float* y) {
    const float d = half_at(b);
    for (int j = 0; j < 16; ++j) {
      y[j] = ((b[2 + j] & 0x0F) - 8) * d;
      y[j + 16] = ((b[2 + j] >> 4) - 8) * d;
    }
  }
};

template <>
struct Block<Type::Q4_1> {  // d, m (f16), qs[16]: x = nibble * d + m
  static constexpr int kElements = 32, kBytes = 20;
  static void decode(const uint8_t* b, float* y) {
    const float d = half_at(b), m = half_at(b + 2);
    for (int j = 0; j < 16; ++j) {
      y[j] = (b[4 + j] & 0x0F) * d + m;
      y[j + 16] = (b[4 + j] >> 4) * d + m;
    }
  }
};

inline uint32_t high_bits(const uint8_t* p) {
  uint32_t qh;
  std::memcpy(&qh, p, 4);
  return qh;
}

template <>
struct Block<Type::Q5_0> {  // d, qh[4], qs[16]: x = ((nibble | fifth bit << 4) - 16) * d
  static constexpr int kElements = 32, kBytes = 22;
  static void decode(const uint8_t* b, float* y) {
    const float d = half_at(b);
    const uint32_t qh = high_bits(b + 2);
    for (int j = 0; j < 16; ++j) {
      const int h0 = ((qh >> j) << 4) & 0x10, h1 = (qh >> (j + 12)) & 0x10;
      y[j] = (((b[6 + j] & 0x0F) | h0) - 16) * d;
      y[j + 16] = (((b[6 + j] >> 4) | h1) - 16) * d;
    }
  }
};

template <>
struct Block<Type::Q5_1> {  // d, m, qh[4], qs[16]: x = (nibble | fifth bit << 4) * d + m
  static constexpr int kElements = 32, kBytes = 24;
  static void decode(const uint8_t* b, float* y) {
    const float d = half_at(b), m = half_at(b + 2);
    const uint32_t qh = high_bits(b + 4);
    for (int j = 0; j < 16; ++j) {
      const int h0 = ((qh >> j) << 4) & 0x10, h1 = (qh >> (j + 12)) & 0x10;
      y[j] = ((b[8 + j] & 0x0F) | h0) * d + m;
      y[j + 16] = ((b[8 + j] >> 4) | h1) * d + m;
    }
  }
};

template <>
struct Block<Type::Q8_0> {  // d, qs[32] (int8): x = qs * d
  static constexpr int kElements = 32, kBytes = 34;
  static void decode(const uint8_t* b, float* y) {
    const float d = half_at(b);
    for (int j = 0; j < 32; ++j) y[j] = static_cast<int8_t>(b[2 + j]) * d;
  }
};

template <>
struct Block<Type::Q4_K> {  // d, dmin, scales[12], qs[128]: x = d * scale * nibble - dmin * min
  static constexpr int kElements = 256, kBytes = 144;
  static void decode(const uint8_t* b, float* y) {
    const float d = half_at(b), min = half_at(b + 2);
    const uint8_t* q = b + 16;
    for (int i = 0; i < 4; ++i, q += 32, y += 64) {
      uint8_t sc, m;
      scale_min_k4(2 * i, b + 4, &sc, &m);
      const float d1 = d * sc, m1 = min * m;
      scale_min_k4(2 * i + 1, b + 4, &sc, &m);
      const float d2 = d * sc, m2 = min * m;
      for (int l = 0; l < 32; ++l) y[l] = d1 * (q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) y[32 + l] = d2 * (q[l] >> 4) - m2;
    }
  }
};

template <>
struct Block<Type::Q5_K> {  // d, dmin, scales[12], qh[32], qs[128]: Q4_K with a fifth bit from qh
  static constexpr int kElements = 256, kBytes = 176;
  static void decode(const uint8_t* b, float* y) {
    const float d = half_at(b), min = half_at(b + 2);
    const uint8_t* qh = b + 16;
    const uint8_t* ql = b + 48;
    for (int i = 0; i < 4; ++i, ql += 32, y += 64) {
      uint8_t sc, m;
      scale_min_k4(2 * i, b + 4, &sc, &m);
      const float d1 = d * sc, m1 = min * m;
      scale_min_k4(2 * i + 1, b + 4, &sc, &m);
      const float d2 = d * sc, m2 = min * m;
      const uint8_t u1 = 1 << (2 * i), u2 = 2 << (2 * i);
      for (int l = 0; l < 32; ++l) y[l] = d1 * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l) y[32 + l] = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
    }
  }
};

template <>
struct Block<Type::Q6_K> {  // ql[128], qh[64], scales[16] (int8), d: x = d * scale * (6-bit q - 32)
  static constexpr int kElements = 256, kBytes = 210;
  static void decode(const uint8_t* b, float* y) {
    const float d = half_at(b + 208);
    const uint8_t* ql = b;
    const uint8_t* qh = b + 128;
    const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
    for (int n = 0; n < 2; ++n, y += 128, ql += 64, qh += 32, sc += 8) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = static_cast<int8_t>((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = static_cast<int8_t>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = static_cast<int8_t>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = static_cast<int8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * sc[is + 0] * q1;
        y[l + 32] = d * sc[is + 2] * q2;
        y[l + 64] = d * sc[is + 4] * q3;
        y[l + 96] = d * sc[is + 6] * q4;
      }
    }
  }
};

template <>
struct Block<Type::Q8_K> {  // d (f32), qs[256] (int8), bsums[16]: x = qs * d
  static constexpr int kElements = 256, kBytes = 292;
  static void decode(const uint8_t* b, float* y) {
    float d;
    std::memcpy(&d, b, 4);
    for (int j = 0; j < 256; ++j) y[j] = static_cast<int8_t>(b[4 + j]) * d;
  }
};

// fn(Block<T>{}) for the runtime type t: one case per block type.
template <typename Fn>
auto with_block(Type t, Fn&& fn) {
  switch (t) {
    case Type::Q4_0: return fn(Block<Type::Q4_0>{});
    case Type::Q4_1: return fn(Block<Type::Q4_1>{});
    case Type::Q5_0: return fn(Block<Type::Q5_0>{});
    case Type::Q5_1: return fn(Block<Type::Q5_1>{});
    case Type::Q8_0: return fn(Block<Type::Q8_0>{});
    case Type::Q4_K: return fn(Block<Type::Q4_K>{});
    case Type::Q5_K: return fn(Block<Type::Q5_K>{});
    case Type::Q6_K: return fn(Block<Type::Q6_K>{});
    default: return fn(Block<Type::Q8_K>{});
  }
}

}  // namespace peftjs::ggml
