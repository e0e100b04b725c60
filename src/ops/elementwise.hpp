// Elementwise helpers on whole tensors: copies with dtype conversion, adds, scaling, fills, checks.
#pragma once
#include "ops/common.hpp"

namespace zt::ops {

// A CPU tensor in page-locked memory when the CUDA backend is running (fast, asynchronous copies to and from GPUs),
// else ordinary host memory.
Tensor empty_pinned(const Shape& shape, DType dtype);

void zero(Tensor x);
void copy(Tensor dst, const Tensor& src);            // same numel; converts between float dtypes
void add(Tensor out, const Tensor& a, const Tensor& b);  // out = a + b (out may alias a or b)
void add_(Tensor x, const Tensor& y, float alpha = 1.0f);  // x += alpha * y
void scale_(Tensor x, float s);                       // x *= s
double sum_squares(const Tensor& x);                  // sum of x^2 in double (synchronises on GPU)
bool has_inf_or_nan(const Tensor& x);                 // synchronises on GPU

}  // namespace zt::ops
