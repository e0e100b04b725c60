// Dispatcher for the token embedding: validates shapes, dtypes, devices and ids, then runs ops/cpu/embedding.
// table and out share a float dtype; ids are i32.
#include "ops/embedding.hpp"

#include "ops/checks.hpp"
#include "ops/cpu/embedding.hpp"

namespace zt::ops {

using namespace detail;

namespace {
void check_ids(const Tensor& ids, int64_t V, const char* op) {
  const int64_t bad = cpu::first_bad_id(ids.data<int32_t>(), ids.numel(), V);
  if (bad >= 0)
    fail(std::string(op) + ": ids: token " + std::to_string(bad) + " has id " + std::to_string(ids.data<int32_t>()[bad]) +
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
  dispatch_device({&out, &table, &ids}, op);
  expect_cpu_float(table, op, "table");
  check_ids(ids, V, op);
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
  expect_dtype_of(dout, op, "dout", dtable.dtype());
  dispatch_device({&dtable, &dout, &ids}, op);
  expect_cpu_float(dtable, op, "dtable");
  check_ids(ids, V, op);
  if (dtable.dtype() == DType::f32)
    cpu::embedding_backward(dtable.data<float>(), dout.data<float>(), ids.data<int32_t>(), T, C);
  else
    cpu::embedding_backward(dtable.data<double>(), dout.data<double>(), ids.data<int32_t>(), T, C);
}

}  // namespace zt::ops
