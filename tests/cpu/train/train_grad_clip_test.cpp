// Tests of global-norm clipping (torch clip_grad_norm_ formula) and DeepSpeed's fp16 combined
// unscale-and-clip.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "train/grad_clip.hpp"

using namespace zt;
using namespace zt::train;

namespace {
Tensor vec(std::initializer_list<float> x) {
  Tensor t = Tensor::empty({int64_t(x.size())}, DType::f32);
  int i = 0;
  for (float e : x) t.data<float>()[i++] = e;
  return t;
}
}  // namespace

TEST(GradClip, GlobalNormOverAllTensors) {
  std::vector<Tensor> g = {vec({3.0f, 4.0f}), vec({12.0f}), Tensor::zeros({0}, DType::f32)};
  EXPECT_DOUBLE_EQ(global_grad_norm(g), 13.0);
  // Large enough for the OpenMP reduction: 200000 ones have norm sqrt(200000).
  Tensor big = Tensor::empty({200000}, DType::f32);
  big.fill(1.0);
  EXPECT_NEAR(global_grad_norm(std::vector<Tensor>{big}), std::sqrt(200000.0), 1e-9);
  // f32 values whose squares overflow f32 stay finite in the double accumulation.
  EXPECT_NEAR(global_grad_norm(std::vector<Tensor>{vec({3e38f, 3e38f})}), std::sqrt(2.0) * double(3e38f), 1e25);
  // Any inf or NaN makes the norm non-finite: the fp16 overflow test.
  EXPECT_FALSE(std::isfinite(global_grad_norm(std::vector<Tensor>{vec({1.0f, INFINITY})})));
  EXPECT_FALSE(std::isfinite(global_grad_norm(std::vector<Tensor>{vec({NAN}), vec({1.0f})})));
}

TEST(GradClip, ClipsLikeTorch) {
  std::vector<Tensor> g = {vec({3.0f, 4.0f}), vec({12.0f})};
  const double total = clip_grad_norm(g, 1.0);
  EXPECT_DOUBLE_EQ(total, 13.0);  // the norm before clipping
  const double coef = 1.0 / (13.0 + 1e-6);
  EXPECT_FLOAT_EQ(g[0].data<float>()[0], float(3.0 * coef));
  EXPECT_FLOAT_EQ(g[0].data<float>()[1], float(4.0 * coef));
  EXPECT_FLOAT_EQ(g[1].data<float>()[0], float(12.0 * coef));
  EXPECT_NEAR(global_grad_norm(g), 1.0, 1e-6);
  // Under the limit nothing changes (coef >= 1).
  std::vector<Tensor> h = {vec({0.3f, 0.4f})};
  EXPECT_NEAR(clip_grad_norm(h, 1.0), 0.5, 1e-7);
  EXPECT_EQ(h[0].data<float>()[0], 0.3f);
  EXPECT_EQ(h[0].data<float>()[1], 0.4f);
  EXPECT_THROW(clip_grad_norm(h, 0.0), Error);
}

TEST(GradClip, Float64Gradients) {
  Tensor d = Tensor::empty({2}, DType::f64);
  d.data<double>()[0] = 6.0;
  d.data<double>()[1] = 8.0;
  std::vector<Tensor> g = {d};
  EXPECT_DOUBLE_EQ(clip_grad_norm(g, 5.0), 10.0);
  EXPECT_NEAR(d.data<double>()[0], 6.0 * 5.0 / (10.0 + 1e-6), 1e-15);
}

TEST(GradClip, Fp16CombinedUnscaleAndClip) {
  // True gradients (3, 4, 12) (norm 13) scaled by 1024.
  const double scale = 1024.0;
  std::vector<Tensor> g = {vec({3.0f * 1024, 4.0f * 1024}), vec({12.0f * 1024})};
  const double scaled_norm = global_grad_norm(g);
  EXPECT_DOUBLE_EQ(scaled_norm, 13.0 * 1024);
  const double combined = unscale_and_clip(g, scaled_norm, scale, 1.0);
  EXPECT_DOUBLE_EQ(combined, scale * (13.0 + 1e-6));
  EXPECT_NEAR(g[0].data<float>()[0], 3.0 / (13.0 + 1e-6), 1e-7);
  EXPECT_NEAR(g[1].data<float>()[0], 12.0 / (13.0 + 1e-6), 1e-7);

  // Clip above the true norm: plain unscaling, exact for a power-of-two scale.
  std::vector<Tensor> u = {vec({3.0f * 1024, 4.0f * 1024}), vec({12.0f * 1024})};
  EXPECT_EQ(unscale_and_clip(u, global_grad_norm(u), scale, 20.0), scale);
  EXPECT_EQ(u[0].data<float>()[0], 3.0f);
  EXPECT_EQ(u[1].data<float>()[0], 12.0f);
  // clip 0 = off (DeepSpeed's gradient_clipping 0).
  std::vector<Tensor> w = {vec({2048.0f})};
  EXPECT_EQ(unscale_and_clip(w, 1e9, scale, 0.0), scale);
  EXPECT_EQ(w[0].data<float>()[0], 2.0f);
  // bf16/fp32: scale 1 reduces to clipping by max(1, (norm + 1e-6) / clip).
  std::vector<Tensor> b = {vec({6.0f, 8.0f})};
  EXPECT_DOUBLE_EQ(unscale_and_clip(b, 10.0, 1.0, 2.0), (10.0 + 1e-6) / 2.0);
  EXPECT_NEAR(b[0].data<float>()[1], 8.0 * 2.0 / (10.0 + 1e-6), 1e-6);
  EXPECT_THROW(unscale_and_clip(b, 1.0, 0.0, 1.0), Error);
}

TEST(GradClip, RejectsUnsupportedTensors) {
  EXPECT_THROW(global_grad_norm(std::vector<Tensor>{Tensor::zeros({2}, DType::bf16)}), Error);
  EXPECT_THROW(global_grad_norm(std::vector<Tensor>{Tensor()}), Error);
  static float host[2] = {};
  Tensor c = Tensor::view_of(Buffer::wrap(host, sizeof(host), Device::CUDA(0), nullptr), 0, {2}, DType::f32);
  try {
    global_grad_norm(std::vector<Tensor>{c});
    FAIL() << "expected an error";
  } catch (const Error& e) {
#ifdef ZT_HAVE_CUDA  // CUDA builds route GPU gradients to ops::sum_squares, which first needs cuda::initialize()
    EXPECT_NE(std::string(e.what()).find("CUDA backend was not initialised"), std::string::npos) << e.what();
#else
    EXPECT_NE(std::string(e.what()).find("no CUDA kernel in this build"), std::string::npos) << e.what();
#endif
  }
}
