// libFuzzer target for the safetensors reader: parses arbitrary bytes from memory (no file I/O) and reads
// every tensor of anything that parses. Only zt::Error may escape the parser; ASan/UBSan catch the rest.
#include <cstddef>
#include <cstdint>

#include "core/log.hpp"
#include "safetensors_exercise.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  zt::log::set_level(zt::log::Level::error);  // the misalignment warning would flood the output
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  zt::fuzz::exercise_safetensors(data, size);
  return 0;
}
