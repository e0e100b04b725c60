// Forward results of the CPU ops against independent naive double-precision formulas, the rope frequency
// schedules against the transformers formulas, and f32 kernels against f64 kernels (forward and backward).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "cpu/ops/ops_test_util.hpp"
#include "ops/activation.hpp"
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

double max_rel(const Tensor& t, const std::vector<double>& ref) {
  double m = 0, scale = 1e-30;
  for (int64_t i = 0; i < t.numel(); ++i) {
    m = std::max(m, std::fabs(at(t, i) - ref[size_t(i)]));
    scale = std::max(scale, std::fabs(ref[size_t(i)]));
  }
  return m / scale;
}

Tensor ids_tensor(const std::vector<int32_t>& v) {
  Tensor t = Tensor::empty({int64_t(v.size())}, DType::i32);
  for (size_t i = 0; i < v.size(); ++i) t.data<int32_t>()[i] = v[i];
  return t;
}
}  // namespace

TEST(Forward, RmsNorm) {
  for (DType dt : {f32, f64}) {
    std::mt19937_64 rng(1);
    const int64_t N = 9, C = 40;
    const float eps = 1e-6f;
    Tensor x = rand_tensor({N, C}, dt, rng, -3, 3), w = rand_tensor({C}, dt, rng, 0.5, 1.5);
    Tensor out = Tensor::empty({N, C}, dt), rstd = Tensor::empty({N}, dt);
    rmsnorm_forward(out, rstd, x, w, eps);
    std::vector<double> ref(static_cast<size_t>(N * C)), ref_r(static_cast<size_t>(N));
    for (int64_t t = 0; t < N; ++t) {
      double ss = 0;
      for (int64_t c = 0; c < C; ++c) ss += at(x, t * C + c) * at(x, t * C + c);
      ref_r[size_t(t)] = 1.0 / std::sqrt(ss / double(C) + double(eps));
      for (int64_t c = 0; c < C; ++c) ref[size_t(t * C + c)] = at(w, c) * at(x, t * C + c) * ref_r[size_t(t)];
    }
    const double tol = dt == f32 ? 1e-6 : 1e-14;
    EXPECT_LT(max_rel(out, ref), tol);
    EXPECT_LT(max_rel(rstd, ref_r), tol);
  }
}

TEST(Forward, RopeDefaultInvFreqAndRotation) {
  RopeConfig cfg;
  cfg.head_dim = 64;
  cfg.theta = 500000.0;
  Tensor inv = rope_inv_freq(cfg);
  ASSERT_EQ(inv.shape(), Shape{32});
  for (int i = 0; i < 32; ++i)
    EXPECT_NEAR(inv.data<float>()[i], 1.0 / std::pow(500000.0, 2.0 * i / 64.0), 2e-6 * (1.0 / std::pow(500000.0, 2.0 * i / 64.0)))
        << i;
  for (DType dt : {f32, f64}) {
    std::mt19937_64 rng(2);
    const int64_t T = 6, H = 2, D = 64, half = 32;
    Tensor pos = ids_tensor({0, 1, 5, 100, 2047, 0});
    Tensor x = rand_tensor({T, H, D}, dt, rng), y = x.clone();
    rope_forward(y, pos, inv);
    // rotate_half: out = x * cos + cat(-x2, x1) * sin, angle = float(pos) * inv_freq (fp32 as transformers).
    std::vector<double> ref(static_cast<size_t>(T * H * D));
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t d = 0; d < D; ++d) {
          const int64_t i = d % half;
          const double angle = double(float(pos.data<int32_t>()[t]) * inv.data<float>()[i]);
          const double xd = at(x, (t * H + h) * D + d);
          const double rot = d < half ? -at(x, (t * H + h) * D + d + half) : at(x, (t * H + h) * D + d - half);
          ref[size_t((t * H + h) * D + d)] = xd * std::cos(angle) + rot * std::sin(angle);
        }
    EXPECT_LT(max_rel(y, ref), dt == f32 ? 1e-6 : 1e-14);
    // backward is the inverse rotation
    rope_backward(y, pos, inv);
    EXPECT_LT(rel_err(y, x), dt == f32 ? 1e-6 : 1e-14);
  }
}

TEST(Forward, RopeLlama3InvFreqRegimes) {
  RopeConfig cfg;
  cfg.head_dim = 128;
  cfg.theta = 500000.0;
  cfg.type = "llama3";
  cfg.factor = 8.0;
  cfg.low_freq_factor = 1.0;
  cfg.high_freq_factor = 4.0;
  cfg.original_max_position_embeddings = 8192;
  Tensor inv = rope_inv_freq(cfg);
  const double low_wavelen = 8192.0 / 1.0, high_wavelen = 8192.0 / 4.0;
  int low = 0, high = 0, medium = 0;
  for (int i = 0; i < 64; ++i) {
    const double base = 1.0 / std::pow(500000.0, 2.0 * i / 128.0);
    const double wavelen = 2 * M_PI / base;
    double expect;
    if (wavelen < high_wavelen) {
      expect = base;
      ++high;
    } else if (wavelen > low_wavelen) {
      expect = base / 8.0;
      ++low;
    } else {
      const double smooth = (8192.0 / wavelen - 1.0) / (4.0 - 1.0);
      expect = (1 - smooth) * base / 8.0 + smooth * base;
      ++medium;
    }
    EXPECT_NEAR(inv.data<float>()[i], expect, 3e-6 * expect) << "i = " << i << " wavelen " << wavelen;
  }
  // All three regimes are exercised by the Llama 3 settings.
  EXPECT_GT(low, 0);
  EXPECT_GT(high, 0);
  EXPECT_GT(medium, 0);
}

TEST(Forward, SwiGLU) {
  std::mt19937_64 rng(3);
  const int64_t n = 1000;
  Tensor g = rand_tensor({n}, f64, rng, -8, 8), u = rand_tensor({n}, f64, rng), out = Tensor::empty({n}, f64);
  swiglu_forward(out, g, u);
  std::vector<double> ref(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) ref[size_t(i)] = at(g, i) / (1.0 + std::exp(-at(g, i))) * at(u, i);
  EXPECT_LT(max_rel(out, ref), 1e-14);
}

TEST(Forward, GemmAllTranspositions) {
  std::mt19937_64 rng(4);
  const int64_t M = 7, N = 5, K = 11;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      Tensor a = rand_tensor(ta ? Shape{K, M} : Shape{M, K}, f64, rng), b = rand_tensor(tb ? Shape{N, K} : Shape{K, N}, f64, rng);
      Tensor c = rand_tensor({M, N}, f64, rng), c0 = c.clone();
      gemm(c, a, ta, b, tb, 0.5f, 2.0f);
      std::vector<double> ref(static_cast<size_t>(M * N));
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
          double s = 0;
          for (int64_t k = 0; k < K; ++k) s += at(a, ta ? k * M + i : i * K + k) * at(b, tb ? j * K + k : k * N + j);
          ref[size_t(i * N + j)] = 0.5 * s + 2.0 * at(c0, i * N + j);
        }
      EXPECT_LT(max_rel(c, ref), 1e-14) << ta << tb;
    }
}

TEST(Forward, LinearBiasAndAccumulate) {
  std::mt19937_64 rng(5);
  const int64_t T = 6, in = 10, out = 4;
  Tensor x = rand_tensor({T, in}, f64, rng), w = rand_tensor({out, in}, f64, rng), b = rand_tensor({out}, f64, rng);
  Tensor y = rand_tensor({T, out}, f64, rng), y0 = y.clone();
  std::vector<double> xw(static_cast<size_t>(T * out));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t o = 0; o < out; ++o) {
      double s = 0;
      for (int64_t i = 0; i < in; ++i) s += at(x, t * in + i) * at(w, o * in + i);
      xw[size_t(t * out + o)] = s;
    }
  linear_forward(y, x, w, b, /*accumulate=*/true);
  std::vector<double> ref(static_cast<size_t>(T * out));
  for (int64_t i = 0; i < T * out; ++i) ref[size_t(i)] = at(y0, i) + xw[size_t(i)] + at(b, i % out);
  EXPECT_LT(max_rel(y, ref), 1e-14);
  linear_forward(y, x, w, Tensor());
  EXPECT_LT(max_rel(y, xw), 1e-14);
}

TEST(Forward, LoRAWithDropout) {
  std::mt19937_64 rng(6);
  const int64_t T = 5, in = 9, r = 3, out = 6;
  const DropoutSpec d{0.5f, 77, 1000};
  Tensor x = rand_tensor({T, in}, f64, rng), right = rand_tensor({in, r}, f64, rng), left = rand_tensor({r, out}, f64, rng);
  Tensor y = rand_tensor({T, out}, f64, rng), y0 = y.clone(), h = Tensor::empty({T, r}, f64);
  lora_forward(y, h, x, right, left, 0.75f, d);
  std::vector<double> ref(static_cast<size_t>(T * out)), href(static_cast<size_t>(T * r), 0.0);
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t k = 0; k < r; ++k)
      for (int64_t i = 0; i < in; ++i) {
        const double xd = dropout_keep(d, uint64_t(t * in + i)) ? at(x, t * in + i) / 0.5 : 0.0;
        href[size_t(t * r + k)] += xd * at(right, i * r + k);
      }
    for (int64_t o = 0; o < out; ++o) {
      double s = 0;
      for (int64_t k = 0; k < r; ++k) s += href[size_t(t * r + k)] * at(left, k * out + o);
      ref[size_t(t * out + o)] = at(y0, t * out + o) + 0.75 * s;
    }
  }
  EXPECT_LT(max_rel(h, href), 1e-14);
  EXPECT_LT(max_rel(y, ref), 1e-14);
}

TEST(Forward, CrossEntropyAllLogitDtypes) {
  std::mt19937_64 rng(7);
  const int64_t T = 6, V = 50;
  Tensor logits64 = rand_tensor({T, V}, f64, rng, -10, 10);
  Tensor targets = ids_tensor({0, 49, -100, 17, 17, 3});
  for (DType dt : {f64, f32, DType::bf16, DType::f16}) {
    SCOPED_TRACE(dtype_name(dt));
    Tensor logits = logits64.to_dtype(dt), as64 = logits.to_dtype(f64);  // the values the kernel actually sees
    Tensor loss = Tensor::empty({T}, f32), lse = Tensor::empty({T}, f32);
    cross_entropy_forward(loss, lse, logits, targets);
    std::vector<double> ref_loss(static_cast<size_t>(T)), ref_lse(static_cast<size_t>(T));
    for (int64_t t = 0; t < T; ++t) {
      double mx = -1e300, s = 0;
      for (int64_t v = 0; v < V; ++v) mx = std::max(mx, at(as64, t * V + v));
      for (int64_t v = 0; v < V; ++v) s += std::exp(at(as64, t * V + v) - mx);
      ref_lse[size_t(t)] = mx + std::log(s);
      const int32_t tg = targets.data<int32_t>()[t];
      ref_loss[size_t(t)] = tg == kIgnoreIndex ? 0.0 : ref_lse[size_t(t)] - at(as64, t * V + tg);
    }
    EXPECT_LT(max_rel(loss, ref_loss), 1e-6);
    EXPECT_LT(max_rel(lse, ref_lse), 1e-6);
    EXPECT_EQ(loss.data<float>()[2], 0.0f);
    // backward in the logits' dtype, then compared in f64
    Tensor dl = Tensor::empty({T, V}, dt);
    cross_entropy_backward(dl, logits, lse, targets, 0.2f);
    std::vector<double> ref_dl(static_cast<size_t>(T * V));
    for (int64_t t = 0; t < T; ++t)
      for (int64_t v = 0; v < V; ++v) {
        const int32_t tg = targets.data<int32_t>()[t];
        ref_dl[size_t(t * V + v)] =
            tg == kIgnoreIndex ? 0.0 : 0.2 * (std::exp(at(as64, t * V + v) - ref_lse[size_t(t)]) - (v == tg ? 1.0 : 0.0));
      }
    const double tol = dt == DType::bf16 ? 1e-2 : dt == DType::f16 ? 2e-3 : 1e-6;
    EXPECT_LT(max_rel(dl.to_dtype(f64), ref_dl), tol);
  }
}

TEST(Forward, EmbeddingLookup) {
  std::mt19937_64 rng(8);
  Tensor table = rand_tensor({5, 3}, f32, rng), ids = ids_tensor({4, 0, 4, 2});
  Tensor out = Tensor::empty({4, 3}, f32);
  embedding_forward(out, table, ids);
  for (int64_t t = 0; t < 4; ++t)
    for (int64_t c = 0; c < 3; ++c)
      EXPECT_EQ(out.data<float>()[t * 3 + c], table.data<float>()[ids.data<int32_t>()[t] * 3 + c]);
}

// ---- f32 kernels against f64 kernels on the same inputs ----

namespace {
// Runs `fn` on f64 inputs and on their f32 copies; compares the outputs it returns.
template <class Fn> void expect_f32_matches_f64(const char* what, std::vector<Tensor> inputs64, Fn fn, double tol = 1e-5) {
  std::vector<Tensor> inputs32;
  for (auto& t : inputs64) inputs32.push_back(t.dtype() == f64 ? t.to_dtype(f32) : t);
  std::vector<Tensor> a = fn(inputs64, f64), b = fn(inputs32, f32);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_LT(rel_err(b[i], a[i]), tol) << what << " output " << i;
}
}  // namespace

TEST(F32VsF64, AllOps) {
  std::mt19937_64 rng(9);
  const int64_t T = 33, C = 48, F = 64, V = 200, r = 8;
  using Ts = std::vector<Tensor>;
  expect_f32_matches_f64("rmsnorm", {rand_tensor({T, C}, f64, rng, -2, 2), rand_tensor({C}, f64, rng), rand_tensor({T, C}, f64, rng)},
                         [&](const Ts& in, DType dt) {
                           Tensor out = Tensor::empty({T, C}, dt), rs = Tensor::empty({T}, dt), dx = Tensor::empty({T, C}, dt);
                           Tensor dw = Tensor::zeros({C}, dt);
                           rmsnorm_forward(out, rs, in[0], in[1], 1e-5f);
                           rmsnorm_backward(dx, dw, in[2], in[0], in[1], rs);
                           return Ts{out, rs, dx, dw};
                         });
  RopeConfig cfg;
  cfg.head_dim = 16;
  cfg.type = "llama3";
  Tensor inv = rope_inv_freq(cfg);
  SeqLayout seq = make_seq_layout({20, 13});
  expect_f32_matches_f64("rope", {rand_tensor({T, 3, 16}, f64, rng)}, [&](const Ts& in, DType dt) {
    Tensor y = in[0].clone(), dx = in[0].clone();
    rope_forward(y, seq.positions, inv);
    rope_backward(dx, seq.positions, inv);
    return Ts{y, dx};
  });
  expect_f32_matches_f64("swiglu", {rand_tensor({T, F}, f64, rng, -5, 5), rand_tensor({T, F}, f64, rng), rand_tensor({T, F}, f64, rng)},
                         [&](const Ts& in, DType dt) {
                           Tensor out = Tensor::empty({T, F}, dt), dg = Tensor::empty({T, F}, dt), du = Tensor::empty({T, F}, dt);
                           swiglu_forward(out, in[0], in[1]);
                           swiglu_backward(dg, du, in[2], in[0], in[1]);
                           return Ts{out, dg, du};
                         });
  expect_f32_matches_f64("linear", {rand_tensor({T, C}, f64, rng), rand_tensor({F, C}, f64, rng), rand_tensor({F}, f64, rng),
                                    rand_tensor({T, F}, f64, rng)},
                         [&](const Ts& in, DType dt) {
                           Tensor y = Tensor::empty({T, F}, dt), dx = Tensor::empty({T, C}, dt);
                           Tensor dw = Tensor::zeros({F, C}, dt), db = Tensor::zeros({F}, dt);
                           linear_forward(y, in[0], in[1], in[2]);
                           linear_backward(dx, dw, db, in[3], in[0], in[1]);
                           return Ts{y, dx, dw, db};
                         });
  expect_f32_matches_f64("lora", {rand_tensor({T, C}, f64, rng), rand_tensor({C, r}, f64, rng), rand_tensor({r, F}, f64, rng),
                                  rand_tensor({T, F}, f64, rng)},
                         [&](const Ts& in, DType dt) {
                           const DropoutSpec d{0.1f, 3, 0};
                           Tensor y = Tensor::zeros({T, F}, dt), h = Tensor::empty({T, r}, dt), dh = Tensor::empty({T, r}, dt);
                           Tensor dx = Tensor::zeros({T, C}, dt), dr = Tensor::zeros({C, r}, dt), dl = Tensor::zeros({r, F}, dt);
                           lora_forward(y, h, in[0], in[1], in[2], 2.0f, d);
                           lora_backward(dx, dr, dl, dh, in[3], in[0], h, in[1], in[2], 2.0f, d);
                           return Ts{y, h, dx, dr, dl};
                         });
  Tensor targets = Tensor::empty({T}, DType::i32);
  for (int64_t t = 0; t < T; ++t) targets.data<int32_t>()[t] = t % 5 == 0 ? kIgnoreIndex : int32_t((t * 37) % V);
  expect_f32_matches_f64("cross_entropy", {rand_tensor({T, V}, f64, rng, -8, 8)}, [&](const Ts& in, DType dt) {
    Tensor loss = Tensor::empty({T}, dt), lse = Tensor::empty({T}, dt), dl = Tensor::empty({T, V}, dt);
    cross_entropy_forward(loss, lse, in[0], targets);
    cross_entropy_backward(dl, in[0], lse, targets, 0.1f);
    return Ts{loss, lse, dl};
  });
  Tensor ids = Tensor::empty({T}, DType::i32);
  for (int64_t t = 0; t < T; ++t) ids.data<int32_t>()[t] = int32_t((t * 7) % 20);
  expect_f32_matches_f64("embedding", {rand_tensor({20, C}, f64, rng), rand_tensor({T, C}, f64, rng)},
                         [&](const Ts& in, DType dt) {
                           Tensor out = Tensor::empty({T, C}, dt), dt_ = Tensor::zeros({20, C}, dt);
                           embedding_forward(out, in[0], ids);
                           embedding_backward(dt_, in[1], ids);
                           return Ts{out, dt_};
                         });
}
