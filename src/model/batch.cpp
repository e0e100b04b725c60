// Packing padded or ragged batches into the pad-free layout.
#include "model/batch.hpp"

#include "core/error.hpp"
#include "ops/loss.hpp"

namespace zt::model {

PackedBatch pack_sequences(const std::vector<std::vector<int32_t>>& ids, const std::vector<std::vector<int32_t>>& labels) {
  check(!ids.empty(), "empty micro-batch");
  check(labels.empty() || labels.size() == ids.size(), "labels and input_ids have different numbers of sequences");
  std::vector<int32_t> lens;
  int64_t T = 0;
  for (size_t b = 0; b < ids.size(); ++b) {
    check(!ids[b].empty(), "sequence " + std::to_string(b) + " has no tokens");
    if (!labels.empty() && labels[b].size() != ids[b].size())
      fail("sequence " + std::to_string(b) + ": labels have " + std::to_string(labels[b].size()) + " entries, input_ids " +
           std::to_string(ids[b].size()));
    lens.push_back(int32_t(ids[b].size()));
    T += int64_t(ids[b].size());
  }
  PackedBatch pb;
  pb.seq = ops::make_seq_layout(lens);
  pb.ids = Tensor::empty({T}, DType::i32);
  pb.targets = Tensor::empty({T}, DType::i32);
  int32_t* id = pb.ids.data<int32_t>();
  int32_t* tg = pb.targets.data<int32_t>();
  int64_t t = 0;
  for (size_t b = 0; b < ids.size(); ++b) {
    const auto& lab = labels.empty() ? ids[b] : labels[b];
    for (size_t i = 0; i < ids[b].size(); ++i, ++t) {
      id[t] = ids[b][i];
      tg[t] = i + 1 < ids[b].size() ? lab[i + 1] : ops::kIgnoreIndex;
      if (tg[t] != ops::kIgnoreIndex) ++pb.num_targets;
    }
  }
  return pb;
}

static int64_t at(const Tensor& t, int64_t i) {
  if (t.dtype() == DType::i64) return t.data<int64_t>()[i];
  if (t.dtype() == DType::i32) return t.data<int32_t>()[i];
  fail(std::string("expected integer tensor, got ") + t.str());
}

PackedBatch pack_padded(const Tensor& ids, const Tensor& mask, const Tensor& labels) {
  check(ids.ndim() == 2 && mask.shape() == ids.shape() && labels.shape() == ids.shape(),
        "pack_padded: input_ids, attention_mask and labels must all be (B, L); got " + ids.str() + ", " + mask.str() + ", " +
            labels.str());
  int64_t B = ids.size(0), L = ids.size(1);
  std::vector<std::vector<int32_t>> si(B), sl(B);
  for (int64_t b = 0; b < B; ++b) {
    int64_t n = 0;
    while (n < L && at(mask, b * L + n) != 0) ++n;
    for (int64_t j = n; j < L; ++j)
      check(at(mask, b * L + j) == 0, "row " + std::to_string(b) + " of attention_mask is not right-padded (a 1 after a 0)",
            "zerotune packs right-padded batches; left padding is not supported");
    for (int64_t j = 0; j < n; ++j) {
      si[b].push_back(int32_t(at(ids, b * L + j)));
      sl[b].push_back(int32_t(at(labels, b * L + j)));
    }
  }
  return pack_sequences(si, sl);
}

}  // namespace zt::model
