// Pad-free micro-batches: the real tokens of B sequences laid end to end, with next-token targets.
#pragma once
#include <vector>

#include "core/tensor.hpp"
#include "ops/common.hpp"

namespace zt::model {

struct PackedBatch {
  Tensor ids;          // i32 (T), on the compute device
  Tensor targets;      // i32 (T): label of the next token in the same sequence, -100 at each sequence's end
  ops::SeqLayout seq;  // cu_seqlens, positions
  int64_t num_targets = 0;  // targets != -100
  int64_t num_tokens() const { return seq.num_tokens(); }
};

// From per-sequence token ids and labels (labels may be empty = same as ids); CPU tensors.
PackedBatch pack_sequences(const std::vector<std::vector<int32_t>>& ids, const std::vector<std::vector<int32_t>>& labels);
// From a right-padded batch: ids/labels (B, L) i32 or i64, mask (B, L) 1 on real tokens (a prefix of each row).
PackedBatch pack_padded(const Tensor& ids, const Tensor& mask, const Tensor& labels);

}  // namespace zt::model
