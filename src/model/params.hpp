// Materialised parameter views of one unit: named tensors over the unit's flat buffers. The model reads
// weights and writes gradients only through these; whoever owns the buffers (a resident model, the ZeRO
// engine's gather buffers) binds them.
#pragma once
#include <string>
#include <unordered_map>

#include "core/tensor.hpp"
#include "model/layout.hpp"

namespace zt::model {

struct UnitParams {
  Tensor frozen;     // flat (frozen_numel), compute dtype; undefined when the unit has no frozen params
  Tensor trainable;  // flat (trainable_numel)
  std::unordered_map<std::string, Tensor> by_name;

  const Tensor& get(const std::string& name) const;  // error naming the parameter if absent
  Tensor opt(const std::string& name) const;         // undefined tensor if absent
};

// Views of every parameter of `u` over the two flat buffers (either may be undefined if its numel is 0).
UnitParams bind_params(const UnitLayout& u, const Tensor& frozen_flat, const Tensor& trainable_flat);
// Views of the trainable parameters' gradients over one flat buffer (trainable_numel).
UnitParams bind_grads(const UnitLayout& u, const Tensor& grad_flat);

}  // namespace zt::model
