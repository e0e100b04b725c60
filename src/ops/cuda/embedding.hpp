// CUDA launchers for the token embedding (ops/embedding.hpp): gather rows forward; backward as a sorted
// (deterministic, atomic-free) scatter-add: tokens grouped by id on the host, each id's rows summed in fp32.
#pragma once
#include <cstdint>

#include "core/dtype.hpp"
#include "ops/cuda/runtime.hpp"

namespace zt::cuda {

// out (T, C) = table[ids]; table (V, C); ids i32 (T) on the GPU, already validated.
void embedding_forward(void* out, const void* table, const int32_t* ids, DType dt, int64_t T, int64_t C,
                       cudaStream_t stream);
// dtable (V, C) += scatter of dout (T, C) by ids; ids_host i32 (T) on the host, validated; dtable of dout's dtype or f32.
void embedding_backward(void* dtable, DType dtable_t, const void* dout, DType dt, const int32_t* ids_host, int64_t T,
                        int64_t C, Context& ctx);

}  // namespace zt::cuda
