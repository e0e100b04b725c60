// Writes a few valid safetensors files (every readable dtype, metadata, scalars, empty tensors) into a
// directory, as the starting corpus scripts/fuzz.sh hands to the fuzzer.
#include <cstdio>
#include <string>

#include "core/error.hpp"
#include "io/safetensors.hpp"

using namespace zt;

static Tensor filled(DType dt, const Shape& shape, double v) {
  Tensor t = Tensor::empty(shape, dt);
  t.fill(v);
  return t;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  try {
    save_safetensors(dir + "/empty.safetensors", {});
    save_safetensors(dir + "/one_f32.safetensors", {{"w", filled(DType::f32, {2, 2}, 1.5)}});
    save_safetensors(dir + "/all_dtypes.safetensors",
                     {{"a", filled(DType::f32, {3}, -2)}, {"b", filled(DType::bf16, {2, 1}, 0.5)}, {"c", filled(DType::f16, {1}, 3)},
                      {"d", filled(DType::f64, {}, 7)}, {"e", filled(DType::i32, {2}, 9)}, {"f", filled(DType::i64, {1, 1}, -1)}},
                     {{"format", "pt"}});
    save_safetensors(dir + "/zero_size.safetensors", {{"z", filled(DType::bf16, {0, 3}, 0)}, {"s", filled(DType::f32, {}, 1)}},
                     {{"format", "pt"}, {"note", "seed"}});
    save_safetensors(dir + "/layers.safetensors",
                     {{"model.layers.0.self_attn.q_proj.weight", filled(DType::bf16, {4, 4}, 0.25)},
                      {"model.layers.0.input_layernorm.weight", filled(DType::bf16, {4}, 1)},
                      {"model.norm.weight", filled(DType::f32, {4}, 1)}});
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", e.describe().c_str());
    return 1;
  }
  return 0;
}
