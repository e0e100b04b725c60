// Standalone dropout with counter-based masks (see DropoutSpec): out = keep ? x / (1 - p) : 0.
#pragma once
#include "ops/common.hpp"

namespace zt::ops {

void dropout_forward(Tensor out, const Tensor& x, const DropoutSpec& d);
void dropout_backward(Tensor dx, const Tensor& dout, const DropoutSpec& d);

}  // namespace zt::ops
