// Flash attention entry points: the AVX2 build where the CPU has it, else the portable one.
#include "cpu.h"
#include "nn/attention_backward.h"
#include "nn/attention_forward.h"
#include "nn/tile_gemm.h"

namespace peftjs::nn {

template <typename T>
void attention_forward(const AttnConfig& c, const AttnBuffers<T>& io) {
#if PEFTJS_X86
  if (simd_level() != Simd::Portable) return attention_forward_avx2(c, io);
#endif
  flash_forward<T, LoopGemm<T>>(c, io);
}

template <typename T>
void attention_backward(const AttnConfig& c, const AttnBuffers<T>& io) {
#if PEFTJS_X86
  if (simd_level() != Simd::Portable) return attention_backward_avx2(c, io);
#endif
  flash_backward<T, LoopGemm<T>>(c, io);
}

template void attention_forward<float>(const AttnConfig&, const AttnBuffers<float>&);
template void attention_forward<double>(const AttnConfig&, const AttnBuffers<double>&);
template void attention_backward<float>(const AttnConfig&, const AttnBuffers<float>&);
template void attention_backward<double>(const AttnConfig&, const AttnBuffers<double>&);

}  // namespace peftjs::nn
