// CUDA launchers for SwiGLU (ops/activation.hpp): out = silu(gate) * up in fp32, stored in the tensors' dtype.
// Gradients are written (=); each element reads its inputs before writing, so outputs may alias inputs.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "core/dtype.hpp"

namespace zt::cuda {

// out, gate, up (n)
void swiglu_forward(void* out, const void* gate, const void* up, DType dt, int64_t n, cudaStream_t stream);
// dgate, dup (n) =; dout, gate, up (n)
void swiglu_backward(void* dgate, void* dup, const void* dout, const void* gate, const void* up, DType dt, int64_t n,
                     cudaStream_t stream);

}  // namespace zt::cuda
