// CPU kernels for rotary embeddings: the inverse-frequency schedules (default, llama3) and the rotation itself.
// Frequencies and angles are fp32 like transformers; the rotation runs in the tensor's precision.
#include "ops/cpu/rope.hpp"

#include <cmath>
#include <vector>

#include "ops/cpu/parallel.hpp"

namespace zt::ops::cpu {

void rope_inv_freq_default(float* inv_freq, int head_dim, double theta) {
  // torch: 1.0 / (base ** (arange(0, dim, 2).float() / dim)), every step in fp32.
  const float base = float(theta);
  for (int i = 0; i < head_dim / 2; ++i) {
    const float e = float(2 * i) / float(head_dim);
    inv_freq[i] = 1.0f / std::pow(base, e);
  }
}

void rope_inv_freq_llama3(float* inv_freq, int half, double factor, double low_freq_factor, double high_freq_factor,
                          double original_max_position_embeddings) {
  // Mirrors the tensor expressions of transformers' _compute_llama3_parameters; python scalars enter fp32 ops
  // as fp32, and `scalar / tensor` is evaluated by torch as reciprocal(tensor) * scalar.
  const float f = float(factor), lo = float(low_freq_factor);
  const float old_ctx = float(original_max_position_embeddings);
  const float low_freq_wavelen = float(original_max_position_embeddings / low_freq_factor);
  const float high_freq_wavelen = float(original_max_position_embeddings / high_freq_factor);
  const float two_pi = float(2.0 * M_PI);
  const float hi_minus_lo = float(high_freq_factor - low_freq_factor);
  for (int i = 0; i < half; ++i) {
    const float inv = inv_freq[i];
    const float wavelen = (1.0f / inv) * two_pi;
    const float llama = wavelen > low_freq_wavelen ? inv / f : inv;
    const float smooth = ((1.0f / wavelen) * old_ctx - lo) / hi_minus_lo;
    const float smoothed = (1.0f - smooth) * llama / f + smooth * llama;
    const bool medium = !(wavelen < high_freq_wavelen) && !(wavelen > low_freq_wavelen);
    inv_freq[i] = medium ? smoothed : llama;
  }
}

template <class F>
void rope_apply(F* x, const int32_t* positions, const float* inv_freq, int64_t T, int64_t H, int64_t D, bool inverse) {
  const int64_t half = D / 2;
#pragma omp parallel if (T * H * D >= kMinParallelWork)
  {
    std::vector<F> cs(size_t(2 * half));  // (2, D/2) cos then sin for the current token
#pragma omp for schedule(static)
    for (int64_t t = 0; t < T; ++t) {
      const float pos = float(positions[t]);
      for (int64_t i = 0; i < half; ++i) {
        const float angle = pos * inv_freq[i];
        if constexpr (sizeof(F) == sizeof(float)) {
          cs[i] = std::cos(angle);
          cs[half + i] = std::sin(angle);
        } else {
          cs[i] = std::cos(double(angle));
          cs[half + i] = std::sin(double(angle));
        }
      }
      const F* c = cs.data();
      const F* s = cs.data() + half;
      for (int64_t h = 0; h < H; ++h) {
        F* v = x + (t * H + h) * D;
        if (!inverse) {
          for (int64_t i = 0; i < half; ++i) {
            const F a = v[i], b = v[i + half];
            v[i] = a * c[i] - b * s[i];
            v[i + half] = b * c[i] + a * s[i];
          }
        } else {
          for (int64_t i = 0; i < half; ++i) {
            const F a = v[i], b = v[i + half];
            v[i] = a * c[i] + b * s[i];
            v[i + half] = b * c[i] - a * s[i];
          }
        }
      }
    }
  }
}

template void rope_apply<float>(float*, const int32_t*, const float*, int64_t, int64_t, int64_t, bool);
template void rope_apply<double>(double*, const int32_t*, const float*, int64_t, int64_t, int64_t, bool);

}  // namespace zt::ops::cpu
