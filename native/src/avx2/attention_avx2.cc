// Flash attention built with AVX2 + FMA: the shared drivers over the AVX2 tile product.
#include "avx2/tile_gemm_avx2.h"
#include "nn/attention_backward.h"
#include "nn/attention_forward.h"

namespace peftjs::nn {

void attention_forward_avx2(const AttnConfig& c, const AttnBuffers<float>& io) {
  flash_forward<float, AvxGemm<float>>(c, io);
}

void attention_forward_avx2(const AttnConfig& c, const AttnBuffers<double>& io) {
  flash_forward<double, AvxGemm<double>>(c, io);
}

void attention_backward_avx2(const AttnConfig& c, const AttnBuffers<float>& io) {
  flash_backward<float, AvxGemm<float>>(c, io);
}

void attention_backward_avx2(const AttnConfig& c, const AttnBuffers<double>& io) {
  flash_backward<double, AvxGemm<double>>(c, io);
}

}  // namespace peftjs::nn
