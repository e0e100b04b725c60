// Token embedding lookup and its gradient (scatter-add into the table).
#pragma once
#include "ops/common.hpp"

namespace zt::ops {

// out (T, C) = table[ids]; table (V, C); ids i32 (T). Ids out of range are an error naming the id.
void embedding_forward(Tensor out, const Tensor& table, const Tensor& ids);
// dtable (V, C) += scatter of dout (T, C) by ids.
void embedding_backward(Tensor dtable, const Tensor& dout, const Tensor& ids);

}  // namespace zt::ops
