// Elementwise helpers, standalone dropout statistics and consistency, the sequence layout, and the op errors
// (shape mismatch, ids/targets out of range, wrong dtypes, CUDA tensors without a CUDA kernel).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "cpu/ops/ops_test_util.hpp"
#include "ops/activation.hpp"
#include "ops/dropout.hpp"
#include "ops/elementwise.hpp"
#include "ops/embedding.hpp"
#include "ops/linear.hpp"
#include "ops/loss.hpp"
#include "ops/rmsnorm.hpp"
#include "ops/rope.hpp"

using namespace zt;
using namespace zt::ops;
using namespace zt::test;

namespace {
constexpr DType f32 = DType::f32, f64 = DType::f64;
}

TEST(SeqLayout, BoundariesAndPositions) {
  SeqLayout s = make_seq_layout({3, 0, 2});
  EXPECT_EQ(s.num_seqs(), 3);
  EXPECT_EQ(s.num_tokens(), 5);
  EXPECT_EQ(s.max_seqlen, 3);
  EXPECT_EQ((std::vector<int32_t>(s.cu_host)), (std::vector<int32_t>{0, 3, 3, 5}));
  const int32_t want_pos[] = {0, 1, 2, 0, 1};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(s.positions.data<int32_t>()[i], want_pos[i]);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(s.cu_seqlens.data<int32_t>()[i], s.cu_host[size_t(i)]);
  expect_error([] { make_seq_layout({2, -1}); }, {"make_seq_layout", "negative length"});
}

TEST(Elementwise, ZeroCopyAddScale) {
  std::mt19937_64 rng(1);
  Tensor a = rand_tensor({100, 7}, f32, rng), b = rand_tensor({100, 7}, f32, rng), out = Tensor::empty({100, 7}, f32);
  add(out, a, b);
  for (int64_t i = 0; i < a.numel(); ++i) EXPECT_EQ(out.data<float>()[i], a.data<float>()[i] + b.data<float>()[i]);
  Tensor x = a.clone();
  add_(x, b, -0.5f);
  for (int64_t i = 0; i < a.numel(); ++i) EXPECT_EQ(x.data<float>()[i], a.data<float>()[i] + -0.5f * b.data<float>()[i]);
  scale_(x, 4.0f);
  EXPECT_FLOAT_EQ(x.data<float>()[3], 4.0f * (a.data<float>()[3] - 0.5f * b.data<float>()[3]));
  // copy converts float dtypes; add_ accepts a 16-bit addend.
  Tensor h = Tensor::empty({700}, DType::bf16), back = Tensor::empty({100, 7}, f32);
  copy(h, a);
  copy(back, h);
  for (int64_t i = 0; i < a.numel(); ++i) EXPECT_EQ(back.data<float>()[i], bf16_to_f32(f32_to_bf16(a.data<float>()[i])));
  Tensor acc = Tensor::zeros({100, 7}, f32);
  add_(acc, h, 2.0f);
  EXPECT_EQ(acc.data<float>()[5], 2.0f * back.data<float>()[5]);
  zero(acc);
  EXPECT_EQ(sum_squares(acc), 0.0);
}

TEST(Elementwise, SumSquaresAndInfNan) {
  Tensor x = Tensor::empty({100000}, f32);
  float* xp = x.data<float>();
  double want = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    xp[i] = float(i % 10) * 0.5f;
    want += double(xp[i]) * xp[i];
  }
  EXPECT_DOUBLE_EQ(sum_squares(x), want);
  EXPECT_DOUBLE_EQ(sum_squares(x.to_dtype(DType::bf16)), want);  // these values are exact in bf16
  EXPECT_FALSE(has_inf_or_nan(x));
  x.data<float>()[77777] = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(has_inf_or_nan(x));
  x.data<float>()[77777] = std::nanf("");
  EXPECT_TRUE(has_inf_or_nan(x));
  EXPECT_TRUE(has_inf_or_nan(x.to_dtype(DType::f16)));
}

TEST(Dropout, KeepRateAndDeterminism) {
  const int64_t n = 1 << 20;
  Tensor x = Tensor::empty({n}, f32);
  x.fill(1.0);
  for (float p : {0.1f, 0.5f, 0.9f}) {
    SCOPED_TRACE(p);
    const DropoutSpec d{p, 2024, 0};
    Tensor out = Tensor::empty({n}, f32), again = Tensor::empty({n}, f32);
    dropout_forward(out, x, d);
    dropout_forward(again, x, d);
    int64_t kept = 0, bad_values = 0, differs = 0;
    const float scale = 1.0f / (1.0f - p);
    const float* o = out.data<float>();
    const float* o2 = again.data<float>();
    for (int64_t i = 0; i < n; ++i) {
      bad_values += !(o[i] == 0.0f || o[i] == scale);
      kept += o[i] != 0.0f;
      differs += o[i] != o2[i];
    }
    EXPECT_EQ(bad_values, 0);
    EXPECT_EQ(differs, 0);  // the same spec gives the same mask
    // binomial standard deviation is at most 0.5 / sqrt(n) ~ 5e-4
    EXPECT_NEAR(double(kept) / double(n), 1.0 - p, 3e-3);
  }
  // The offset shifts the counter: element i with offset k is element i + k with offset 0.
  Tensor base = Tensor::empty({n}, f32), shifted = Tensor::empty({n - 10}, f32);
  dropout_forward(base, x, {0.5f, 7, 0});
  dropout_forward(shifted, x.narrow(0, n - 10), {0.5f, 7, 10});
  int64_t shift_mismatch = 0;
  const float* sp = shifted.data<float>();
  const float* bp = base.data<float>();
  for (int64_t i = 0; i < n - 10; ++i) shift_mismatch += sp[i] != bp[i + 10];
  EXPECT_EQ(shift_mismatch, 0);
  // p = 0 is the identity.
  Tensor same = Tensor::empty({n}, f32);
  dropout_forward(same, x, {});
  EXPECT_EQ(rel_err(same, x), 0.0);
}

TEST(Dropout, BackwardUsesTheForwardMask) {
  std::mt19937_64 rng(3);
  const int64_t n = 5000;
  const DropoutSpec d{0.3f, 11, 123};
  Tensor x = rand_tensor({n}, f32, rng, 0.5, 1.5), out = Tensor::empty({n}, f32);
  Tensor g = rand_tensor({n}, f32, rng), dx = Tensor::empty({n}, f32);
  dropout_forward(out, x, d);
  dropout_backward(dx, g, d);
  for (int64_t i = 0; i < n; ++i) {
    const bool kept = out.data<float>()[i] != 0.0f;
    EXPECT_EQ(kept, dropout_keep(d, uint64_t(i)));
    if (kept) {
      EXPECT_FLOAT_EQ(out.data<float>()[i], x.data<float>()[i] / 0.7f);
      EXPECT_FLOAT_EQ(dx.data<float>()[i], g.data<float>()[i] / 0.7f);
    } else {
      EXPECT_EQ(dx.data<float>()[i], 0.0f);
    }
  }
}

TEST(Errors, ShapeMismatchNamesOpAndTensor) {
  Tensor x = Tensor::zeros({4, 64}, f32), w = Tensor::zeros({32}, f32);
  Tensor out = Tensor::empty({4, 64}, f32), rstd = Tensor::empty({4}, f32);
  expect_error([&] { rmsnorm_forward(out, rstd, x, w, 1e-5f); },
               {"rmsnorm_forward: weight: expected shape [64], got f32[32] cpu"});
  Tensor lw = Tensor::zeros({8, 63}, f32), y = Tensor::empty({4, 8}, f32);
  expect_error([&] { linear_forward(y, x, lw, Tensor()); }, {"linear_forward: w: expected shape [8, 64]"});
  Tensor a = Tensor::zeros({3, 5}, f32), b = Tensor::zeros({4, 2}, f32), c = Tensor::empty({3, 2}, f32);
  expect_error([&] { gemm(c, a, false, b, false); }, {"gemm", "inner dimensions"});
  Tensor g = Tensor::zeros({4, 8}, f32), u = Tensor::zeros({4, 9}, f32), so = Tensor::empty({4, 8}, f32);
  expect_error([&] { swiglu_forward(so, g, u); }, {"swiglu_forward: up: expected shape [4, 8]"});
  Tensor right = Tensor::zeros({64, 4}, f32), left = Tensor::zeros({5, 8}, f32), h = Tensor::empty({4, 4}, f32);
  expect_error([&] { lora_forward(y, h, x, right, left, 1.0f); }, {"lora_forward: left: expected shape [4, 8]"});
  Tensor bad_pos = Tensor::zeros({3}, DType::i32);
  RopeConfig cfg;
  cfg.head_dim = 8;
  Tensor q = Tensor::zeros({4, 2, 8}, f32);
  expect_error([&] { rope_forward(q, bad_pos, rope_inv_freq(cfg)); }, {"rope_forward: positions: expected shape [4]"});
  cfg.type = "yarn";
  expect_error([&] { rope_inv_freq(cfg); }, {"rope_inv_freq", "yarn", "llama3"});
}

TEST(Errors, IdsAndTargetsOutOfRange) {
  Tensor table = Tensor::zeros({10, 4}, f32), out = Tensor::empty({3, 4}, f32);
  Tensor ids = Tensor::empty({3}, DType::i32);
  ids.data<int32_t>()[0] = 1;
  ids.data<int32_t>()[1] = 10;
  ids.data<int32_t>()[2] = 2;
  expect_error([&] { embedding_forward(out, table, ids); }, {"embedding_forward", "token 1", "id 10", "[0, 10)"});
  ids.data<int32_t>()[1] = -3;
  expect_error([&] { embedding_backward(table, out, ids); }, {"embedding_backward", "id -3", "[0, 10)"});

  Tensor logits = Tensor::zeros({3, 10}, f32), loss = Tensor::empty({3}, f32), lse = Tensor::empty({3}, f32);
  Tensor targets = Tensor::empty({3}, DType::i32);
  targets.data<int32_t>()[0] = kIgnoreIndex;
  targets.data<int32_t>()[1] = 10;
  targets.data<int32_t>()[2] = 0;
  expect_error([&] { cross_entropy_forward(loss, lse, logits, targets); },
               {"cross_entropy_forward", "target 10", "-100"});
  targets.data<int32_t>()[1] = -1;
  expect_error([&] { cross_entropy_backward(logits, logits, lse, targets, 1.0f); }, {"cross_entropy_backward", "target -1"});
}

TEST(Errors, DtypesDropoutAndDevices) {
  Tensor x = Tensor::zeros({4, 8}, DType::bf16), w = Tensor::zeros({8}, DType::bf16);
  Tensor out = Tensor::empty({4, 8}, DType::bf16), rstd = Tensor::empty({4}, DType::bf16);
  expect_error([&] { rmsnorm_forward(out, rstd, x, w, 1e-5f); }, {"rmsnorm_forward: x", "f32 or f64", "bf16"});
  Tensor a = Tensor::zeros({4, 8}, f32), b = Tensor::zeros({4, 8}, f64), o = Tensor::empty({4, 8}, f32);
  expect_error([&] { add(o, a, b); }, {"add: b: expected f32"});
  expect_error([&] { dropout_forward(o, a, {1.0f, 0, 0}); }, {"dropout_forward", "[0, 1)"});
  expect_error([&] { dropout_forward(o, a, {-0.1f, 0, 0}); }, {"dropout_forward", "[0, 1)"});

  // A tensor labelled as CUDA memory (host storage, never dereferenced) reaches the device dispatch.
  std::vector<float> storage(32);
  auto buf = Buffer::wrap(storage.data(), storage.size() * sizeof(float), Device::CUDA(0), nullptr);
  Tensor dev = Tensor::view_of(buf, 0, {4, 8}, f32);
  expect_error([&] { swiglu_forward(o, dev, a); }, {"swiglu_forward", "different devices", "cuda:0"});
  Tensor dev2 = Tensor::view_of(buf, 0, {4, 8}, f32), dev3 = Tensor::view_of(buf, 0, {4, 8}, f32);
#ifdef ZT_HAVE_CUDA  // CUDA builds take the GPU branch, which first needs cuda::initialize()
  expect_error([&] { swiglu_forward(dev3, dev, dev2); }, {"swiglu_forward", "CUDA backend was not initialised"});
  expect_error([&] { scale_(dev, 2.0f); }, {"scale_", "CUDA backend was not initialised"});
#else
  expect_error([&] { swiglu_forward(dev3, dev, dev2); }, {"swiglu_forward has no CUDA kernel in this build"});
  expect_error([&] { scale_(dev, 2.0f); }, {"scale_ has no CUDA kernel"});
#endif
}
