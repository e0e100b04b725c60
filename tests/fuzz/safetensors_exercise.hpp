// What the fuzzer and the CPU regression-corpus test do with one input: parse it from memory and, if it
// parses, touch every tensor through view and load, so any bounds mistake shows up under ASan/UBSan.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/error.hpp"
#include "io/safetensors.hpp"

namespace zt::fuzz {

// Returns true if the input parsed. Throws only what is not a zt::Error (a bug).
inline bool exercise_safetensors(const unsigned char* data, size_t size) {
  try {
    SafetensorsFile f = SafetensorsFile::parse(data, size, "<fuzz input>");
    volatile unsigned sink = 0;
    for (const auto& name : f.names()) {
      const SafetensorsEntry& e = f.info(name);
      if (!e.supported) {
        try {
          f.view(name);
        } catch (const Error&) {
        }
        continue;
      }
      Tensor v = f.view(name);
      const unsigned char* p = static_cast<const unsigned char*>(v.raw());
      for (size_t i = 0; i < v.nbytes(); ++i) sink = sink + p[i];
      if (is_float(e.dtype) && v.numel() < (1 << 16)) {
        Tensor c = f.load(name, DType::f32);
        float acc = 0;
        const float* q = c.data<float>();
        for (int64_t i = 0; i < c.numel(); ++i) acc += q[i];
        (void)acc;
      }
    }
    for (const auto& [k, val] : f.metadata()) sink = sink + unsigned(k.size() + val.size());
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace zt::fuzz
