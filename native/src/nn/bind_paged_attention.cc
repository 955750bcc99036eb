// JavaScript bindings of the paged KV pool's kernels (declared in src/tensor/native/nn.ts):
// pagedKvWrite, pagedKvGather, pagedAttention. Every block id and length is checked against the
// pool before any memory is touched.
#include <string>

#include "nn/args.h"
#include "nn/paged_attention.h"

namespace peftjs::nn {
namespace {

// A pool or x buffer: Float32Array (float32) or Uint16Array (bfloat16 bits), with its element count.
struct KvArray {
  void* data;
  int64_t length;
  KvType type;
  int64_t bytes() const { return type == KvType::F32 ? 4 : 2; }
};

KvArray kv_array(const Args& a, const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsTypedArray()) throw Napi::TypeError::New(a.env(), a.prefix() + name + " must be a typed array");
  const auto array = info[i].As<Napi::TypedArray>();
  const napi_typedarray_type type = array.TypedArrayType();
  if (type != napi_float32_array && type != napi_uint16_array) {
    throw Napi::TypeError::New(a.env(), a.prefix() + name + " must be a Float32Array (float32) or Uint16Array (bfloat16 bits)");
  }
  return {ptr<uint8_t>(info[i]), static_cast<int64_t>(array.ElementLength()), type == napi_float32_array ? KvType::F32 : KvType::BF16};
}

const int32_t* int32s(const Args& a, const Napi::CallbackInfo& info, size_t i, const char* name, int64_t expected) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(a.env(), a.prefix() + name + " must be an Int32Array");
  }
  const int64_t have = static_cast<int64_t>(info[i].As<Napi::TypedArray>().ElementLength());
  if (have != expected) a.range_error(std::string(name) + " has " + std::to_string(have) + " elements; expected " + std::to_string(expected));
  return ptr<int32_t>(info[i]);
}

// The sizes rows, heads, Tq, D, blockSize, maxBlocks from argument i, and the block table and
// cached lengths at arguments t and t + 1, checked against a pool of `pool_length` elements.
PagedConfig paged_config(const Args& a, const Napi::CallbackInfo& info, size_t i, size_t t, int64_t pool_length) {
  PagedConfig c{};
  c.rows = a.size(i, "rows");
  c.Hkv = a.size(i + 1, "kvHeads");
  c.Tq = a.size(i + 2, "fresh");
  c.D = a.size(i + 3, "D");
  c.block_size = a.size(i + 4, "blockSize");
  c.max_blocks = a.size(i + 5, "maxBlocks");
  c.Hq = c.Hkv;
  if (c.Hkv < 1 || c.D < 1 || c.block_size < 1) a.range_error("kvHeads, D and blockSize must be at least 1");
  std::string what;
  const int64_t per_block = a.product({{"kvHeads", c.Hkv}, {"blockSize", c.block_size}, {"D", c.D}}, what);
  if (pool_length % per_block != 0) a.range_error("the pool has " + std::to_string(pool_length) + " elements, not a multiple of " + what);
  const int64_t num_blocks = pool_length / per_block;
  c.blocks = int32s(a, info, t, "blocks", c.rows * c.max_blocks);
  c.cached = int32s(a, info, t + 1, "cached", c.rows);
  for (int64_t r = 0; r < c.rows; ++r) {
    const int64_t total = static_cast<int64_t>(c.cached[r]) + c.Tq;
    if (c.cached[r] < 0 || total > c.max_blocks * c.block_size) {
      a.range_error("row " + std::to_string(r) + " has " + std::to_string(c.cached[r]) + " cached + " + std::to_string(c.Tq) +
                    " new positions; its block table holds " + std::to_string(c.max_blocks * c.block_size));
    }
    for (int64_t b = 0; b * c.block_size < total; ++b) {
      const int32_t id = c.blocks[r * c.max_blocks + b];
      if (id < 0 || id >= num_blocks) {
        a.range_error("row " + std::to_string(r) + " block " + std::to_string(b) + " is " + std::to_string(id) + "; the pool has " +
                      std::to_string(num_blocks) + " blocks");
      }
    }
  }
  return c;
}

void check_length(const Args& a, const KvArray& x, const char* name, int64_t expected) {
  if (x.length != expected) a.range_error(std::string(name) + " has " + std::to_string(x.length) + " elements; expected " + std::to_string(expected));
}

}  // namespace

void register_paged_attention(Napi::Env env, Napi::Object exports) {
  // pagedKvWrite(pool, x, blocks, cached, rows, kvHeads, fresh, D, blockSize, maxBlocks)
  exports.Set("pagedKvWrite", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    const Args a(info, "pagedKvWrite", 10);
    const KvArray pool = kv_array(a, info, 0, "pool"), x = kv_array(a, info, 1, "x");
    if (x.type != pool.type) throw Napi::TypeError::New(a.env(), a.prefix() + "x must have the pool's type");
    const PagedConfig c = paged_config(a, info, 4, 2, pool.length);
    check_length(a, x, "x", c.rows * c.Hkv * c.Tq * c.D);
    paged_write(c, pool.data, x.data, pool.bytes());
  }, "pagedKvWrite"));
  // pagedKvGather(pool, out, blocks, cached, rows, kvHeads, fresh, D, blockSize, maxBlocks, width)
  exports.Set("pagedKvGather", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    const Args a(info, "pagedKvGather", 11);
    const KvArray pool = kv_array(a, info, 0, "pool"), out = kv_array(a, info, 1, "out");
    if (out.type != pool.type) throw Napi::TypeError::New(a.env(), a.prefix() + "out must have the pool's type");
    const PagedConfig c = paged_config(a, info, 4, 2, pool.length);
    const int64_t width = a.size(10, "width");
    for (int64_t r = 0; r < c.rows; ++r) {
      if (c.cached[r] + c.Tq > width) a.range_error("width " + std::to_string(width) + " is shorter than row " + std::to_string(r));
    }
    check_length(a, out, "out", c.rows * c.Hkv * width * c.D);
    paged_gather(c, pool.data, out.data, width, pool.bytes());
  }, "pagedKvGather"));
  // pagedAttention(q, keys, values, blocks, cached, out, rows, kvHeads, fresh, D, blockSize, maxBlocks, Hq, scale, window)
  exports.Set("pagedAttention", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    const Args a(info, "pagedAttention", 15);
    const KvArray keys = kv_array(a, info, 1, "keys"), values = kv_array(a, info, 2, "values");
    if (keys.type != values.type || keys.length != values.length) throw Napi::TypeError::New(a.env(), a.prefix() + "keys and values must be pools of one type and size");
    PagedConfig c = paged_config(a, info, 6, 3, keys.length);
    c.Hq = a.size(12, "Hq");
    if (c.Hq < 1 || c.Hq % c.Hkv != 0) a.range_error("Hq (" + std::to_string(c.Hq) + ") must be a positive multiple of kvHeads (" + std::to_string(c.Hkv) + ")");
    c.scale = a.number(13, "scale");
    c.window = a.size(14, "window");
    std::string what;
    const int64_t nq = a.product({{"rows", c.rows}, {"Hq", c.Hq}, {"fresh", c.Tq}, {"D", c.D}}, what);
    const float* q = a.floats<float>(0, "q", nq, what);
    float* out = a.floats<float>(5, "out", nq, what);
    paged_attention(c, {keys.data, values.data, keys.type}, q, out);
  }, "pagedAttention"));
}

}  // namespace peftjs::nn
