// The fused CUDA attention (forward: out + lse; backward: dq, dk, dv) against the CPU reference on pad-free
// micro-batches: ragged lengths (incl. empty and 1-token sequences), GQA, head dims 40/64/128, dropout.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "cuda/cuda_test_util.hpp"
#include "ops/attention.hpp"

using namespace zt;
using namespace zt::ops;
using namespace zt::cudatest;

namespace {
constexpr DType f32 = DType::f32;

struct Case {
  std::vector<int32_t> lens;
  int Hq, Hkv, D;
  float p;
};

void run_case(const Case& c, DType dt, std::mt19937_64& rng) {
  SeqLayout seq = make_seq_layout(c.lens);
  const int64_t T = seq.num_tokens();
  const float scale = 1.0f / std::sqrt(float(c.D));
  const DropoutSpec drop{c.p, 4242, 17};
  Tensor q = rand_host({T, c.Hq, c.D}, dt, rng, -2, 2), k = rand_host({T, c.Hkv, c.D}, dt, rng, -2, 2);
  Tensor v = rand_host({T, c.Hkv, c.D}, dt, rng);
  Tensor out = Tensor::empty({T, c.Hq, c.D}, f32), lse = Tensor::empty({c.Hq, T}, f32);
  attention_forward(out, lse, q, k, v, seq, scale, drop);

  Tensor gq = to_gpu(q, dt), gk = to_gpu(k, dt), gv = to_gpu(v, dt);
  Tensor gout = poisoned({T, c.Hq, c.D}, dt), glse = poisoned({c.Hq, T}, f32);
  attention_forward(gout, glse, gq, gk, gv, seq, scale, drop);
  const std::string what = "D=" + std::to_string(c.D) + " Hq=" + std::to_string(c.Hq) + " Hkv=" + std::to_string(c.Hkv) +
                           " p=" + std::to_string(c.p) + " " + dtype_name(dt);
  EXPECT_CLOSE(gout, out, dt) << what;
  EXPECT_LE(rel_err(to_host(glse), lse), 1e-5) << what;

  // Backward from the GPU's own forward outputs (rounded to dt), fed to both sides.
  Tensor outq = to_host(gout), lseq = to_host(glse);
  Tensor dout = rand_host({T, c.Hq, c.D}, dt, rng);
  Tensor dq = Tensor::empty({T, c.Hq, c.D}, f32), dk = Tensor::empty({T, c.Hkv, c.D}, f32), dv = Tensor::empty({T, c.Hkv, c.D}, f32);
  attention_backward(dq, dk, dv, dout, q, k, v, outq, lseq, seq, scale, drop);
  Tensor gdq = poisoned({T, c.Hq, c.D}, dt), gdk = poisoned({T, c.Hkv, c.D}, dt), gdv = poisoned({T, c.Hkv, c.D}, dt);
  attention_backward(gdq, gdk, gdv, to_gpu(dout, dt), gq, gk, gv, gout, glse, seq, scale, drop);
  EXPECT_CLOSE(gdq, dq, dt) << what;
  EXPECT_CLOSE(gdk, dk, dt) << what;
  EXPECT_CLOSE(gdv, dv, dt) << what;
}
}  // namespace

TEST_P(CudaOps, AttentionRaggedGqa) {
  run_case({{37, 1, 0, 130, 64, 200}, 8, 2, 128, 0.0f}, dt(), rng);
  run_case({{65, 129}, 4, 4, 64, 0.0f}, dt(), rng);
  run_case({{100, 3, 31}, 6, 2, 40, 0.0f}, dt(), rng);
}

TEST_P(CudaOps, AttentionWithDropout) { run_case({{77, 150}, 4, 2, 64, 0.1f}, dt(), rng); }

TEST_P(CudaOps, AttentionLongSequence) { run_case({{1100}, 2, 1, 128, 0.0f}, dt(), rng); }

TEST_P(CudaOps, AttentionRejectsLargeHeadDim) {
  SeqLayout seq = make_seq_layout({4});
  Tensor q = poisoned({4, 1, 160}, dt()), lse = poisoned({1, 4}, f32), out = poisoned({4, 1, 160}, dt());
  try {
    attention_forward(out, lse, q, q, q, seq, 0.1f);
    FAIL() << "expected an error for head_dim 160";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("head_dim 160"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CudaOps, ::testing::Values(DType::f32, DType::bf16, DType::f16), dtype_label);
