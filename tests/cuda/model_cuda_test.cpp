// The whole model on the GPU against the Hugging Face fixtures (transformers/peft in float64): loss, logits,
// every parameter gradient and the LoRA gradients, in fp32 (tight) and bf16/fp16 (storage-rounding tolerances).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <tuple>

#include "cpu/model/fixture_util.hpp"
#include "io/model_io.hpp"
#include "model/batch.hpp"
#include "ops/cuda/runtime.hpp"
#include "ops/elementwise.hpp"

using namespace zt;
using namespace zt::model;

namespace {

const Device kGpu = Device::CUDA(0);

// Tolerances against the float64 reference. fp32: the CPU engine's (exact fp32 GEMMs, no TF32). 16-bit: weights
// and activations are rounded to bf16 (8-bit mantissa) / fp16 (11-bit) at every op through two decoder blocks and
// the head, with fp32 accumulation and fp32 parameter gradients; a per-tensor bound (small tensors such as norm
// weights see the roundings least averaged) and a tighter bound over all gradients together.
struct Tol {
  double loss, logits, grad_each, grad_all;
};
// Measured on an H200 (2026-11-26), worst over the four fixtures: f32 loss 1.6e-7, logits 4.5e-7, gradients 1.1e-6
// (each) / 6.7e-7 (all); bf16 loss 1.8e-4, logits 1.1e-2, gradients 2.4e-2 / 1.6e-2; f16 loss 4.1e-5, logits 1.3e-3,
// gradients 3.7e-3 / 1.9e-3. The bounds leave about 3x.
Tol tolerance(DType dt) {
  if (dt == DType::f32) return {1e-5, 1e-5, 1e-5, 5e-6};
  if (dt == DType::bf16) return {1e-2, 3e-2, 6e-2, 4e-2};
  return {5e-4, 5e-3, 1e-2, 6e-3};  // f16
}

Tensor host_f32(const Tensor& t) {
  Tensor h = Tensor::empty(t.shape(), DType::f32);
  ops::copy(h, t);
  return h;
}

PackedBatch fixture_batch(const test::Fixture& f) {
  return pack_padded(f.tensors.view("input_ids"), f.tensors.view("attention_mask"), f.tensors.view("labels"));
}

// The fixture's padded (B, L, V) logits, real-token rows only, in the pad-free order.
Tensor real_rows(const Tensor& padded, const test::Fixture& f) {
  auto lengths = f.scalars.at("lengths").get<std::vector<int64_t>>();
  Tensor p = padded.to_dtype(DType::f32);
  int64_t B = p.size(0), L = p.size(1), V = p.size(2), T = 0;
  for (auto n : lengths) T += n;
  Tensor out = Tensor::empty({T, V}, DType::f32);
  int64_t t = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < lengths[b]; ++j, ++t) std::copy_n(p.data<float>() + (b * L + j) * V, V, out.data<float>() + t * V);
  return out;
}

// Accumulates squared differences and squared references over several tensors (all-gradient error).
struct NormAcc {
  double num = 0, den = 0;
  void add(const Tensor& got, const Tensor& ref) {
    Tensor a = got.to_dtype(DType::f64), b = ref.to_dtype(DType::f64);
    for (int64_t i = 0; i < a.numel(); ++i) {
      double d = a.data<double>()[i] - b.data<double>()[i];
      num += std::isfinite(d) ? d * d : INFINITY;
      den += b.data<double>()[i] * b.data<double>()[i];
    }
  }
  double rel() const { return std::sqrt(num) / std::max(std::sqrt(den), 1e-30); }
};

using Param = std::tuple<std::string, DType, bool>;  // fixture, compute dtype, gradient checkpointing

class GpuModel : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override { cuda::initialize(); }
  std::string name() const { return std::get<0>(GetParam()); }
  DType dt() const { return std::get<1>(GetParam()); }
  RunOptions opt() const {
    RunOptions o;
    o.gradient_checkpointing = std::get<2>(GetParam());
    return o;
  }
  std::string label() const {
    return name() + " " + dtype_name(dt()) + (opt().gradient_checkpointing ? " ckpt" : "");
  }
};

TEST_P(GpuModel, LossLogitsAndEveryGradient) {
  const Tol tol = tolerance(dt());
  auto f = test::Fixture::open(name());
  auto m = load_pretrained(test::fixture_dir(name()) + "/model", LoraSpec{}, dt(), 1234, kGpu);
  ASSERT_TRUE(m->param("model.norm.weight").device().is_cuda());
  m->zero_grad();
  Tensor logits;
  const double loss = m->run(fixture_batch(f), opt(), true, 0.0f, &logits);
  ASSERT_TRUE(logits.device().is_cuda());
  const double ref_loss = f.scalars.at("loss").get<double>();
  EXPECT_NEAR(loss, ref_loss, tol.loss * ref_loss) << label();
  const double e_logits = test::rel_err(host_f32(logits), real_rows(f.tensors.view("logits"), f));
  EXPECT_LT(e_logits, tol.logits) << label();
  NormAcc all;
  double worst = 0;
  std::string worst_name;
  int checked = 0;
  for (auto& u : m->layout().units)
    for (auto& p : u.params) {
      Tensor g = m->grad(p.name);
      ASSERT_EQ(g.dtype(), DType::f32) << p.name;
      ASSERT_TRUE(g.device().is_cuda()) << p.name;
      Tensor gh = host_f32(g), ref = f.tensors.view("grad." + p.name);
      double e = test::rel_err(gh, ref);
      EXPECT_LT(e, tol.grad_each) << label() << " " << p.name;
      if (!(e <= worst)) worst = e, worst_name = p.name;
      all.add(gh, ref);
      ++checked;
    }
  EXPECT_GT(checked, 10);
  EXPECT_LT(all.rel(), tol.grad_all) << label();
  std::printf("[model] %-22s loss %.7f (ref %.7f, rel %.1e) logits %.1e grads all %.1e worst %.1e (%s)\n",
              label().c_str(), loss, ref_loss, std::fabs(loss - ref_loss) / ref_loss, e_logits, all.rel(), worst,
              worst_name.c_str());
}

TEST_P(GpuModel, LoraGradientsMatchPeft) {
  const Tol tol = tolerance(dt());
  auto f = test::Fixture::open(name());
  LoraSpec lora;
  lora.dim = f.scalars.at("lora_dim").get<int>();
  lora.module_name = "model.layers.";
  auto m = load_pretrained(test::fixture_dir(name()) + "/model", lora, dt(), 1234, kGpu);
  int loaded = 0;
  for (auto& n : f.tensors.names())
    if (n.starts_with("lora.")) {
      ops::copy(m->param(n.substr(5)), f.tensors.view(n));
      ++loaded;
    }
  EXPECT_EQ(loaded, 2 * 7 * m->config().num_hidden_layers);
  m->zero_grad();
  const double loss = m->run(fixture_batch(f), opt(), true);
  const double ref_loss = f.scalars.at("lora_loss").get<double>();
  EXPECT_NEAR(loss, ref_loss, tol.loss * ref_loss) << label();
  NormAcc all;
  double worst = 0;
  int checked = 0;
  for (auto& n : f.tensors.names())
    if (n.starts_with("lora_grad.")) {
      Tensor gh = host_f32(m->grad(n.substr(10))), ref = f.tensors.view(n);
      double e = test::rel_err(gh, ref);
      EXPECT_LT(e, tol.grad_each) << label() << " " << n;
      worst = std::max(worst, e);
      all.add(gh, ref);
      ++checked;
    }
  EXPECT_EQ(checked, loaded);
  EXPECT_LT(all.rel(), tol.grad_all) << label();
  std::printf("[lora]  %-22s loss %.7f (ref %.7f, rel %.1e) lora grads all %.1e worst %.1e\n", label().c_str(), loss,
              ref_loss, std::fabs(loss - ref_loss) / ref_loss, all.rel(), worst);
}

// Gradients accumulate across micro-batches in the f32 buffers: two half-scaled runs give one full run's gradient.
TEST_P(GpuModel, AccumulatesOverMicroBatchesLikeOneBatch) {
  if (opt().gradient_checkpointing) GTEST_SKIP() << "covered by the plain run";
  auto f = test::Fixture::open(name());
  auto m = load_pretrained(test::fixture_dir(name()) + "/model", LoraSpec{}, dt(), 1234, kGpu);
  PackedBatch b = fixture_batch(f);
  m->zero_grad();
  m->run(b, opt(), true, 1.0f);
  std::vector<Tensor> once;
  for (auto& u : m->layout().units)
    for (auto& p : u.params) once.push_back(host_f32(m->grad(p.name)));
  // the same batch twice at half scale accumulates into the f32 buffers to the same gradient: exactly up to fp32
  // summation for f32 and bf16 (halving is exact in their exponent range); fp16 activation gradients that fall
  // below 2^-14 lose bits as subnormals when halved (measured up to 3.7e-4).
  const double tol = dt() == DType::f16 ? 1e-3 : 1e-6;
  m->zero_grad();
  m->run(b, opt(), true, 0.5f);
  m->run(b, opt(), true, 0.5f);
  size_t i = 0;
  for (auto& u : m->layout().units)
    for (auto& p : u.params) EXPECT_LT(test::rel_err(host_f32(m->grad(p.name)), once[i++]), tol) << label() << " " << p.name;
}

std::string param_name(const ::testing::TestParamInfo<Param>& i) {
  return std::get<0>(i.param) + "_" + dtype_name(std::get<1>(i.param)) + (std::get<2>(i.param) ? "_ckpt" : "");
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GpuModel,
                         ::testing::Combine(::testing::Values("llama31", "qwen2", "llama2", "mistral"),
                                            ::testing::Values(DType::f32, DType::bf16, DType::f16), ::testing::Bool()),
                         param_name);

TEST(GpuModelErrors, OutOfVocabularyIdNamesTheToken) {
  cuda::initialize();
  auto m = load_pretrained(test::fixture_dir("llama31") + "/model", LoraSpec{}, DType::bf16, 1234, kGpu);
  try {
    m->run(pack_sequences({{1, 2, 500, 3}}, {}), RunOptions{}, false);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("500"), std::string::npos) << e.what();
  }
}

}  // namespace
