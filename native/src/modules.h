// Each native module adds its functions to the addon's exports. One line per module file.
#pragma once
#include <napi.h>

namespace peftjs {

void register_info(Napi::Env env, Napi::Object exports);         // bind_info.cc: SIMD level, threads
void register_gemm(Napi::Env env, Napi::Object exports);         // bind_gemm.cc: matrix products, FMA peak
void register_nn(Napi::Env env, Napi::Object exports);           // bind_nn.cc: softmax, norms, loss, attention, AdamW
void register_elementwise(Napi::Env env, Napi::Object exports);  // bind_elementwise.cc: strided unary/binary/copy/cast
void register_reduce(Napi::Env env, Napi::Object exports);       // bind_reduce.cc: reductions over an axis
void register_index(Napi::Env env, Napi::Object exports);        // bind_index.cc: gather/scatter, sort, cumsum
void register_linalg(Napi::Env env, Napi::Object exports);       // bind_linalg.cc: SVD, QR, solve, inverse
void register_stream_read(Napi::Env env, Napi::Object exports);  // stream_read.cc: memory read bandwidth
void register_quant(Napi::Env env, Napi::Object exports);        // bind_quant.cc: 4-bit / int8 weights, quantised linear
void register_memory(Napi::Env env, Napi::Object exports);       // bind_memory.cc: tensor buffers the GC hands back
void register_random(Napi::Env env, Napi::Object exports);       // bind_random.cc: fast normal samples for weight init
void register_ggml(Napi::Env env, Napi::Object exports);         // bind_ggml.cc: ggml block types (GGUF), their linear layer
void register_sgmv(Napi::Env env, Napi::Object exports);         // lora/bind_sgmv.cc: grouped LoRA (many adapters, one call)

}  // namespace peftjs
