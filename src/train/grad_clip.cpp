// Gradient norm and clipping over lists of gradient tensors: host loops for CPU f32/f64 gradients,
// ops::sum_squares / ops::scale_ (device kernels) for f32 gradients on a GPU.
#include "train/grad_clip.hpp"

#include <cmath>
#include <string>

#include "ops/elementwise.hpp"

namespace zt::train {

namespace {
// true: the gradient lives on a GPU (f32, handled by the ops kernels); false: a CPU f32/f64 gradient.
bool expect_grad(const Tensor& g, const char* fn) {
  check(g.defined(), std::string(fn) + ": a gradient tensor is missing");
  check(g.dtype() == DType::f32 || g.dtype() == DType::f64,
        std::string(fn) + ": gradients must be f32 (or f64), got " + g.str(), "keep fp32 gradients for the optimizer");
  check(g.is_contiguous(), std::string(fn) + ": gradient must be contiguous, got " + g.str());
  if (!g.device().is_cuda()) return false;
  check(g.dtype() == DType::f32, std::string(fn) + ": GPU gradients must be f32, got " + g.str());
  return true;
}

template <class T> double sum_sq(const T* x, int64_t n) {
  double acc = 0.0;
#pragma omp parallel for reduction(+ : acc) schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) acc += double(x[i]) * double(x[i]);
  return acc;
}

template <class T> void scale(T* x, int64_t n, T s) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}
}  // namespace

double global_grad_norm(std::span<const Tensor> grads) {
  double total = 0.0;
  for (const Tensor& g : grads) {
    if (expect_grad(g, "global_grad_norm")) {
      total += ops::sum_squares(g);
      continue;
    }
    total += g.dtype() == DType::f32 ? sum_sq(g.data<float>(), g.numel()) : sum_sq(g.data<double>(), g.numel());
  }
  return std::sqrt(total);
}

void scale_grads(std::span<const Tensor> grads, double s) {
  for (const Tensor& g : grads) {
    if (expect_grad(g, "scale_grads")) ops::scale_(g, float(s));
    else if (g.dtype() == DType::f32) scale(g.data<float>(), g.numel(), float(s));
    else scale(g.data<double>(), g.numel(), s);
  }
}

double clip_grad_norm(std::span<const Tensor> grads, double max_norm) {
  check(max_norm > 0.0, "gradient clipping: max norm must be > 0, got " + std::to_string(max_norm),
        "set gradient_clipping in the ds_config to a positive value, or 0 to turn clipping off");
  const double total = global_grad_norm(grads);
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1.0) scale_grads(grads, coef);
  return total;
}

double unscale_and_clip(std::span<const Tensor> grads, double scaled_norm, double loss_scale, double clip) {
  check(loss_scale > 0.0 && std::isfinite(loss_scale), "unscale_and_clip: loss scale must be finite and > 0, got " +
                                                           std::to_string(loss_scale));
  double combined = loss_scale;
  if (clip > 0.0) {
    const double ratio = (scaled_norm / loss_scale + 1e-6) / clip;
    if (ratio > 1.0) combined = ratio * loss_scale;
  }
  if (combined != 1.0) scale_grads(grads, 1.0 / combined);
  return combined;
}

}  // namespace zt::train
