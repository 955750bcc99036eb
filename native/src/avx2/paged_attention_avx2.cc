// Paged attention built with AVX2 + FMA (the shared loop in nn/paged_attention_impl.h).
#include "nn/paged_attention_impl.h"

namespace peftjs::nn {

void paged_attention_avx2(const PagedConfig& c, const PagedPool& pool, const float* q, float* out) {
  paged_dispatch(c, pool, q, out);
}

}  // namespace peftjs::nn
