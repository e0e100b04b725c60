// CUDA launchers for counter-based dropout (ops/dropout.hpp): element i is kept when dropout_keep(spec, i),
// exactly as the CPU kernels decide, so both backends drop the same elements. Used by LoRA too.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "core/dtype.hpp"
#include "ops/common.hpp"

namespace zt::cuda {

// out (n) = keep(i) ? x * 1/(1-p) : 0; out may alias x. Serves backward too (dout -> dx).
void dropout_apply(void* out, const void* x, DType dt, int64_t n, const ops::DropoutSpec& d, cudaStream_t stream);
// dst (n) += keep(i) ? src * 1/(1-p) : 0
void dropout_accumulate(void* dst, const void* src, DType dt, int64_t n, const ops::DropoutSpec& d, cudaStream_t stream);

}  // namespace zt::cuda
