// The pad-free sequence layout builder and the one-device rule for op arguments.
// Shared by every op family; kernels themselves live in ops/cpu and ops/cuda.
#include "ops/common.hpp"

#include <string>

namespace zt::ops {

SeqLayout make_seq_layout(const std::vector<int32_t>& lengths) {
  check(!lengths.empty(), "make_seq_layout: no sequences", "pass at least one sequence length");
  SeqLayout s;
  s.cu_host.resize(lengths.size() + 1);
  s.cu_host[0] = 0;
  int64_t total = 0;
  for (size_t b = 0; b < lengths.size(); ++b) {
    check(lengths[b] >= 0, "make_seq_layout: sequence " + std::to_string(b) + " has negative length " +
                               std::to_string(lengths[b]));
    total += lengths[b];
    check(total <= INT32_MAX, "make_seq_layout: " + std::to_string(total) + "+ tokens do not fit i32 offsets",
          "split the micro-batch");
    s.cu_host[b + 1] = int32_t(total);
    if (lengths[b] > s.max_seqlen) s.max_seqlen = lengths[b];
  }
  s.cu_seqlens = Tensor::empty({int64_t(s.cu_host.size())}, DType::i32);
  int32_t* cu = s.cu_seqlens.data<int32_t>();
  for (size_t i = 0; i < s.cu_host.size(); ++i) cu[i] = s.cu_host[i];
  s.positions = Tensor::empty({total}, DType::i32);
  int32_t* pos = s.positions.data<int32_t>();
  for (size_t b = 0; b < lengths.size(); ++b)
    for (int32_t i = 0; i < lengths[b]; ++i) pos[s.cu_host[b] + i] = i;
  return s;
}

Device common_device(std::initializer_list<const Tensor*> ts, const char* op) {
  const Tensor* first = nullptr;
  for (const Tensor* t : ts) {
    if (t == nullptr || !t->defined()) continue;
    if (first == nullptr) {
      first = t;
      continue;
    }
    check(t->device() == first->device(),
          std::string(op) + ": tensors on different devices (" + first->str() + " and " + t->str() + ")",
          "move every argument of one op call to the same device");
  }
  return first ? first->device() : Device::CPU();
}

}  // namespace zt::ops
