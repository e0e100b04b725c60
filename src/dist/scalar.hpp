// A host scalar reduced over every rank of a Comm (losses, gradient norms, overflow flags): staged through a
// one-element tensor on the Comm's device, ordered against the compute stream.
#pragma once
#include "core/tensor.hpp"
#include "dist/comm.hpp"

namespace zt::dist {

// `v` reduced with `op` over the ranks of `comm` (returned as is on one rank). Tensors on `device`: f32 on a GPU
// (what NCCL reduces there), f64 on the CPU.
double all_reduce_scalar(Comm& comm, Device device, double v, ReduceOp op);

}  // namespace zt::dist
