// Binding named parameter views over flat unit buffers.
#include "model/params.hpp"

#include "core/error.hpp"

namespace zt::model {

const Tensor& UnitParams::get(const std::string& name) const {
  auto it = by_name.find(name);
  check(it != by_name.end(), "parameter '" + name + "' is not bound in this unit");
  return it->second;
}

Tensor UnitParams::opt(const std::string& name) const {
  auto it = by_name.find(name);
  return it == by_name.end() ? Tensor() : it->second;
}

static Tensor view_in(const Tensor& flat, const ParamInfo& p, int64_t flat_numel, const char* what) {
  check(flat.defined(), "unit " + std::string(what) + " buffer missing for " + p.name);
  check(flat.numel() == flat_numel, std::string(what) + " buffer of " + std::to_string(flat.numel()) + " elements, layout needs " +
                                        std::to_string(flat_numel));
  return flat.narrow(p.offset, p.numel()).reshape(p.shape);
}

UnitParams bind_params(const UnitLayout& u, const Tensor& frozen_flat, const Tensor& trainable_flat) {
  UnitParams r;
  r.frozen = frozen_flat;
  r.trainable = trainable_flat;
  for (auto& p : u.params)
    r.by_name[p.name] = p.trainable ? view_in(trainable_flat, p, u.trainable_numel, "trainable")
                                    : view_in(frozen_flat, p, u.frozen_numel, "frozen");
  return r;
}

UnitParams bind_grads(const UnitLayout& u, const Tensor& grad_flat) {
  UnitParams r;
  r.trainable = grad_flat;
  for (auto& p : u.params)
    if (p.trainable) r.by_name[p.name] = view_in(grad_flat, p, u.trainable_numel, "gradient");
  return r;
}

}  // namespace zt::model
