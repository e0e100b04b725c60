// Kernel bench for the CUDA ops at Llama-3-8B shapes (bf16): each case is validated against the CPU reference
// on the same inputs before it is timed (CUDA events, median of repeats), then reports GB/s or TFLOP/s.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <vector>

#include "core/tensor.hpp"
#include "ops/activation.hpp"
#include "ops/attention.hpp"
#include "ops/elementwise.hpp"
#include "ops/linear.hpp"
#include "ops/loss.hpp"
#include "ops/optim.hpp"
#include "ops/rmsnorm.hpp"
#include "ops/cuda/runtime.hpp"

using namespace zt;
using namespace zt::ops;

namespace {
const Device kGpu = Device::CUDA(0);
constexpr DType bf16 = DType::bf16, f32 = DType::f32;
std::mt19937_64 rng(7);

Tensor rand_host(const Shape& s, DType q, double lo = -1, double hi = 1) {
  Tensor t = Tensor::empty(s, f32);
  std::uniform_real_distribution<float> u{float(lo), float(hi)};
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = q == bf16 ? bf16_to_f32(f32_to_bf16(u(rng))) : u(rng);
  return t;
}
Tensor gpu(const Tensor& h, DType dt) {
  Tensor g = Tensor::empty(h.shape(), dt, kGpu);
  copy(g, h);
  return g;
}
Tensor host(const Tensor& g) {
  Tensor h = Tensor::empty(g.shape(), f32);
  copy(h, g);
  return h;
}
double rel(const Tensor& a, const Tensor& b) {
  double n = 0, d = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double x = a.data<float>()[i], y = b.data<float>()[i];
    if (!std::isfinite(x)) return INFINITY;
    n += (x - y) * (x - y);
    d += y * y;
  }
  return std::sqrt(n / std::max(d, 1e-30));
}

// Median milliseconds of `reps` runs of f on the op stream, after warm-up.
double time_ms(const std::function<void()>& f, int reps = 20) {
  cudaStream_t s = cuda::current(0).stream();
  for (int i = 0; i < 3; ++i) f();
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  std::vector<float> ms;
  for (int i = 0; i < reps; ++i) {
    cudaEventRecord(a, s);
    f();
    cudaEventRecord(b, s);
    cudaEventSynchronize(b);
    float t = 0;
    cudaEventElapsedTime(&t, a, b);
    ms.push_back(t);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

int failures = 0;
// amount: bytes (GB/s) or flops (TFLOP/s).
void report(const char* name, double err, double tol, double ms, double amount, bool flops) {
  const bool ok = err <= tol;
  failures += !ok;
  const double rate = amount / (ms * 1e-3) / (flops ? 1e12 : 1e9);
  std::printf("%-36s rel_err %.2e %-4s %9.3f ms %9.1f %s\n", name, err, ok ? "ok" : "FAIL", ms, rate,
              flops ? "TFLOP/s" : "GB/s");
}
}  // namespace

int main() {
  cuda::initialize();
  cudaDeviceProp p{};
  cudaGetDeviceProperties(&p, 0);
  std::printf("device: %s (%d SMs)\n", p.name, p.multiProcessorCount);
  const int64_t T = 2048, C = 4096, F = 14336, V = 128256;
  {  // memory ceiling: device-to-device copy, bytes read + written
    const int64_t n = int64_t(1) << 29;
    Tensor a = Tensor::empty({n}, bf16, kGpu), b = Tensor::empty({n}, bf16, kGpu);
    zero(a);
    const double ms = time_ms([&] { copy(b, a); });
    report("copy d2d 1 GiB", 0, 1, ms, 2.0 * double(n) * 2, false);
  }
  {  // linear forward (T, C) @ (F, C)^T: checked on sampled rows
    Tensor x = rand_host({T, C}, bf16), w = rand_host({F, C}, bf16);
    Tensor gx = gpu(x, bf16), gw = gpu(w, bf16), gy = Tensor::empty({T, F}, bf16, kGpu);
    linear_forward(gy, gx, gw, Tensor());
    Tensor y = host(gy);
    double n = 0, d = 0;
    for (int64_t t : {0, 777, 2047})
      for (int64_t o = 0; o < F; o += 97) {
        double ref = 0;
        for (int64_t c = 0; c < C; ++c) ref += double(x.data<float>()[t * C + c]) * w.data<float>()[o * C + c];
        const double got = y.data<float>()[t * F + o];
        n += (got - ref) * (got - ref);
        d += ref * ref;
      }
    const double ms = time_ms([&] { linear_forward(gy, gx, gw, Tensor()); });
    report("gemm bf16 2048x4096 -> 14336", std::sqrt(n / d), 1e-2, ms, 2.0 * T * C * F, true);
  }
  {  // attention, 4 sequences of 512, 32 query / 8 kv heads, D 128
    SeqLayout seq = make_seq_layout({512, 512, 512, 512});
    const int Hq = 32, Hkv = 8, D = 128;
    const float sc = 1.0f / std::sqrt(float(D));
    Tensor q = rand_host({T, Hq, D}, bf16, -2, 2), k = rand_host({T, Hkv, D}, bf16, -2, 2), v = rand_host({T, Hkv, D}, bf16);
    Tensor out = Tensor::empty({T, Hq, D}, f32), lse = Tensor::empty({Hq, T}, f32);
    attention_forward(out, lse, q, k, v, seq, sc);
    Tensor gq = gpu(q, bf16), gk = gpu(k, bf16), gv = gpu(v, bf16);
    Tensor go = Tensor::empty({T, Hq, D}, bf16, kGpu), gl = Tensor::empty({Hq, T}, f32, kGpu);
    attention_forward(go, gl, gq, gk, gv, seq, sc);
    const double err_f = rel(host(go), out);
    const double flops_f = 4.0 * 4 * (512.0 * 513 / 2) * D * Hq;
    const double ms_f = time_ms([&] { attention_forward(go, gl, gq, gk, gv, seq, sc); });
    report("attention fwd bf16 4x512 32/8x128", err_f, 1e-2, ms_f, flops_f, true);
    Tensor dout = rand_host({T, Hq, D}, bf16), gdo = gpu(dout, bf16);
    Tensor dq = Tensor::empty({T, Hq, D}, f32), dk = Tensor::empty({T, Hkv, D}, f32), dv = Tensor::empty({T, Hkv, D}, f32);
    attention_backward(dq, dk, dv, dout, q, k, v, host(go), host(gl), seq, sc);
    Tensor gdq = Tensor::empty({T, Hq, D}, bf16, kGpu), gdk = Tensor::empty({T, Hkv, D}, bf16, kGpu),
           gdv = Tensor::empty({T, Hkv, D}, bf16, kGpu);
    attention_backward(gdq, gdk, gdv, gdo, gq, gk, gv, go, gl, seq, sc);
    const double err_b = std::max({rel(host(gdq), dq), rel(host(gdk), dk), rel(host(gdv), dv)});
    const double ms_b = time_ms([&] { attention_backward(gdq, gdk, gdv, gdo, gq, gk, gv, go, gl, seq, sc); });
    report("attention bwd bf16 (2.5x fwd flops)", err_b, 1e-2, ms_b, 2.5 * flops_f, true);
  }
  {  // rmsnorm forward (T, C)
    Tensor x = rand_host({T, C}, bf16, -2, 2), w = rand_host({C}, bf16, 0.5, 1.5);
    Tensor out = Tensor::empty({T, C}, f32), rstd = Tensor::empty({T}, f32);
    rmsnorm_forward(out, rstd, x, w, 1e-5f);
    Tensor gx = gpu(x, bf16), gw = gpu(w, bf16), go = Tensor::empty({T, C}, bf16, kGpu), gr = Tensor::empty({T}, f32, kGpu);
    rmsnorm_forward(go, gr, gx, gw, 1e-5f);
    const double ms = time_ms([&] { rmsnorm_forward(go, gr, gx, gw, 1e-5f); });
    report("rmsnorm fwd bf16 2048x4096", rel(host(go), out), 1e-2, ms, 2.0 * T * C * 2, false);
  }
  {  // swiglu forward (T, F)
    Tensor g = rand_host({T, F}, bf16, -4, 4), u = rand_host({T, F}, bf16), out = Tensor::empty({T, F}, f32);
    swiglu_forward(out, g, u);
    Tensor gg = gpu(g, bf16), gu = gpu(u, bf16), go = Tensor::empty({T, F}, bf16, kGpu);
    swiglu_forward(go, gg, gu);
    const double ms = time_ms([&] { swiglu_forward(go, gg, gu); });
    report("swiglu fwd bf16 2048x14336", rel(host(go), out), 1e-2, ms, 3.0 * T * F * 2, false);
  }
  {  // fused cross-entropy over a Llama 3 vocabulary
    Tensor logits = rand_host({T, V}, bf16, -8, 8);
    std::vector<int32_t> tg(static_cast<size_t>(T));
    for (auto& t : tg) t = int32_t(rng() % uint64_t(V));
    Tensor th = Tensor::empty({T}, DType::i32);
    for (int64_t i = 0; i < T; ++i) th.data<int32_t>()[i] = tg[size_t(i)];
    Tensor loss = Tensor::empty({T}, f32), lse = Tensor::empty({T}, f32);
    cross_entropy_forward(loss, lse, logits, th);
    Tensor gl = gpu(logits, bf16), gt = Tensor::empty({T}, DType::i32, kGpu), gloss = Tensor::empty({T}, f32, kGpu),
           glse = Tensor::empty({T}, f32, kGpu), gd = Tensor::empty({T, V}, bf16, kGpu);
    copy(gt, th);
    cross_entropy_forward(gloss, glse, gl, gt);
    const double ms_f = time_ms([&] { cross_entropy_forward(gloss, glse, gl, gt); });
    report("cross-entropy fwd bf16 2048x128256", rel(host(glse), lse), 1e-5, ms_f, double(T) * V * 2, false);
    Tensor dl = Tensor::empty({T, V}, f32);
    cross_entropy_backward(dl, logits, lse, th, 1.0f / float(T));
    cross_entropy_backward(gd, gl, glse, gt, 1.0f / float(T));
    const double ms_b = time_ms([&] { cross_entropy_backward(gd, gl, glse, gt, 1.0f / float(T)); });
    report("cross-entropy bwd bf16 2048x128256", rel(host(gd), dl), 1e-2, ms_b, double(T) * V * 4, false);
  }
  {  // AdamW on 64M fp32 parameters: 4 reads + 3 writes of 4 bytes per element
    const int64_t n = int64_t(64) << 20;
    Tensor pp = rand_host({n}, f32), g = rand_host({n}, f32), m = Tensor::zeros({n}, f32), v = Tensor::zeros({n}, f32);
    Tensor gp = gpu(pp, f32), gg = gpu(g, f32), gm = gpu(m, f32), gv = gpu(v, f32);
    AdamWParams hp;
    adamw_step(pp, m, v, g, hp);
    adamw_step(gp, gm, gv, gg, hp);
    const double err = rel(host(gp), pp);
    const double ms = time_ms([&] { adamw_step(gp, gm, gv, gg, hp); });
    report("adamw f32 64M", err, 1e-6, ms, 28.0 * double(n), false);
  }
  std::printf("%s\n", failures ? "VALIDATION FAILED" : "all cases validated");
  return failures ? 1 : 0;
}
