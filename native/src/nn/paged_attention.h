// Attention straight from the serve engine's paged KV pool (vLLM's paged attention, after
// vllm/csrc/attention/paged_attention_v1.cu: each sequence reads its keys and values through its
// block table; nothing is gathered into a padded batch first). The pool holds, per layer,
// [numBlocks, Hkv, blockSize, D] keys and the same for values, as float32 or bfloat16 bits; row r's
// position p lives in block blocks[r * maxBlocks + p / blockSize] at slot p % blockSize.
#pragma once
#include <cstdint>

namespace peftjs::nn {

enum class KvType { F32, BF16 };

// The rows of one step: each has `cached[r]` positions in the pool before it and Tq new ones.
struct PagedConfig {
  int64_t rows, Hq, Hkv, Tq, D;
  int64_t block_size, max_blocks;
  double scale;    // score = scale * q.k
  int64_t window;  // > 0: query at position p sees keys (p - window, p] only (Mistral)
  const int32_t* blocks;  // [rows, max_blocks], entries already checked against the pool
  const int32_t* cached;  // [rows]
};

// Where position p of kv head h of row r starts in the pool, in elements.
inline int64_t slot(const PagedConfig& c, int64_t r, int64_t h, int64_t p) {
  const int64_t block = c.blocks[r * c.max_blocks + p / c.block_size];
  return ((block * c.Hkv + h) * c.block_size + p % c.block_size) * c.D;
}

struct PagedPool {
  const void* keys;
  const void* values;
  KvType type;
};

// out [rows, Hq, Tq, D] = causal softmax(scale * q kᵀ) v for q [rows, Hq, Tq, D] (float32), query
// i of row r at position cached[r] + i seeing the row's keys up to it. The arithmetic per query is
// the decode path's (attention_decode.h) over exactly the visible keys, as batch-1 generation runs it.
void paged_attention(const PagedConfig& c, const PagedPool& pool, const float* q, float* out);
void paged_attention_avx2(const PagedConfig& c, const PagedPool& pool, const float* q, float* out);

// Writes x [rows, H, Tq, D] (the pool's element type, `bytes` per element) into positions
// [cached[r], cached[r] + Tq) of each row.
void paged_write(const PagedConfig& c, void* pool, const void* x, int64_t bytes);

// out [rows, H, width, D] (the pool's element type): each row's positions [0, cached[r] + Tq)
// right-aligned, zeros before them (a left-padded batch for the flash path).
void paged_gather(const PagedConfig& c, const void* pool, void* out, int64_t width, int64_t bytes);

}  // namespace peftjs::nn
