// Finite-difference checks (central differences in f64) of every op backward except attention (attention_test.cpp).
// Each objective is sum(out * R) for a random R, so the analytic gradient is the backward of dout = R.
#include <gtest/gtest.h>

#include "cpu/ops/ops_test_util.hpp"
#include "ops/activation.hpp"
#include "ops/dropout.hpp"
#include "ops/embedding.hpp"
#include "ops/linear.hpp"
#include "ops/loss.hpp"
#include "ops/rmsnorm.hpp"
#include "ops/rope.hpp"

using namespace zt;
using namespace zt::ops;
using namespace zt::test;

namespace {
constexpr DType f64 = DType::f64;

Tensor filled(const Shape& s, double v) {
  Tensor t = Tensor::empty(s, f64);
  t.fill(v);
  return t;
}
// t - v elementwise (undoes a pre-fill, leaving what a += gradient added)
Tensor minus(const Tensor& t, double v) {
  Tensor r = t.clone();
  for (int64_t i = 0; i < r.numel(); ++i) r.data<double>()[i] -= v;
  return r;
}
}  // namespace

TEST(Gradcheck, RmsNorm) {
  std::mt19937_64 rng(1);
  const int64_t N = 6, C = 24;
  Tensor x = rand_tensor({N, C}, f64, rng, -2, 2), w = rand_tensor({C}, f64, rng, 0.5, 1.5), R = rand_tensor({N, C}, f64, rng);
  Tensor out = Tensor::empty({N, C}, f64), rstd = Tensor::empty({N}, f64);
  auto f = [&] {
    rmsnorm_forward(out, rstd, x, w, 1e-5f);
    return dot_all(out, R);
  };
  f();
  Tensor dx = Tensor::empty({N, C}, f64), dw = filled({C}, 0.25);
  rmsnorm_backward(dx, dw, R, x, w, rstd);
  expect_grad_matches("rmsnorm dx", x, dx, f);
  expect_grad_matches("rmsnorm dweight (+=)", w, minus(dw, 0.25), f);
  // A frozen weight: dweight undefined, dx unchanged.
  Tensor dx2 = Tensor::empty({N, C}, f64);
  rmsnorm_backward(dx2, Tensor(), R, x, w, rstd);
  EXPECT_EQ(rel_err(dx2, dx), 0.0);
}

TEST(Gradcheck, Rope) {
  std::mt19937_64 rng(2);
  const int64_t T = 7, H = 3, D = 16;
  RopeConfig cfg;
  cfg.head_dim = int(D);
  cfg.theta = 10000.0;
  Tensor inv = rope_inv_freq(cfg);
  Tensor pos = Tensor::empty({T}, DType::i32);
  const int32_t p[T] = {0, 1, 2, 0, 1, 517, 8191};
  for (int64_t t = 0; t < T; ++t) pos.data<int32_t>()[t] = p[t];
  Tensor x = rand_tensor({T, H, D}, f64, rng), R = rand_tensor({T, H, D}, f64, rng);
  Tensor y = Tensor::empty({T, H, D}, f64);
  auto f = [&] {
    y.copy_from(x);
    rope_forward(y, pos, inv);
    return dot_all(y, R);
  };
  Tensor dx = R.clone();
  rope_backward(dx, pos, inv);
  expect_grad_matches("rope dx", x, dx, f);
}

TEST(Gradcheck, SwiGLU) {
  std::mt19937_64 rng(3);
  const int64_t T = 5, F = 12;
  Tensor g = rand_tensor({T, F}, f64, rng, -4, 4), u = rand_tensor({T, F}, f64, rng, -2, 2), R = rand_tensor({T, F}, f64, rng);
  Tensor out = Tensor::empty({T, F}, f64);
  auto f = [&] {
    swiglu_forward(out, g, u);
    return dot_all(out, R);
  };
  Tensor dg = Tensor::empty({T, F}, f64), du = Tensor::empty({T, F}, f64);
  swiglu_backward(dg, du, R, g, u);
  expect_grad_matches("swiglu dgate", g, dg, f);
  expect_grad_matches("swiglu dup", u, du, f);
}

TEST(Gradcheck, LinearWithBias) {
  std::mt19937_64 rng(4);
  const int64_t T = 9, in = 13, out = 7;
  Tensor x = rand_tensor({T, in}, f64, rng), w = rand_tensor({out, in}, f64, rng), b = rand_tensor({out}, f64, rng);
  Tensor R = rand_tensor({T, out}, f64, rng), y = Tensor::empty({T, out}, f64);
  auto f = [&] {
    linear_forward(y, x, w, b);
    return dot_all(y, R);
  };
  Tensor dx = Tensor::empty({T, in}, f64), dw = filled({out, in}, 0.5), db = filled({out}, -0.25);
  linear_backward(dx, dw, db, R, x, w);
  expect_grad_matches("linear dx", x, dx, f);
  expect_grad_matches("linear dw (+=)", w, minus(dw, 0.5), f);
  expect_grad_matches("linear dbias (+=)", b, minus(db, -0.25), f);
  // accumulate_dx adds onto what is there.
  Tensor dx2 = filled({T, in}, 1.0);
  linear_backward(dx2, Tensor(), Tensor(), R, x, w, /*accumulate_dx=*/true);
  EXPECT_LT(rel_err(minus(dx2, 1.0), dx), 1e-14);
}

TEST(Gradcheck, LoRA) {
  for (float p : {0.0f, 0.3f}) {
    SCOPED_TRACE("dropout p = " + std::to_string(p));
    std::mt19937_64 rng(5);
    const int64_t T = 8, in = 12, r = 4, out = 10;
    const float scaling = 2.0f;
    const DropoutSpec drop{p, 1234, 77};
    Tensor x = rand_tensor({T, in}, f64, rng), right = rand_tensor({in, r}, f64, rng), left = rand_tensor({r, out}, f64, rng);
    Tensor y0 = rand_tensor({T, out}, f64, rng), R = rand_tensor({T, out}, f64, rng);
    Tensor y = Tensor::empty({T, out}, f64), h = Tensor::empty({T, r}, f64);
    auto f = [&] {
      y.copy_from(y0);
      lora_forward(y, h, x, right, left, scaling, drop);
      return dot_all(y, R);
    };
    f();
    Tensor dx = filled({T, in}, 0.1), dright = filled({in, r}, 0.2), dleft = filled({r, out}, 0.3);
    Tensor dh = Tensor::empty({T, r}, f64);
    lora_backward(dx, dright, dleft, dh, R, x, h, right, left, scaling, drop);
    expect_grad_matches("lora dx (+=)", x, minus(dx, 0.1), f);
    expect_grad_matches("lora dright (+=)", right, minus(dright, 0.2), f);
    expect_grad_matches("lora dleft (+=)", left, minus(dleft, 0.3), f);
  }
}

TEST(Gradcheck, CrossEntropyWithIgnoredTargets) {
  std::mt19937_64 rng(6);
  const int64_t T = 7, V = 11;
  Tensor logits = rand_tensor({T, V}, f64, rng, -3, 3);
  Tensor targets = Tensor::empty({T}, DType::i32);
  const int32_t tg[T] = {3, -100, 0, 10, -100, 5, 5};
  for (int64_t t = 0; t < T; ++t) targets.data<int32_t>()[t] = tg[t];
  const float grad_scale = 1.0f / 5.0f;
  Tensor loss = Tensor::empty({T}, f64), lse = Tensor::empty({T}, f64);
  auto f = [&] {
    cross_entropy_forward(loss, lse, logits, targets);
    double s = 0;
    for (int64_t t = 0; t < T; ++t) s += loss.data<double>()[t];
    return double(grad_scale) * s;
  };
  f();
  Tensor dlogits = Tensor::empty({T, V}, f64);
  cross_entropy_backward(dlogits, logits, lse, targets, grad_scale);
  expect_grad_matches("cross_entropy dlogits", logits, dlogits, f);
  for (int64_t v = 0; v < V; ++v) {
    EXPECT_EQ(dlogits.data<double>()[1 * V + v], 0.0);
    EXPECT_EQ(dlogits.data<double>()[4 * V + v], 0.0);
  }
  // In place (dlogits aliasing logits) gives the same result.
  f();  // the checker leaves lse from its last perturbed evaluation
  Tensor inplace = logits.clone();
  cross_entropy_backward(inplace, inplace, lse, targets, grad_scale);
  EXPECT_EQ(rel_err(inplace, dlogits), 0.0);
}

TEST(Gradcheck, EmbeddingWithRepeatedIds) {
  std::mt19937_64 rng(7);
  const int64_t V = 9, C = 6, T = 10;
  Tensor table = rand_tensor({V, C}, f64, rng), R = rand_tensor({T, C}, f64, rng);
  Tensor ids = Tensor::empty({T}, DType::i32);
  const int32_t id[T] = {2, 5, 2, 8, 0, 2, 5, 7, 7, 1};
  for (int64_t t = 0; t < T; ++t) ids.data<int32_t>()[t] = id[t];
  Tensor out = Tensor::empty({T, C}, f64);
  auto f = [&] {
    embedding_forward(out, table, ids);
    return dot_all(out, R);
  };
  Tensor dtable = filled({V, C}, 0.5);
  embedding_backward(dtable, R, ids);
  expect_grad_matches("embedding dtable (+=)", table, minus(dtable, 0.5), f);
}

TEST(Gradcheck, DropoutFixedMask) {
  std::mt19937_64 rng(8);
  const int64_t n = 300;
  const DropoutSpec d{0.4f, 99, 5};
  Tensor x = rand_tensor({n}, f64, rng), R = rand_tensor({n}, f64, rng), out = Tensor::empty({n}, f64);
  auto f = [&] {
    dropout_forward(out, x, d);
    return dot_all(out, R);
  };
  Tensor dx = Tensor::empty({n}, f64);
  dropout_backward(dx, R, d);
  expect_grad_matches("dropout dx", x, dx, f);
}
