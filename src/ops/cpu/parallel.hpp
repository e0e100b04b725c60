// The work threshold below which CPU kernels stay on the calling thread: starting an OpenMP team costs more
// than a few thousand flops, and tiny models and finite-difference tests run many small ops.
#pragma once
#include <cstdint>

namespace zt::ops::cpu {

constexpr int64_t kMinParallelWork = int64_t(1) << 15;  // elements (or multiply-adds) per call

}  // namespace zt::ops::cpu
