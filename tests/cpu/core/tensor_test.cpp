#include <gtest/gtest.h>

#include <cmath>

#include "core/dtype.hpp"
#include "core/tensor.hpp"

using namespace zt;

TEST(DType, Bf16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  // 1 + 2^-8 is exactly halfway between two bf16 values: ties to even (down to 1.0)
  EXPECT_EQ(f32_to_bf16(1.00390625f), 0x3f80);
  // 1 + 3*2^-8 ties to even upward
  EXPECT_EQ(f32_to_bf16(1.01171875f), 0x3f82);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(-2.5f)), -2.5f);
}

TEST(DType, F16RoundTripAndEdges) {
  for (float f : {0.0f, 1.0f, -1.5f, 65504.0f, 6.103515625e-05f /*min normal*/, 5.960464477539063e-08f /*min sub*/})
    EXPECT_EQ(f16_to_f32(f32_to_f16(f)), f) << f;
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);  // overflow to inf
  EXPECT_EQ(f32_to_f16(-65504.0f), 0xfbff);
  EXPECT_TRUE(std::isinf(f16_to_f32(0x7c00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(NAN))));
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even
  EXPECT_EQ(f32_to_f16(1.00048828125f), 0x3c00);
  EXPECT_EQ(f32_to_f16(1.00146484375f), 0x3c02);
  // every f16 bit pattern that is finite survives f16 -> f32 -> f16
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if (((h >> 10) & 0x1f) == 0x1f) continue;
    EXPECT_EQ(f32_to_f16(f16_to_f32(uint16_t(h))), uint16_t(h)) << h;
  }
}

TEST(Tensor, ViewsShareStorage) {
  Tensor t = Tensor::zeros({4, 3}, DType::f32);
  Tensor row = t.narrow(1, 2);
  EXPECT_EQ(row.shape(), (Shape{2, 3}));
  row.data<float>()[0] = 5.0f;
  EXPECT_EQ(t.data<float>()[3], 5.0f);
  Tensor flat = t.reshape({-1});
  EXPECT_EQ(flat.numel(), 12);
  EXPECT_THROW(t.reshape({5, 2}), Error);
  EXPECT_THROW(t.narrow(3, 2), Error);
  EXPECT_THROW(t.data<double>(), Error);
}

TEST(Tensor, CopyConverts) {
  Tensor a = Tensor::empty({3}, DType::f32);
  a.data<float>()[0] = 1.0f;
  a.data<float>()[1] = -0.5f;
  a.data<float>()[2] = 3.0f;
  Tensor b = a.to_dtype(DType::bf16).to_dtype(DType::f64);
  EXPECT_EQ(b.data<double>()[1], -0.5);
  EXPECT_EQ(b.data<double>()[2], 3.0);
}

TEST(Tensor, CudaWithoutBackendIsAClearError) {
  try {
    Tensor::empty({2}, DType::f32, Device::CUDA(0));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA"), std::string::npos);
  }
}

#include "core/json.hpp"

// Found by the tokenizer.json fuzzer: a number that overflows a double made nlohmann throw out_of_range, which
// escaped parse_json as a non-zt exception.
TEST(Json, NumberOverflowIsAZtError) {
  EXPECT_THROW(parse_json("{\"a\": 888E66666}", "x.json"), Error);
  EXPECT_THROW(parse_json("{\"a\":", "x.json"), Error);
}
