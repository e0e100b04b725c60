// Dispatcher for rotary embeddings: validates the config and tensors, builds inv_freq, runs ops/cpu/rope.
// x is rotated in place; positions are i32 per token, inv_freq is f32 (D/2) from rope_inv_freq.
#include "ops/rope.hpp"

#include <cmath>

#include "ops/checks.hpp"
#include "ops/cpu/rope.hpp"
#ifdef ZT_HAVE_CUDA
#include "ops/cuda/rope.hpp"
#include "ops/cuda/runtime.hpp"
#endif

namespace zt::ops {

using namespace detail;

Tensor rope_inv_freq(const RopeConfig& cfg) {
  constexpr const char* op = "rope_inv_freq";
  check(cfg.head_dim > 0 && cfg.head_dim % 2 == 0,
        std::string(op) + ": head_dim must be a positive even number, got " + std::to_string(cfg.head_dim),
        "check head_dim (or hidden_size / num_attention_heads) in config.json");
  check(cfg.theta > 0.0 && std::isfinite(cfg.theta), std::string(op) + ": rope_theta must be positive, got " +
                                                          std::to_string(cfg.theta), "check rope_theta in config.json");
  Tensor inv = Tensor::empty({cfg.head_dim / 2}, DType::f32);
  cpu::rope_inv_freq_default(inv.data<float>(), cfg.head_dim, cfg.theta);
  if (cfg.type == "llama3") {
    check(cfg.factor > 0.0, std::string(op) + ": rope_scaling.factor must be positive, got " + std::to_string(cfg.factor),
          "check rope_scaling in config.json");
    check(cfg.high_freq_factor > cfg.low_freq_factor && cfg.low_freq_factor > 0.0,
          std::string(op) + ": rope_scaling needs 0 < low_freq_factor < high_freq_factor, got " +
              std::to_string(cfg.low_freq_factor) + " and " + std::to_string(cfg.high_freq_factor),
          "check rope_scaling in config.json");
    check(cfg.original_max_position_embeddings > 0,
          std::string(op) + ": rope_scaling.original_max_position_embeddings must be positive",
          "check rope_scaling in config.json");
    cpu::rope_inv_freq_llama3(inv.data<float>(), cfg.head_dim / 2, cfg.factor, cfg.low_freq_factor, cfg.high_freq_factor,
                              double(cfg.original_max_position_embeddings));
  } else {
    check(cfg.type == "default", std::string(op) + ": unsupported rope type \"" + cfg.type + "\"",
          "supported rope_scaling.rope_type values: default (no rope_scaling), llama3");
  }
  return inv;
}

namespace {
void rope_run(Tensor& x, const Tensor& positions, const Tensor& inv_freq, const char* op, const char* xname, bool inverse) {
  expect_ndim(x, op, xname, 3, "(T, H, D)");
  const int64_t T = x.size(0), H = x.size(1), D = x.size(2);
  check(D % 2 == 0, arg_name(op, xname) + ": head dimension must be even, got " + x.str());
  expect_shape_of(positions, op, "positions", {T});
  expect_dtype_of(positions, op, "positions", DType::i32);
  expect_shape_of(inv_freq, op, "inv_freq", {D / 2});
  expect_dtype_of(inv_freq, op, "inv_freq", DType::f32);
#ifdef ZT_HAVE_CUDA
  if (const Device dev = common_device({&x, &positions, &inv_freq}, op); dev.is_cuda()) {
    cuda::OpScope s(dev, op);
    return cuda::rope_apply(x.raw(), positions.data<int32_t>(), inv_freq.data<float>(), x.dtype(), T, H, D, inverse,
                            s.stream());
  }
#endif
  dispatch_device({&x, &positions, &inv_freq}, op);
  expect_cpu_float(x, op, xname);
  if (x.dtype() == DType::f32)
    cpu::rope_apply(x.data<float>(), positions.data<int32_t>(), inv_freq.data<float>(), T, H, D, inverse);
  else
    cpu::rope_apply(x.data<double>(), positions.data<int32_t>(), inv_freq.data<float>(), T, H, D, inverse);
}
}  // namespace

void rope_forward(Tensor x, const Tensor& positions, const Tensor& inv_freq) {
  rope_run(x, positions, inv_freq, "rope_forward", "x", false);
}

void rope_backward(Tensor dx, const Tensor& positions, const Tensor& inv_freq) {
  rope_run(dx, positions, inv_freq, "rope_backward", "dx", true);
}

}  // namespace zt::ops
