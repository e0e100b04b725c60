// CUDA GEMMs for linear and LoRA through cuBLASLt (fp32 compute, bias in the epilogue, gradients accumulated
// with beta = 1), plus the bias-gradient column sum. Parameter gradients accumulate (+=); dx is = or +=.
// cuBLASLt is column-major: a row-major C (M, N) is a column-major C^T (N, M) = op(b)^T op(a)^T.
#include "ops/cuda/linear.hpp"

#include <cublasLt.h>

#include <algorithm>
#include <array>
#include <map>

#include "ops/cuda/common.cuh"
#include "ops/cuda/dropout.hpp"
#include "ops/cuda/elementwise.hpp"

namespace zt::cuda {

namespace {
cudaDataType_t cuda_type(DType t) {
  switch (t) {
    case DType::f32: return CUDA_R_32F;
    case DType::bf16: return CUDA_R_16BF;
    case DType::f16: return CUDA_R_16F;
    default: fail(std::string("gemm: CUDA GEMMs take f32, bf16 or f16, got ") + dtype_name(t));
  }
}

// Largest power of two (up to 256) dividing the address: cuBLASLt picks kernels by operand alignment.
int64_t alignment(const void* p) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  int64_t al = 256;
  while (al > 1 && (a % uintptr_t(al)) != 0) al /= 2;
  return al;
}

#define ZT_LT(call) ::zt::cuda::check_cublas(int(call), #call)

struct Plan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr;
  cublasLtMatmulAlgo_t algo{};
  ~Plan() {
    if (op) cublasLtMatmulDescDestroy(op);
    if (la) cublasLtMatrixLayoutDestroy(la);
    if (lb) cublasLtMatrixLayoutDestroy(lb);
    if (lc) cublasLtMatrixLayoutDestroy(lc);
  }
};

// ---- kernels ----

// dbias (N) += column sums of dy (T, N); block (32, 8) owns 32 columns, rows strided by 8, fixed order.
template <class G, class T> __global__ void bias_grad_kernel(G* dbias, const T* dy, int64_t rows, int64_t N) {
  __shared__ float part[8][33];
  const int64_t col = blockIdx.x * 32 + threadIdx.x;
  float acc = 0.0f;
  if (col < N)
    for (int64_t t = threadIdx.y; t < rows; t += 8) acc += to_f32(dy[t * N + col]);
  part[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && col < N) {
    float s = 0.0f;
#pragma unroll
    for (int y = 0; y < 8; ++y) s += part[y][threadIdx.x];
    dbias[col] = from_f32<G>(to_f32(dbias[col]) + s);
  }
}
}  // namespace

// Plans keyed by shape, transposes, dtypes, epilogue and operand alignments.
struct GemmCache {
  std::map<std::array<int64_t, 14>, std::unique_ptr<Plan>> plans;
};
void GemmCacheDeleter::operator()(GemmCache* c) const { delete c; }

GemmCache& Context::gemm_cache() {
  if (!gemm_cache_) gemm_cache_.reset(new GemmCache());
  return *gemm_cache_;
}

// ---- launchers ----

void gemm(void* c, DType c_t, const void* a, bool trans_a, const void* b, bool trans_b, DType ab_t, int64_t M, int64_t N,
          int64_t K, float alpha, float beta, const void* bias, Context& ctx) {
  if (M == 0 || N == 0) return;
  check(c_t == ab_t || c_t == DType::f32, std::string("gemm: output dtype ") + dtype_name(c_t) + " with " +
                                              dtype_name(ab_t) + " operands is not supported",
        "use the operands' dtype or f32 for the output");
  if (K == 0) {  // empty product: c = beta * c (+ bias)
    check(bias == nullptr, "gemm: a bias with an empty inner dimension is not supported on CUDA");
    if (beta == 0.0f) ZT_CUDA(cudaMemsetAsync(c, 0, size_t(M * N) * dtype_size(c_t), ctx.stream()));
    else if (beta != 1.0f) scale_(c, c_t, beta, M * N, ctx.stream());
    return;
  }
  const int sm_target = ctx.gemm_sm_margin() > 0 ? std::max(1, ctx.props().multiProcessorCount - ctx.gemm_sm_margin()) : 0;
  const std::array<int64_t, 14> key{M, N, K, trans_a, trans_b, int64_t(ab_t), int64_t(c_t), bias != nullptr,
                                    alignment(a), alignment(b), alignment(c), bias ? alignment(bias) : 0, ctx.device(),
                                    sm_target};
  auto& slot = ctx.gemm_cache().plans[key];
  if (!slot) {
    auto p = std::make_unique<Plan>();
    ZT_LT(cublasLtMatmulDescCreate(&p->op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    // cuBLAS operand A is our b, operand B is our a (see the file comment).
    const cublasOperation_t op_first = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, op_second = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    ZT_LT(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &op_first, sizeof(op_first)));
    ZT_LT(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &op_second, sizeof(op_second)));
    if (sm_target > 0)
      ZT_LT(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_SM_COUNT_TARGET, &sm_target, sizeof(sm_target)));
    if (bias) {
      const cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_BIAS;
      ZT_LT(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)));
      const cudaDataType_t bt = cuda_type(c_t);
      ZT_LT(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof(bt)));
    }
    const cudaDataType_t abt = cuda_type(ab_t), ct = cuda_type(c_t);
    // first operand: b stored row-major (K, N) -> column-major (N, K); transposed: (N, K) row-major -> (K, N).
    if (!trans_b) ZT_LT(cublasLtMatrixLayoutCreate(&p->la, abt, uint64_t(N), uint64_t(K), N));
    else ZT_LT(cublasLtMatrixLayoutCreate(&p->la, abt, uint64_t(K), uint64_t(N), K));
    if (!trans_a) ZT_LT(cublasLtMatrixLayoutCreate(&p->lb, abt, uint64_t(K), uint64_t(M), K));
    else ZT_LT(cublasLtMatrixLayoutCreate(&p->lb, abt, uint64_t(M), uint64_t(K), M));
    ZT_LT(cublasLtMatrixLayoutCreate(&p->lc, ct, uint64_t(N), uint64_t(M), N));

    cublasLtMatmulPreference_t pref = nullptr;
    ZT_LT(cublasLtMatmulPreferenceCreate(&pref));
    const uint64_t ws = ctx.workspace_bytes();
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws));
    const uint32_t al_a = uint32_t(key[9]), al_b = uint32_t(key[8]), al_c = uint32_t(key[10]);
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al_a, sizeof(al_a));
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al_b, sizeof(al_b));
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al_c, sizeof(al_c));
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al_c, sizeof(al_c));
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    const cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(ctx.lt(), p->op, p->la, p->lb, p->lc, p->lc, pref, 1, &result, &found);
    cublasLtMatmulPreferenceDestroy(pref);
    check_cublas(int(st), "cublasLtMatmulAlgoGetHeuristic");
    check(found > 0, "gemm: cuBLASLt found no kernel for (" + std::to_string(M) + " x " + std::to_string(K) + ") @ (" +
                         std::to_string(K) + " x " + std::to_string(N) + ") in " + dtype_name(ab_t) + " -> " +
                         dtype_name(c_t),
          "check operand alignment (views at odd element offsets) and dtypes");
    p->algo = result.algo;
    slot = std::move(p);
  }
  Plan& p = *slot;
  if (bias) ZT_LT(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
  ZT_LT(cublasLtMatmul(ctx.lt(), p.op, &alpha, b, p.la, a, p.lb, &beta, c, p.lc, c, p.lc, &p.algo, ctx.workspace(),
                       ctx.workspace_bytes(), ctx.stream()));
}

void bias_grad(void* dbias, DType dbias_t, const void* dy, DType dy_t, int64_t T, int64_t N, cudaStream_t stream) {
  if (N == 0 || T == 0) return;
  const dim3 block(32, 8), grid(unsigned((N + 31) / 32));
  dispatch_float(dy_t, "linear_backward", [&](auto t) {
    using T_ = decltype(t);
    if (dbias_t == DType::f32)
      bias_grad_kernel<float, T_><<<grid, block, 0, stream>>>(static_cast<float*>(dbias), static_cast<const T_*>(dy), T, N);
    else
      bias_grad_kernel<T_, T_><<<grid, block, 0, stream>>>(static_cast<T_*>(dbias), static_cast<const T_*>(dy), T, N);
  });
  check_launch("bias_grad_kernel");
}

void lora_forward(void* y, void* h, const void* x, const void* right, const void* left, DType dt, float scaling,
                  int64_t T, int64_t in, int64_t r, int64_t out, const ops::DropoutSpec& dropout, Context& ctx) {
  const void* xin = x;
  if (dropout.active()) {
    void* xd = ctx.scratch(size_t(T * in) * dtype_size(dt));  // (T, in) dropout(x)
    dropout_apply(xd, x, dt, T * in, dropout, ctx.stream());
    xin = xd;
  }
  gemm(h, dt, xin, false, right, false, dt, T, r, in, 1.0f, 0.0f, nullptr, ctx);
  gemm(y, dt, h, false, left, false, dt, T, out, r, scaling, 1.0f, nullptr, ctx);
}

void lora_backward(void* dx, void* dright, DType dright_t, void* dleft, DType dleft_t, void* dh, const void* dy,
                   const void* x, const void* h, const void* right, const void* left, DType dt, float scaling, int64_t T,
                   int64_t in, int64_t r, int64_t out, const ops::DropoutSpec& dropout, Context& ctx) {
  if (dleft) gemm(dleft, dleft_t, h, true, dy, false, dt, r, out, T, scaling, 1.0f, nullptr, ctx);
  gemm(dh, dt, dy, false, left, true, dt, T, r, out, scaling, 0.0f, nullptr, ctx);
  if (!dropout.active()) {
    if (dright) gemm(dright, dright_t, x, true, dh, false, dt, in, r, T, 1.0f, 1.0f, nullptr, ctx);
    if (dx) gemm(dx, dt, dh, false, right, true, dt, T, in, r, 1.0f, 1.0f, nullptr, ctx);
    return;
  }
  void* tmp = ctx.scratch(size_t(T * in) * dtype_size(dt));  // (T, in) dropout(x), then dh @ right^T
  if (dright) {
    dropout_apply(tmp, x, dt, T * in, dropout, ctx.stream());
    gemm(dright, dright_t, tmp, true, dh, false, dt, in, r, T, 1.0f, 1.0f, nullptr, ctx);
  }
  if (dx) {
    gemm(tmp, dt, dh, false, right, true, dt, T, in, r, 1.0f, 0.0f, nullptr, ctx);
    dropout_accumulate(dx, tmp, dt, T * in, dropout, ctx.stream());
  }
}

}  // namespace zt::cuda
