// CPU kernels for the token embedding (ops/embedding.hpp): row gather forward, scatter-add backward.
// Ids are validated by the dispatcher (first_bad_id) before either kernel runs.
#pragma once
#include <cstdint>

namespace zt::ops::cpu {

// Index of the first id outside [0, V), or -1 when all are valid. ids (T)
int64_t first_bad_id(const int32_t* ids, int64_t T, int64_t V);
// out (T, C) = table (V, C) [ids (T)]
template <class F> void embedding_forward(F* out, const F* table, const int32_t* ids, int64_t T, int64_t C);
// dtable (V, C) += scatter of dout (T, C) by ids (T); repeated ids accumulate.
template <class F> void embedding_backward(F* dtable, const F* dout, const int32_t* ids, int64_t T, int64_t C);

}  // namespace zt::ops::cpu
