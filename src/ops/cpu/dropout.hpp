// CPU kernel for counter-based dropout (ops/dropout.hpp, ops/common.hpp DropoutSpec): element i is kept when
// dropout_keep(spec, i); kept elements are scaled by 1/(1-p) like torch's dropout. Used by LoRA and attention too.
#pragma once
#include <cstdint>

#include "ops/common.hpp"

namespace zt::ops::cpu {

// out (n) = keep(i) ? x * 1/(1-p) : 0; out may alias x. The same call serves backward (dout -> dx).
template <class F> void dropout_apply(F* out, const F* x, int64_t n, const DropoutSpec& d);
// dst (n) += keep(i) ? src * 1/(1-p) : 0
template <class F> void dropout_accumulate(F* dst, const F* src, int64_t n, const DropoutSpec& d);

}  // namespace zt::ops::cpu
