// Permutations that must match Python exactly: NumPy's legacy RandomState(seed).shuffle(arange(n)) (the split
// and blend of DeepSpeed-Chat) and torch.randperm(n, generator=manual_seed(seed)) on the CPU (DistributedSampler).
#pragma once
#include <cstdint>
#include <vector>

namespace zt::data {

// np.random.RandomState(seed) then shuffle(np.arange(n)): MT19937 seeded with init_genrand(seed) (NumPy's legacy
// seeding of an integer seed), Fisher-Yates from the end, each bound drawn by masked rejection sampling on 32-bit
// draws (64-bit draws, two 32-bit outputs high word first, when the bound exceeds 2^32 - 1).
std::vector<int64_t> numpy_shuffled_arange(int64_t n, uint32_t seed);

// torch.randperm(n, generator=torch.Generator().manual_seed(seed)) on the CPU (ATen randperm_cpu): the forward
// swap loop with `random() % (n - i)` for n < 2^32 / 20, else the inside-out variant with 64-bit draws.
std::vector<int64_t> torch_randperm(int64_t n, uint64_t seed);

}  // namespace zt::data
