// Dispatcher for the token embedding: validates shapes, dtypes, devices and ids, then runs ops/cpu/embedding.
// table and out share a float dtype; ids are i32.
#include "ops/embedding.hpp"

#include "ops/checks.hpp"
#include "ops/cpu/embedding.hpp"
#ifdef ZT_HAVE_CUDA
#include <vector>

#include "ops/cuda/embedding.hpp"
#include "ops/cuda/runtime.hpp"
#endif

namespace zt::ops {

using namespace detail;

namespace {
void check_ids(const int32_t* ids, int64_t T, int64_t V, const char* op) {
  const int64_t bad = cpu::first_bad_id(ids, T, V);
  if (bad >= 0)
    fail(std::string(op) + ": ids: token " + std::to_string(bad) + " has id " + std::to_string(ids[bad]) +
             ", outside the table's vocabulary [0, " + std::to_string(V) + ")",
         "check that the tokenizer matches the model's vocab_size (V = " + std::to_string(V) + ")");
}
}  // namespace

void embedding_forward(Tensor out, const Tensor& table, const Tensor& ids) {
  constexpr const char* op = "embedding_forward";
  expect_ndim(table, op, "table", 2, "(V, C)");
  expect_ndim(ids, op, "ids", 1, "(T)");
  expect_dtype_of(ids, op, "ids", DType::i32);
  const int64_t V = table.size(0), C = table.size(1), T = ids.size(0);
  expect_shape_of(out, op, "out", {T, C});
  expect_dtype_of(out, op, "out", table.dtype());
#ifdef ZT_HAVE_CUDA
  if (const Device dev = common_device({&out, &table, &ids}, op); dev.is_cuda()) {
    cuda::OpScope s(dev, op);
    std::vector<int32_t> host(static_cast<size_t>(T));  // (T) ids, validated on the host for a clear error
    cuda::copy_to_host(host.data(), ids.raw(), size_t(T) * sizeof(int32_t), s.ctx());
    check_ids(host.data(), T, V, op);
    return cuda::embedding_forward(out.raw(), table.raw(), ids.data<int32_t>(), table.dtype(), T, C, s.stream());
  }
#endif
  dispatch_device({&out, &table, &ids}, op);
  expect_cpu_float(table, op, "table");
  check_ids(ids.data<int32_t>(), T, V, op);
  if (table.dtype() == DType::f32) cpu::embedding_forward(out.data<float>(), table.data<float>(), ids.data<int32_t>(), T, C);
  else cpu::embedding_forward(out.data<double>(), table.data<double>(), ids.data<int32_t>(), T, C);
}

void embedding_backward(Tensor dtable, const Tensor& dout, const Tensor& ids) {
  constexpr const char* op = "embedding_backward";
  expect_ndim(dtable, op, "dtable", 2, "(V, C)");
  expect_ndim(ids, op, "ids", 1, "(T)");
  expect_dtype_of(ids, op, "ids", DType::i32);
  const int64_t V = dtable.size(0), C = dtable.size(1), T = ids.size(0);
  expect_shape_of(dout, op, "dout", {T, C});
#ifdef ZT_HAVE_CUDA
  if (const Device dev = common_device({&dtable, &dout, &ids}, op); dev.is_cuda()) {
    // The gradient table may be f32 (fp32 accumulation) under 16-bit activations.
    if (dtable.dtype() != DType::f32) expect_dtype_of(dout, op, "dout", dtable.dtype());
    cuda::OpScope s(dev, op);
    std::vector<int32_t> host(static_cast<size_t>(T));  // (T) ids: validated, then grouped on the host
    cuda::copy_to_host(host.data(), ids.raw(), size_t(T) * sizeof(int32_t), s.ctx());
    check_ids(host.data(), T, V, op);
    return cuda::embedding_backward(dtable.raw(), dtable.dtype(), dout.raw(), dout.dtype(), host.data(), T, C, s.ctx());
  }
#endif
  expect_dtype_of(dout, op, "dout", dtable.dtype());
  dispatch_device({&dtable, &dout, &ids}, op);
  expect_cpu_float(dtable, op, "dtable");
  check_ids(ids.data<int32_t>(), T, V, op);
  if (dtable.dtype() == DType::f32)
    cpu::embedding_backward(dtable.data<float>(), dout.data<float>(), ids.data<int32_t>(), T, C);
  else
    cpu::embedding_backward(dtable.data<double>(), dout.data<double>(), ids.data<int32_t>(), T, C);
}

}  // namespace zt::ops
