// Dispatcher for causal GQA attention: validates the sequence layout, shapes, dtypes and devices, then runs
// ops/cpu/attention. lse shares q's dtype (f32 in training, f64 in finite-difference tests).
#include "ops/attention.hpp"

#include <cmath>

#include "ops/checks.hpp"
#include "ops/cpu/attention.hpp"
#ifdef ZT_HAVE_CUDA
#include "ops/cuda/attention.hpp"
#include "ops/cuda/runtime.hpp"
#endif

namespace zt::ops {

using namespace detail;

namespace {
struct AttnDims {
  int64_t T, Hq, Hkv, D;
};

AttnDims attention_dims(const Tensor& q, const Tensor& k, const Tensor& v, const SeqLayout& seq, float softmax_scale,
                        const char* op) {
  expect_ndim(q, op, "q", 3, "(T, Hq, D)");
  expect_ndim(k, op, "k", 3, "(T, Hkv, D)");
  AttnDims a{q.size(0), q.size(1), k.size(1), q.size(2)};
  expect_shape_of(k, op, "k", {a.T, a.Hkv, a.D});
  expect_shape_of(v, op, "v", {a.T, a.Hkv, a.D});
  expect_dtype_of(k, op, "k", q.dtype());
  expect_dtype_of(v, op, "v", q.dtype());
  check(a.Hkv > 0 && a.Hq % a.Hkv == 0,
        std::string(op) + ": query heads (" + std::to_string(a.Hq) + ") must be a multiple of kv heads (" +
            std::to_string(a.Hkv) + ")",
        "check num_attention_heads and num_key_value_heads in config.json");
  check(std::isfinite(softmax_scale), std::string(op) + ": softmax_scale must be finite");
  // The layout must describe exactly these T tokens.
  const auto& cu = seq.cu_host;
  check(cu.size() >= 2 && cu.front() == 0 && cu.back() == a.T,
        std::string(op) + ": seq: layout covers " + std::to_string(seq.num_tokens()) + " tokens but q has " +
            std::to_string(a.T),
        "build the SeqLayout (make_seq_layout) from the lengths of this micro-batch's sequences");
  for (size_t b = 0; b + 1 < cu.size(); ++b) {
    const int32_t len = cu[b + 1] - cu[b];
    check(len >= 0 && len <= seq.max_seqlen,
          std::string(op) + ": seq: sequence " + std::to_string(b) + " has length " + std::to_string(len) +
              " outside [0, max_seqlen = " + std::to_string(seq.max_seqlen) + "]",
          "build the SeqLayout with make_seq_layout");
  }
  return a;
}
}  // namespace

void attention_forward(Tensor out, Tensor lse, const Tensor& q, const Tensor& k, const Tensor& v, const SeqLayout& seq,
                       float softmax_scale, const DropoutSpec& dropout) {
  constexpr const char* op = "attention_forward";
  const AttnDims a = attention_dims(q, k, v, seq, softmax_scale, op);
  expect_shape_of(out, op, "out", {a.T, a.Hq, a.D});
  expect_shape_of(lse, op, "lse", {a.Hq, a.T});
  expect_dtype_of(out, op, "out", q.dtype());
  check_dropout_p(dropout, op);
#ifdef ZT_HAVE_CUDA
  if (const Device dev = common_device({&out, &lse, &q, &k, &v}, op); dev.is_cuda()) {
    expect_dtype_of(lse, op, "lse", DType::f32);  // statistics stay f32 on the GPU
    cuda::OpScope s(dev, op);
    return cuda::attention_forward(out.raw(), lse.data<float>(), q.raw(), k.raw(), v.raw(), q.dtype(), seq.cu_host.data(),
                                   seq.num_seqs(), seq.max_seqlen, a.T, int(a.Hq), int(a.Hkv), int(a.D), softmax_scale,
                                   dropout, s.ctx());
  }
#endif
  expect_dtype_of(lse, op, "lse", q.dtype());
  dispatch_device({&out, &lse, &q, &k, &v}, op);
  expect_cpu_float(q, op, "q");
  const int B = seq.num_seqs();
  if (q.dtype() == DType::f32)
    cpu::attention_forward(out.data<float>(), lse.data<float>(), q.data<float>(), k.data<float>(), v.data<float>(),
                           seq.cu_host.data(), B, seq.max_seqlen, a.T, a.Hq, a.Hkv, a.D, softmax_scale, dropout);
  else
    cpu::attention_forward(out.data<double>(), lse.data<double>(), q.data<double>(), k.data<double>(), v.data<double>(),
                           seq.cu_host.data(), B, seq.max_seqlen, a.T, a.Hq, a.Hkv, a.D, double(softmax_scale), dropout);
}

void attention_backward(Tensor dq, Tensor dk, Tensor dv, const Tensor& dout, const Tensor& q, const Tensor& k,
                        const Tensor& v, const Tensor& out, const Tensor& lse, const SeqLayout& seq, float softmax_scale,
                        const DropoutSpec& dropout) {
  constexpr const char* op = "attention_backward";
  const AttnDims a = attention_dims(q, k, v, seq, softmax_scale, op);
  const Shape qshape{a.T, a.Hq, a.D}, kvshape{a.T, a.Hkv, a.D};
  for (auto [t, name] : {Named{&dq, "dq"}, {&dout, "dout"}, {&out, "out"}}) {
    expect_shape_of(*t, op, name, qshape);
    expect_dtype_of(*t, op, name, q.dtype());
  }
  for (auto [t, name] : {Named{&dk, "dk"}, {&dv, "dv"}}) {
    expect_shape_of(*t, op, name, kvshape);
    expect_dtype_of(*t, op, name, q.dtype());
  }
  expect_shape_of(lse, op, "lse", {a.Hq, a.T});
  check_dropout_p(dropout, op);
#ifdef ZT_HAVE_CUDA
  if (const Device dev = common_device({&dq, &dk, &dv, &dout, &q, &k, &v, &out, &lse}, op); dev.is_cuda()) {
    expect_dtype_of(lse, op, "lse", DType::f32);
    cuda::OpScope s(dev, op);
    return cuda::attention_backward(dq.raw(), dk.raw(), dv.raw(), dout.raw(), q.raw(), k.raw(), v.raw(), out.raw(),
                                    lse.data<float>(), q.dtype(), seq.cu_host.data(), seq.num_seqs(), seq.max_seqlen, a.T,
                                    int(a.Hq), int(a.Hkv), int(a.D), softmax_scale, dropout, s.ctx());
  }
#endif
  expect_dtype_of(lse, op, "lse", q.dtype());
  dispatch_device({&dq, &dk, &dv, &dout, &q, &k, &v, &out, &lse}, op);
  expect_cpu_float(q, op, "q");
  const int B = seq.num_seqs();
  if (q.dtype() == DType::f32)
    cpu::attention_backward(dq.data<float>(), dk.data<float>(), dv.data<float>(), dout.data<float>(), q.data<float>(),
                            k.data<float>(), v.data<float>(), out.data<float>(), lse.data<float>(), seq.cu_host.data(), B,
                            seq.max_seqlen, a.T, a.Hq, a.Hkv, a.D, softmax_scale, dropout);
  else
    cpu::attention_backward(dq.data<double>(), dk.data<double>(), dv.data<double>(), dout.data<double>(),
                            q.data<double>(), k.data<double>(), v.data<double>(), out.data<double>(), lse.data<double>(),
                            seq.cu_host.data(), B, seq.max_seqlen, a.T, a.Hq, a.Hkv, a.D, double(softmax_scale), dropout);
}

}  // namespace zt::ops
