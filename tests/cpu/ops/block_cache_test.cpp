// The caching device allocator's size classes and free list (ops/cuda/block_cache.hpp: plain C++, so it is tested
// here without a GPU): bounded waste, few sizes for the shapes of pad-free micro-batches, smallest-fit reuse.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "ops/cuda/block_cache.hpp"

using namespace zt::cuda;

TEST(BlockCache, SizesAreBoundedAboveTheRequest) {
  EXPECT_EQ(block_size(0), 512u);
  EXPECT_EQ(block_size(1), 512u);
  EXPECT_EQ(block_size(513), 1024u);
  EXPECT_EQ(block_size(64 << 10), size_t(64) << 10);
  EXPECT_EQ(block_size((64 << 10) + 1), (size_t(64) << 10) + (8 << 10));  // 8 classes per power of two
  EXPECT_EQ(block_size(size_t(3) << 20), size_t(3) << 20);                // already a class
  EXPECT_EQ(block_size((size_t(256) << 20) + 1), (size_t(258) << 20));    // above 256 MiB: 2 MiB steps
  // 8B weights of one decoder layer in bf16 (218,112,000 parameters): under 0.5% more
  EXPECT_LT(double(block_size(436224000)) / 436224000.0, 1.005);
  std::mt19937_64 rng(3);
  for (int i = 0; i < 100000; ++i) {
    const size_t n = size_t(rng() % (size_t(4) << 30)) >> (rng() % 30);
    const size_t b = block_size(n);
    ASSERT_GE(b, n);
    ASSERT_EQ(b % 512, 0u);
    ASSERT_LE(double(b), double(n) * 1.125 + 512) << n;
    ASSERT_EQ(block_size(b), b) << n;  // a block size is its own class
    ASSERT_EQ(max_fit(n), b + b / 8);
  }
}

TEST(BlockCache, PadFreeShapesUseFewSizes) {
  // (T, 4096) bf16 activations for every token count of a micro-batch of up to 4 x 512: one size per token count
  // before; now 8 per power of two above 64 KiB.
  std::set<size_t> sizes;
  for (size_t T = 2; T <= 2048; ++T) sizes.insert(block_size(T * 4096 * 2));
  EXPECT_LE(sizes.size(), 8u + 8 * 8);  // up to 64 KiB: T <= 8; then 8 per power of two up to 16 MiB
  sizes.clear();
  for (size_t T = 2; T <= 2048; ++T) sizes.insert(block_size(T * 128256 * 2));  // the logits
  // 8 per power of two from 0.5 to 256 MiB, then 2 MiB steps up to 513 MiB (one per 8 tokens; a request may take a
  // cached block up to 1/8 larger, so these are reused across ~100 token counts)
  EXPECT_LE(sizes.size(), 8u * 10 + 129);
}

TEST(BlockCache, TakesTheSmallestFitOnTheSameDevice) {
  FreeBlocks f;
  int a, b, c, d;
  f.put(&a, size_t(1) << 20, 0);
  f.put(&b, (size_t(1) << 20) + (128 << 10), 0);  // 1.125 MiB
  f.put(&c, size_t(1) << 20, 1);
  f.put(&d, size_t(4) << 20, 0);
  EXPECT_EQ(f.count(), 4u);
  // 1 MiB - 4 KiB asks for the 1 MiB class: device 0's exact block, then the 1.125 MiB one (within 1/8), then none
  // (4 MiB is too large to hand out for it).
  const size_t want = (size_t(1) << 20) - (4 << 10);
  auto r = f.take(want, 0);
  EXPECT_EQ(r.first, &a);
  EXPECT_EQ(r.second, size_t(1) << 20);
  r = f.take(want, 0);
  EXPECT_EQ(r.first, &b);
  r = f.take(want, 0);
  EXPECT_EQ(r.first, nullptr);
  EXPECT_EQ(f.take(want, 2).first, nullptr);  // no blocks on device 2
  EXPECT_EQ(f.take(want, 1).first, &c);       // device 1's own
  EXPECT_EQ(f.take(size_t(4) << 20, 0).first, &d);
  EXPECT_EQ(f.count(), 0u);

  f.put(&a, 512, 0);
  f.put(&b, 512, 0);
  f.put(&c, 1024, 1);
  size_t released = 0, bytes = 0;
  f.drain([&](void*, size_t size, int) {
    ++released;
    bytes += size;
  });
  EXPECT_EQ(released, 3u);
  EXPECT_EQ(bytes, 2048u);
  EXPECT_EQ(f.count(), 0u);
  EXPECT_EQ(f.take(512, 0).first, nullptr);
}
