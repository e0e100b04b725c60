// Every non-attention op on the GPU against the CPU f32 reference, in f32, bf16 and f16 storage: copies and
// elementwise helpers, GEMM/linear/LoRA (cuBLASLt), RMSNorm, RoPE, SwiGLU, dropout, embedding, cross-entropy, AdamW.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "cuda/cuda_test_util.hpp"
#include "ops/activation.hpp"
#include "ops/dropout.hpp"
#include "ops/elementwise.hpp"
#include "ops/embedding.hpp"
#include "ops/linear.hpp"
#include "ops/loss.hpp"
#include "ops/optim.hpp"
#include "ops/rmsnorm.hpp"
#include "ops/rope.hpp"

using namespace zt;
using namespace zt::ops;
using namespace zt::cudatest;

namespace {
constexpr DType f32 = DType::f32;

Tensor ints_to_gpu(const std::vector<int32_t>& v) {
  Tensor h = Tensor::empty({int64_t(v.size())}, DType::i32);
  for (size_t i = 0; i < v.size(); ++i) h.data<int32_t>()[i] = v[i];
  Tensor g = Tensor::empty(h.shape(), DType::i32, kGpu);
  copy(g, h);
  return g;
}

Tensor ints_host(const std::vector<int32_t>& v) {
  Tensor h = Tensor::empty({int64_t(v.size())}, DType::i32);
  for (size_t i = 0; i < v.size(); ++i) h.data<int32_t>()[i] = v[i];
  return h;
}
}  // namespace

TEST_P(CudaOps, CopyZeroAndConversions) {
  Tensor h = rand_host({1000, 3}, dt(), rng);
  Tensor g = to_gpu(h, dt());
  EXPECT_EQ(rel_err(to_host(g), h), 0.0);  // exact: values are representable in dt
  Tensor g32 = poisoned({3000}, f32);
  copy(g32, g);  // device-side conversion
  EXPECT_EQ(rel_err(to_host(g32), h), 0.0);
  Tensor back = Tensor::empty({1000, 3}, dt());  // device -> host keeping the 16-bit dtype
  copy(back, g);
  EXPECT_EQ(rel_err(back.to_dtype(f32), h), 0.0);
  zero(g);
  EXPECT_EQ(sum_squares(g), 0.0);
}

TEST_P(CudaOps, ElementwiseHelpers) {
  Tensor a = rand_host({4097}, dt(), rng), b = rand_host({4097}, dt(), rng);
  Tensor ga = to_gpu(a, dt()), gb = to_gpu(b, dt()), out = poisoned({4097}, dt());
  Tensor ref = Tensor::empty({4097}, f32);
  add(ref, a, b);
  add(out, ga, gb);
  EXPECT_CLOSE(out, ref, dt());
  // x (f32) += alpha * y (dt): the fp32 gradient accumulation path.
  Tensor x = rand_host({4097}, f32, rng), gx = to_gpu(x, f32);
  add_(gx, gb, -0.75f);
  add_(x, b, -0.75f);
  EXPECT_CLOSE(gx, x, f32);
  scale_(ga, 3.0f);
  scale_(a, 3.0f);
  EXPECT_CLOSE(ga, a, dt());
  const double ss = sum_squares(gb), ref_ss = sum_squares(b);
  EXPECT_NEAR(ss, ref_ss, 1e-9 * ref_ss);
  EXPECT_FALSE(has_inf_or_nan(gb));
  b.data<float>()[4000] = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(has_inf_or_nan(to_gpu(b, dt())));
}

TEST_P(CudaOps, GemmAllTransposesAndF32Output) {
  const int64_t M = 67, N = 45, K = 130;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      Tensor a = rand_host(ta ? Shape{K, M} : Shape{M, K}, dt(), rng), b = rand_host(tb ? Shape{N, K} : Shape{K, N}, dt(), rng);
      Tensor c = rand_host({M, N}, dt(), rng);
      Tensor gc = to_gpu(c, dt());
      gemm(c, a, ta, b, tb, 0.5f, 1.0f);
      gemm(gc, to_gpu(a, dt()), ta, to_gpu(b, dt()), tb, 0.5f, 1.0f);
      EXPECT_CLOSE(gc, c, dt()) << " ta=" << ta << " tb=" << tb;
      // f32 output from 16-bit operands (how parameter gradients accumulate)
      Tensor c32 = rand_host({M, N}, f32, rng), gc32 = to_gpu(c32, f32);
      gemm(c32, a, ta, b, tb, 1.0f, 1.0f);
      gemm(gc32, to_gpu(a, dt()), ta, to_gpu(b, dt()), tb, 1.0f, 1.0f);
      EXPECT_CLOSE(gc32, c32, f32 == dt() ? f32 : DType::f16) << " f32 output, ta=" << ta << " tb=" << tb;
    }
}

TEST_P(CudaOps, LinearForwardBackward) {
  const int64_t T = 93, in = 72, out = 56;
  Tensor x = rand_host({T, in}, dt(), rng), w = rand_host({out, in}, dt(), rng), bias = rand_host({out}, dt(), rng);
  Tensor gx = to_gpu(x, dt()), gw = to_gpu(w, dt()), gb = to_gpu(bias, dt());
  Tensor y = Tensor::empty({T, out}, f32), gy = poisoned({T, out}, dt());
  linear_forward(y, x, w, bias);
  linear_forward(gy, gx, gw, gb);
  EXPECT_CLOSE(gy, y, dt());
  Tensor y0 = rand_host({T, out}, dt(), rng), gy0 = to_gpu(y0, dt());  // accumulate: y += x w^T + b
  linear_forward(y0, x, w, bias, true);
  linear_forward(gy0, gx, gw, gb, true);
  EXPECT_CLOSE(gy0, y0, dt());

  Tensor dy = rand_host({T, out}, dt(), rng), gdy = to_gpu(dy, dt());
  for (DType grad_t : {dt(), f32}) {
    Tensor dx = Tensor::empty({T, in}, f32), dw = rand_host({out, in}, grad_t, rng), db = rand_host({out}, grad_t, rng);
    Tensor gdx = poisoned({T, in}, dt()), gdw = to_gpu(dw, grad_t), gdb = to_gpu(db, grad_t);
    linear_backward(dx, dw, db, dy, x, w);
    linear_backward(gdx, gdw, gdb, gdy, gx, gw);
    EXPECT_CLOSE(gdx, dx, dt());
    EXPECT_CLOSE(gdw, dw, grad_t);
    EXPECT_CLOSE(gdb, db, grad_t);
  }
  // frozen weight, accumulated dx
  Tensor dx = rand_host({T, in}, dt(), rng), gdx = to_gpu(dx, dt());
  linear_backward(dx, Tensor(), Tensor(), dy, x, w, true);
  linear_backward(gdx, Tensor(), Tensor(), gdy, gx, gw, true);
  EXPECT_CLOSE(gdx, dx, dt());
}

TEST_P(CudaOps, LoraForwardBackwardWithAndWithoutDropout) {
  const int64_t T = 77, in = 64, r = 8, out = 48;
  for (float p : {0.0f, 0.2f}) {
    const DropoutSpec d{p, 99, 1000};
    Tensor x = rand_host({T, in}, dt(), rng), right = rand_host({in, r}, dt(), rng), left = rand_host({r, out}, dt(), rng);
    Tensor y = rand_host({T, out}, dt(), rng), h = Tensor::empty({T, r}, f32);
    Tensor gx = to_gpu(x, dt()), gright = to_gpu(right, dt()), gleft = to_gpu(left, dt()), gy = to_gpu(y, dt());
    Tensor gh = poisoned({T, r}, dt());
    lora_forward(y, h, x, right, left, 2.0f, d);
    lora_forward(gy, gh, gx, gright, gleft, 2.0f, d);
    EXPECT_CLOSE(gh, h, dt()) << " p=" << p;
    EXPECT_CLOSE(gy, y, dt()) << " p=" << p;
    // backward from the reference h (rounded to dt) so both sides start from the same activations
    Tensor hq = to_host(gh);
    Tensor dy = rand_host({T, out}, dt(), rng), dx = rand_host({T, in}, dt(), rng);
    Tensor dright = rand_host({in, r}, f32, rng), dleft = rand_host({r, out}, f32, rng), dh = Tensor::empty({T, r}, f32);
    Tensor gdx = to_gpu(dx, dt()), gdright = to_gpu(dright, f32), gdleft = to_gpu(dleft, f32), gdh = poisoned({T, r}, dt());
    lora_backward(dx, dright, dleft, dh, dy, x, hq, right, left, 2.0f, d);
    lora_backward(gdx, gdright, gdleft, gdh, to_gpu(dy, dt()), gx, to_gpu(hq, dt()), gright, gleft, 2.0f, d);
    EXPECT_CLOSE(gdx, dx, dt()) << " p=" << p;
    EXPECT_CLOSE(gdright, dright, dt()) << " p=" << p;
    EXPECT_CLOSE(gdleft, dleft, dt()) << " p=" << p;
  }
}

TEST_P(CudaOps, RmsnormForwardBackward) {
  for (int64_t C : {64, 4096, 5000}) {
    const int64_t N = 300;
    Tensor x = rand_host({N, C}, dt(), rng, -2.0, 2.0), w = rand_host({C}, dt(), rng, 0.5, 1.5);
    Tensor out = Tensor::empty({N, C}, f32), rstd = Tensor::empty({N}, f32);
    Tensor gout = poisoned({N, C}, dt()), grstd = poisoned({N}, f32);
    Tensor gx = to_gpu(x, dt()), gw = to_gpu(w, dt());
    rmsnorm_forward(out, rstd, x, w, 1e-5f);
    rmsnorm_forward(gout, grstd, gx, gw, 1e-5f);
    EXPECT_CLOSE(gout, out, dt()) << " C=" << C;
    EXPECT_CLOSE(grstd, rstd, f32 == dt() ? f32 : DType::f16) << " C=" << C;
    Tensor dout = rand_host({N, C}, dt(), rng), dx = Tensor::empty({N, C}, f32), dw = rand_host({C}, f32, rng);
    Tensor gdx = poisoned({N, C}, dt()), gdw = to_gpu(dw, f32);
    rmsnorm_backward(dx, dw, dout, x, w, rstd);
    rmsnorm_backward(gdx, gdw, to_gpu(dout, dt()), gx, gw, to_gpu(rstd, f32));
    EXPECT_CLOSE(gdx, dx, dt()) << " C=" << C;
    EXPECT_CLOSE(gdw, dw, f32 == dt() ? f32 : DType::f16) << " C=" << C;
  }
}

TEST_P(CudaOps, RopeForwardBackwardLlama3) {
  RopeConfig cfg;
  cfg.head_dim = 128;
  cfg.theta = 500000.0;
  cfg.type = "llama3";
  Tensor inv = rope_inv_freq(cfg);
  const int64_t T = 50, H = 6, D = 128;
  std::vector<int32_t> pos(T);
  for (int64_t t = 0; t < T; ++t) pos[size_t(t)] = int32_t((t * 397) % 8000);
  Tensor x = rand_host({T, H, D}, dt(), rng), gx = to_gpu(x, dt());
  Tensor gpos = ints_to_gpu(pos), ginv = to_gpu(inv, f32);
  rope_forward(x, ints_host(pos), inv);
  rope_forward(gx, gpos, ginv);
  EXPECT_CLOSE(gx, x, dt());
  rope_backward(x, ints_host(pos), inv);
  rope_backward(gx, gpos, ginv);
  EXPECT_CLOSE(gx, x, dt());
}

TEST_P(CudaOps, SwigluAndDropout) {
  // 10007 takes the scalar kernels; 8192 (16-byte aligned buffers, a multiple of every vector width) the vector ones.
  for (const int64_t m : {int64_t(10007), int64_t(8192)}) {
    Tensor g = rand_host({m}, dt(), rng, -4, 4), u = rand_host({m}, dt(), rng), out = Tensor::empty({m}, f32);
    Tensor gg = to_gpu(g, dt()), gu = to_gpu(u, dt()), gout = poisoned({m}, dt());
    swiglu_forward(out, g, u);
    swiglu_forward(gout, gg, gu);
    EXPECT_CLOSE(gout, out, dt()) << m;
    Tensor dout = rand_host({m}, dt(), rng), dg = Tensor::empty({m}, f32), du = Tensor::empty({m}, f32);
    Tensor gdg = poisoned({m}, dt()), gdu = poisoned({m}, dt());
    swiglu_backward(dg, du, dout, g, u);
    swiglu_backward(gdg, gdu, to_gpu(dout, dt()), gg, gu);
    EXPECT_CLOSE(gdg, dg, dt()) << m;
    EXPECT_CLOSE(gdu, du, dt()) << m;
  }
  const int64_t n = 10007;
  Tensor u = rand_host({n}, dt(), rng), gu = to_gpu(u, dt());

  const DropoutSpec d{0.3f, 7, 12345};
  Tensor dr = Tensor::empty({n}, f32), gdr = poisoned({n}, dt());
  dropout_forward(dr, u, d);
  dropout_forward(gdr, gu, d);
  Tensor hdr = to_host(gdr);
  int64_t zeros_cpu = 0, mismatched_mask = 0;
  for (int64_t i = 0; i < n; ++i) {
    zeros_cpu += dr.data<float>()[i] == 0.0f;
    mismatched_mask += (dr.data<float>()[i] == 0.0f) != (hdr.data<float>()[i] == 0.0f);
  }
  EXPECT_EQ(mismatched_mask, 0) << "the GPU must drop exactly the CPU's elements";
  EXPECT_NEAR(double(zeros_cpu) / double(n), 0.3, 0.03);
  EXPECT_CLOSE(gdr, dr, dt());
  dropout_backward(gdr, gdr, d);  // in place
  dropout_backward(dr, dr, d);
  EXPECT_CLOSE(gdr, dr, dt());
}

TEST_P(CudaOps, EmbeddingGatherAndScatter) {
  const int64_t V = 50, C = 300;
  std::vector<int32_t> ids = {3, 7, 3, 0, 49, 7, 7, 12, 3};
  const int64_t T = int64_t(ids.size());
  Tensor table = rand_host({V, C}, dt(), rng), out = Tensor::empty({T, C}, f32), gout = poisoned({T, C}, dt());
  embedding_forward(out, table, ints_host(ids));
  embedding_forward(gout, to_gpu(table, dt()), ints_to_gpu(ids));
  EXPECT_EQ(rel_err(to_host(gout), out), 0.0);
  Tensor dout = rand_host({T, C}, dt(), rng);
  for (DType grad_t : {dt(), f32}) {
    Tensor dtab = rand_host({V, C}, grad_t, rng), gdtab = to_gpu(dtab, grad_t);
    embedding_backward(dtab, dout, ints_host(ids));
    embedding_backward(gdtab, to_gpu(dout, dt()), ints_to_gpu(ids));
    EXPECT_CLOSE(gdtab, dtab, grad_t);
  }
  ids[4] = 50;
  try {
    embedding_forward(gout, to_gpu(table, dt()), ints_to_gpu(ids));
    FAIL() << "expected an error for id 50";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("token 4 has id 50"), std::string::npos) << e.what();
  }
}

TEST_P(CudaOps, CrossEntropyFusedForwardBackward) {
  for (int64_t V : {1000, 1003, 32008}) {  // vectorised rows, scalar rows, a larger vocabulary
    const int64_t T = 37;
    std::vector<int32_t> tg(static_cast<size_t>(T));
    std::uniform_int_distribution<int32_t> pick(0, int32_t(V - 1));
    for (auto& t : tg) t = pick(rng);
    tg[3] = tg[20] = kIgnoreIndex;
    tg[5] = int32_t(V - 1);
    Tensor logits = rand_host({T, V}, dt(), rng, -8, 8), loss = Tensor::empty({T}, f32), lse = Tensor::empty({T}, f32);
    Tensor gl = to_gpu(logits, dt()), gloss = poisoned({T}, f32), glse = poisoned({T}, f32), gtg = ints_to_gpu(tg);
    cross_entropy_forward(loss, lse, logits, ints_host(tg));
    cross_entropy_forward(gloss, glse, gl, gtg);
    EXPECT_CLOSE(glse, lse, f32) << " V=" << V;
    EXPECT_LE(rel_err(to_host(gloss), loss), 1e-5) << " V=" << V;
    Tensor dl = Tensor::empty({T, V}, f32);
    cross_entropy_backward(dl, logits, lse, ints_host(tg), 1.0f / 35.0f);
    cross_entropy_backward(gl, gl, glse, gtg, 1.0f / 35.0f);  // in place, in the logits' dtype
    EXPECT_CLOSE(gl, dl, dt()) << " V=" << V;
  }
  Tensor gl = poisoned({2, 10}, dt()), loss = poisoned({2}, f32), lse = poisoned({2}, f32);
  try {
    cross_entropy_forward(loss, lse, gl, ints_to_gpu({1, 10}));
    FAIL() << "expected an error for target 10";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("token 1 has target 10"), std::string::npos) << e.what();
  }
}

TEST_P(CudaOps, AdamwMatchesCpu) {
  if (dt() != f32) GTEST_SKIP() << "the optimizer runs on fp32 master buffers only";
  const int64_t n = 100003;
  Tensor p = rand_host({n}, f32, rng), m = Tensor::zeros({n}, f32), v = Tensor::zeros({n}, f32);
  Tensor gp = to_gpu(p, f32), gm = to_gpu(m, f32), gv = to_gpu(v, f32);
  AdamWParams hp;
  hp.lr = 1e-2f;
  hp.weight_decay = 0.1f;
  for (int64_t s = 1; s <= 3; ++s) {
    hp.step = s;
    Tensor g = rand_host({n}, f32, rng);
    adamw_step(p, m, v, g, hp);
    adamw_step(gp, gm, gv, to_gpu(g, f32), hp);
  }
  EXPECT_LE(rel_err(to_host(gp), p), 1e-6);
  EXPECT_LE(rel_err(to_host(gm), m), 1e-6);
  EXPECT_LE(rel_err(to_host(gv), v), 1e-6);
}

TEST_P(CudaOps, GpuDtypeRulesAreClearErrors) {
  Tensor x = poisoned({4, 8}, dt()), w = poisoned({8}, dt()), out = poisoned({4, 8}, dt());
  if (dt() != f32) {
    Tensor rstd16 = poisoned({4}, dt());
    try {
      rmsnorm_forward(out, rstd16, x, w, 1e-5f);
      FAIL() << "expected an error for a 16-bit rstd";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("rmsnorm_forward: rstd: expected f32"), std::string::npos) << e.what();
    }
  }
  Tensor host = Tensor::zeros({4, 8}, dt() == f32 ? f32 : dt());
  EXPECT_THROW(add(out, x, host), Error);  // mixed devices
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CudaOps, ::testing::Values(DType::f32, DType::bf16, DType::f16), dtype_label);
