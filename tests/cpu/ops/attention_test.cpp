// Causal GQA attention on the CPU: forward against a naive double-precision reference, finite-difference gradients,
// padded-vs-pad-free equivalence, dropout consistency, f32-vs-f64 agreement and argument errors.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "cpu/ops/ops_test_util.hpp"
#include "ops/attention.hpp"

using namespace zt;
using namespace zt::ops;
using namespace zt::test;

namespace {
constexpr DType f64 = DType::f64;

struct Ref {
  std::vector<double> out;  // (T, Hq, D)
  std::vector<double> lse;  // (Hq, T)
};

// Straightforward attention: for each sequence, head and query, softmax over the keys at or before it.
Ref naive_attention(const Tensor& q, const Tensor& k, const Tensor& v, const SeqLayout& seq, double scale,
                    const DropoutSpec& drop) {
  const int64_t T = q.size(0), Hq = q.size(1), Hkv = k.size(1), D = q.size(2);
  Ref r{std::vector<double>(size_t(T * Hq * D), 0.0), std::vector<double>(size_t(Hq * T), 0.0)};
  for (int b = 0; b < seq.num_seqs(); ++b) {
    const int64_t s0 = seq.cu_host[b], len = seq.cu_host[b + 1] - s0;
    for (int64_t h = 0; h < Hq; ++h) {
      const int64_t kvh = h / (Hq / Hkv);
      for (int64_t i = 0; i < len; ++i) {
        const int64_t t = s0 + i;
        std::vector<double> s(size_t(i + 1));
        double mx = -1e300;
        for (int64_t j = 0; j <= i; ++j) {
          double acc = 0;
          for (int64_t d = 0; d < D; ++d) acc += at(q, (t * Hq + h) * D + d) * at(k, ((s0 + j) * Hkv + kvh) * D + d);
          s[size_t(j)] = acc * scale;
          mx = std::max(mx, s[size_t(j)]);
        }
        double sum = 0;
        for (double x : s) sum += std::exp(x - mx);
        r.lse[size_t(h * T + t)] = mx + std::log(sum);
        for (int64_t j = 0; j <= i; ++j) {
          double p = std::exp(s[size_t(j)] - mx) / sum;
          if (drop.active())
            p = dropout_keep(drop, uint64_t((h * T + t) * seq.max_seqlen + j)) ? p / (1.0 - double(drop.p)) : 0.0;
          for (int64_t d = 0; d < D; ++d) r.out[size_t((t * Hq + h) * D + d)] += p * at(v, ((s0 + j) * Hkv + kvh) * D + d);
        }
      }
    }
  }
  return r;
}

double max_diff(const Tensor& t, const std::vector<double>& ref) {
  double m = 0, scale = 1e-30;
  for (int64_t i = 0; i < t.numel(); ++i) {
    m = std::max(m, std::fabs(at(t, i) - ref[size_t(i)]));
    scale = std::max(scale, std::fabs(ref[size_t(i)]));
  }
  return m / scale;
}

struct Problem {
  SeqLayout seq;
  Tensor q, k, v;
  int64_t T, Hq, Hkv, D;
};

Problem make_problem(const std::vector<int32_t>& lengths, int64_t Hq, int64_t Hkv, int64_t D, DType dt, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Problem p{make_seq_layout(lengths), {}, {}, {}, 0, Hq, Hkv, D};
  p.T = p.seq.num_tokens();
  p.q = rand_tensor({p.T, Hq, D}, dt, rng, -1.5, 1.5);
  p.k = rand_tensor({p.T, Hkv, D}, dt, rng, -1.5, 1.5);
  p.v = rand_tensor({p.T, Hkv, D}, dt, rng);
  return p;
}
}  // namespace

TEST(Attention, ForwardMatchesNaiveReference) {
  for (float p : {0.0f, 0.3f}) {
    SCOPED_TRACE("dropout " + std::to_string(p));
    Problem pr = make_problem({5, 1, 12, 7}, 4, 2, 8, f64, 11);
    const DropoutSpec drop{p, 42, 1000};
    const double scale = 1.0 / std::sqrt(8.0);
    Tensor out = Tensor::empty({pr.T, 4, 8}, f64), lse = Tensor::empty({4, pr.T}, f64);
    attention_forward(out, lse, pr.q, pr.k, pr.v, pr.seq, float(scale), drop);
    Ref ref = naive_attention(pr.q, pr.k, pr.v, pr.seq, double(float(scale)), drop);
    EXPECT_LT(max_diff(out, ref.out), 1e-13);
    EXPECT_LT(max_diff(lse, ref.lse), 1e-13);
  }
}

TEST(Attention, GradcheckGqaSeveralSequences) {
  struct Case {
    int64_t Hq, Hkv;
    float p;
  };
  for (Case c : {Case{4, 2, 0.0f}, Case{4, 1, 0.0f}, Case{2, 2, 0.0f}, Case{6, 2, 0.25f}}) {
    SCOPED_TRACE("Hq " + std::to_string(c.Hq) + " Hkv " + std::to_string(c.Hkv) + " dropout " + std::to_string(c.p));
    const int64_t D = 6;
    Problem pr = make_problem({4, 1, 6, 3}, c.Hq, c.Hkv, D, f64, 12);
    const DropoutSpec drop{c.p, 7, 3};
    const float scale = 0.45f;
    std::mt19937_64 rng(13);
    Tensor R = rand_tensor({pr.T, c.Hq, D}, f64, rng);
    Tensor out = Tensor::empty({pr.T, c.Hq, D}, f64), lse = Tensor::empty({c.Hq, pr.T}, f64);
    auto f = [&] {
      attention_forward(out, lse, pr.q, pr.k, pr.v, pr.seq, scale, drop);
      return dot_all(out, R);
    };
    f();
    Tensor dq = Tensor::empty(pr.q.shape(), f64), dk = Tensor::empty(pr.k.shape(), f64), dv = Tensor::empty(pr.v.shape(), f64);
    attention_backward(dq, dk, dv, R, pr.q, pr.k, pr.v, out, lse, pr.seq, scale, drop);
    expect_grad_matches("attention dq", pr.q, dq, f, 1e-6);
    expect_grad_matches("attention dk", pr.k, dk, f, 1e-6);
    expect_grad_matches("attention dv", pr.v, dv, f, 1e-6);
  }
}

TEST(Attention, PaddedBatchEqualsPadFree) {
  const std::vector<int32_t> lengths = {5, 1, 9, 3};
  const int64_t L = 9, Hq = 4, Hkv = 2, D = 8, B = int64_t(lengths.size());
  const float scale = 0.3f;
  Problem free = make_problem(lengths, Hq, Hkv, D, f64, 21);
  std::mt19937_64 rng(22);
  Tensor R = rand_tensor({free.T, Hq, D}, f64, rng);

  // The padded batch: sequence b occupies rows [b*L, b*L + len) followed by junk pad rows; every sequence has length L.
  Problem pad = make_problem(std::vector<int32_t>(size_t(B), int32_t(L)), Hq, Hkv, D, f64, 23);
  Tensor Rpad = Tensor::zeros({B * L, Hq, D}, f64);  // pads get no gradient (their labels are ignored)
  auto row_map = [&](int64_t b, int64_t i) { return std::pair{free.seq.cu_host[b] + i, b * L + i}; };
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < lengths[b]; ++i) {
      auto [tf, tp] = row_map(b, i);
      for (int64_t e = 0; e < Hq * D; ++e) {
        pad.q.data<double>()[tp * Hq * D + e] = free.q.data<double>()[tf * Hq * D + e];
        Rpad.data<double>()[tp * Hq * D + e] = R.data<double>()[tf * Hq * D + e];
      }
      for (int64_t e = 0; e < Hkv * D; ++e) {
        pad.k.data<double>()[tp * Hkv * D + e] = free.k.data<double>()[tf * Hkv * D + e];
        pad.v.data<double>()[tp * Hkv * D + e] = free.v.data<double>()[tf * Hkv * D + e];
      }
    }

  auto run = [&](Problem& p, const Tensor& dout, Tensor& out, Tensor& lse, Tensor& dq, Tensor& dk, Tensor& dv) {
    out = Tensor::empty(p.q.shape(), f64);
    lse = Tensor::empty({Hq, p.T}, f64);
    dq = Tensor::empty(p.q.shape(), f64);
    dk = Tensor::empty(p.k.shape(), f64);
    dv = Tensor::empty(p.v.shape(), f64);
    attention_forward(out, lse, p.q, p.k, p.v, p.seq, scale);
    attention_backward(dq, dk, dv, dout, p.q, p.k, p.v, out, lse, p.seq, scale);
  };
  Tensor o1, l1, dq1, dk1, dv1, o2, l2, dq2, dk2, dv2;
  run(free, R, o1, l1, dq1, dk1, dv1);
  run(pad, Rpad, o2, l2, dq2, dk2, dv2);

  double worst = 0;
  auto cmp_rows = [&](const Tensor& a, const Tensor& b, int64_t width) {
    for (int64_t bb = 0; bb < B; ++bb)
      for (int64_t i = 0; i < lengths[bb]; ++i) {
        auto [tf, tp] = row_map(bb, i);
        for (int64_t e = 0; e < width; ++e)
          worst = std::max(worst, std::fabs(a.data<double>()[tf * width + e] - b.data<double>()[tp * width + e]));
      }
  };
  cmp_rows(o1, o2, Hq * D);
  cmp_rows(dq1, dq2, Hq * D);
  cmp_rows(dk1, dk2, Hkv * D);
  cmp_rows(dv1, dv2, Hkv * D);
  for (int64_t h = 0; h < Hq; ++h)
    for (int64_t bb = 0; bb < B; ++bb)
      for (int64_t i = 0; i < lengths[bb]; ++i) {
        auto [tf, tp] = row_map(bb, i);
        worst = std::max(worst, std::fabs(l1.data<double>()[h * free.T + tf] - l2.data<double>()[h * pad.T + tp]));
      }
  EXPECT_LT(worst, 1e-13);
}

TEST(Attention, F32AgreesWithF64) {
  Problem p64 = make_problem({17, 3, 30, 1, 12}, 8, 2, 16, f64, 31);
  Problem p32 = make_problem({17, 3, 30, 1, 12}, 8, 2, 16, DType::f32, 31);  // same values (f32-representable)
  std::mt19937_64 rng(32);
  Tensor R64 = rand_tensor(p64.q.shape(), f64, rng), R32 = R64.to_dtype(DType::f32);
  const float scale = 0.25f;
  const DropoutSpec drop{0.1f, 5, 0};
  auto run = [&](Problem& p, const Tensor& R, DType dt) {
    std::vector<Tensor> r = {Tensor::empty(p.q.shape(), dt), Tensor::empty({p.Hq, p.T}, dt), Tensor::empty(p.q.shape(), dt),
                             Tensor::empty(p.k.shape(), dt), Tensor::empty(p.v.shape(), dt)};
    attention_forward(r[0], r[1], p.q, p.k, p.v, p.seq, scale, drop);
    attention_backward(r[2], r[3], r[4], R, p.q, p.k, p.v, r[0], r[1], p.seq, scale, drop);
    return r;
  };
  auto a = run(p64, R64, f64), b = run(p32, R32, DType::f32);
  const char* names[] = {"out", "lse", "dq", "dk", "dv"};
  for (int i = 0; i < 5; ++i) EXPECT_LT(rel_err(b[size_t(i)], a[size_t(i)]), 1e-5) << names[i];
}

TEST(Attention, DropoutIsReproducibleAndMatchesUnscaledWhenOff) {
  Problem p = make_problem({10, 6}, 2, 1, 4, DType::f32, 41);
  auto fwd = [&](DropoutSpec d) {
    Tensor out = Tensor::empty(p.q.shape(), DType::f32), lse = Tensor::empty({2, p.T}, DType::f32);
    attention_forward(out, lse, p.q, p.k, p.v, p.seq, 0.5f, d);
    return std::pair{out, lse};
  };
  auto [o1, l1] = fwd({0.5f, 3, 0});
  auto [o2, l2] = fwd({0.5f, 3, 0});
  auto [o3, l3] = fwd({0.5f, 4, 0});
  auto [o0, l0] = fwd({});
  EXPECT_EQ(rel_err(o1, o2), 0.0);   // same spec, same mask
  EXPECT_GT(rel_err(o1, o3), 1e-3);  // another seed drops other probabilities
  EXPECT_GT(rel_err(o1, o0), 1e-3);
  EXPECT_EQ(rel_err(l1, l0), 0.0);   // lse is taken before dropout
}

TEST(Attention, Errors) {
  Problem p = make_problem({3, 2}, 3, 2, 4, DType::f32, 51);
  Tensor out = Tensor::empty(p.q.shape(), DType::f32), lse = Tensor::empty({3, p.T}, DType::f32);
  expect_error([&] { attention_forward(out, lse, p.q, p.k, p.v, p.seq, 1.0f); },
               {"attention_forward", "multiple of kv heads", "num_key_value_heads"});
  Problem g = make_problem({3, 2}, 4, 2, 4, DType::f32, 52);
  Tensor out4 = Tensor::empty(g.q.shape(), DType::f32), lse4 = Tensor::empty({4, g.T}, DType::f32);
  SeqLayout wrong = make_seq_layout({3, 3});
  expect_error([&] { attention_forward(out4, lse4, g.q, g.k, g.v, wrong, 1.0f); }, {"attention_forward", "seq", "6 tokens"});
  Tensor bad_lse = Tensor::empty({g.T, 4}, DType::f32);
  expect_error([&] { attention_forward(out4, bad_lse, g.q, g.k, g.v, g.seq, 1.0f); },
               {"attention_forward: lse: expected shape [4, 5]"});
  expect_error([&] { attention_forward(out4, lse4, g.q, g.k, g.v, g.seq, 1.0f, {1.0f, 0, 0}); },
               {"attention_forward", "dropout probability"});
  Tensor k64 = g.k.to_dtype(f64);
  expect_error([&] { attention_forward(out4, lse4, g.q, k64, g.v, g.seq, 1.0f); }, {"attention_forward: k: expected f32"});
}
