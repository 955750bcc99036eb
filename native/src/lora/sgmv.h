// Grouped LoRA (Punica's SGMV, after punica/csrc/sgmv/sgmv_cutlass.cu and vLLM's
// vllm/lora/ops/triton_ops/lora_shrink.py + lora_expand.py): in one call per layer, every segment
// of batch rows adds its own adapter's update out[row] += ((x[row] A_sᵀ) * scale_s) B_sᵀ, each
// segment at its own rank (no padding to the largest one). Shrink and expand are the same sgemm
// calls, on the same rows, as linear(linear(x_rows, A) * s, B) makes per adapter, so the result is
// bit-equal to the per-adapter path.
#pragma once
#include <cstdint>

#include "gemm.h"

namespace peftjs::lora {

struct SgmvSegment {
  const int32_t* rows;  // batch rows of this segment, each checked in [0, batch)
  int64_t count;
  int64_t rank;
  float scale;
  const void* a;  // [rank, in], float32 or bf16 bits
  BType a_type;
  const void* b;  // [out, rank]
  BType b_type;
};

// x [batch, T, in] and out [batch, T, out], float32; each batch row holds T positions.
void sgmv_lora(const float* x, float* out, int64_t T, int64_t in, int64_t out_features, const SgmvSegment* segments,
               int64_t count);

}  // namespace peftjs::lora
