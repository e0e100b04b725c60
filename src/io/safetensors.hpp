// safetensors files: a validating reader (mmap or memory span, zero-copy views, dtype-converting loads)
// and an atomic, streaming writer producing files byte-compatible with the reference implementation.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/dtype.hpp"
#include "core/tensor.hpp"

namespace zt {

class AtomicFile;  // core/mmap.hpp


// Format (https://github.com/huggingface/safetensors): 8-byte little-endian header length N, N bytes of
// UTF-8 JSON {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__":
// {str: str}}, then the data region; offsets are relative to the data region's start.
//
// Reader policy (decided here, checked by tests/cpu/io/safetensors_test.cpp):
// - Everything that could make a read go out of bounds or alias is an error: truncated files, N > file or
//   > 100 MB, bad JSON, bad entry fields, shape products that overflow, sizes != numel * dtype size,
//   ranges past the data region, ranges that overlap, duplicate names.
// - Gaps between tensors and trailing bytes after the last one are tolerated (never read). The reference
//   reader rejects them; files from other writers (alignment padding) are still read safely.
// - Dtypes zerotune computes with (F32 BF16 F16 F64 I32 I64) are readable. Other dtypes of the format
//   (BOOL U8 I8 I16 U16 U32 U64 F8_E4M3 F8_E5M2 F8_E8M0 ...) are validated and listed, but view/load of
//   such a tensor fails naming its dtype. A dtype string that is not in the format at all fails at open.

struct SafetensorsEntry {
  std::string name;
  std::string st_dtype;    // the file's dtype name, e.g. "BF16" or "F8_E4M3"
  bool supported = false;  // whether `dtype` is meaningful (st_dtype is one zerotune reads)
  DType dtype = DType::f32;
  Shape shape;
  uint64_t begin = 0, end = 0;  // byte range within the data region
  uint64_t nbytes() const { return end - begin; }
};

class SafetensorsFile {
 public:
  // Maps `path` and validates its header. Errors name the path and the offending tensor.
  static SafetensorsFile open(const std::string& path);
  // Validates bytes already in memory; `source` names them in errors. Views alias `data`, which must stay
  // valid as long as `keep_alive` (or, when null, the caller) holds it.
  static SafetensorsFile parse(const unsigned char* data, size_t size, std::string source,
                               std::shared_ptr<const void> keep_alive = nullptr);

  const std::string& source() const { return source_; }
  size_t data_start() const { return data_start_; }  // 8 + N: where the data region begins in the file
  // Tensor names ordered by their data offsets (file order).
  const std::vector<std::string>& names() const { return names_; }
  size_t size() const { return entries_.size(); }
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  // Fails naming the file and a hint if `name` is absent.
  const SafetensorsEntry& info(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // Zero-copy, read-only CPU view over the mapped bytes (never write through it: the map is PROT_READ).
  // If the data is not aligned to its element size (possible only in files from non-reference writers)
  // the view is an aligned copy instead.
  Tensor view(const std::string& name) const;
  // A fresh, writable CPU tensor in dtype `want`. Float data (F32/BF16/F16/F64) converts to any float
  // dtype (round to nearest even); integer data must be loaded as its own dtype.
  Tensor load(const std::string& name, DType want) const;

 private:
  std::string source_;
  const unsigned char* base_ = nullptr;  // start of the whole file
  size_t size_ = 0;
  size_t data_start_ = 0;
  std::shared_ptr<const void> keep_alive_;
  std::vector<SafetensorsEntry> entries_;  // in offset order
  std::vector<std::string> names_;
  std::unordered_map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// The format's dtype name for a zerotune dtype ("F32", "BF16", ...).
const char* safetensors_dtype_name(DType t);

// One tensor of a streamed write: what the header says about it.
struct TensorSpec {
  std::string name;
  DType dtype = DType::f32;
  Shape shape;
  uint64_t nbytes() const;
};

// A safetensors file whose data is written after its header, in any order and from several threads at once (positioned
// writes), e.g. a model generated tensor by tensor. Same layout, header bytes and atomicity as save_safetensors; disk
// space for the whole file is reserved at construction where the filesystem supports it (a full disk fails early).
class SafetensorsWriter {
 public:
  // Creates `path`'s temporary file and writes the header for `specs` (unique names, any order).
  SafetensorsWriter(std::string path, std::vector<TensorSpec> specs, const std::map<std::string, std::string>& metadata = {});
  ~SafetensorsWriter();  // removes the temporary file unless committed
  SafetensorsWriter(const SafetensorsWriter&) = delete;
  SafetensorsWriter& operator=(const SafetensorsWriter&) = delete;

  const std::string& path() const { return path_; }
  const std::vector<TensorSpec>& specs() const { return specs_; }
  uint64_t file_bytes() const { return file_bytes_; }
  // Writes n bytes at byte `offset` of tensor i's data (thread-safe; ranges of one call must not overlap another's).
  void write(size_t i, uint64_t offset, const void* data, size_t n);
  // fsync + rename onto `path`. Every byte of every tensor must have been written.
  void commit();

 private:
  std::string path_;
  std::vector<TensorSpec> specs_;
  std::vector<uint64_t> offsets_;  // data-region offset of each spec
  uint64_t data_start_ = 0, file_bytes_ = 0;
  std::unique_ptr<AtomicFile> file_;
};

// Writes `tensors` (CPU, contiguous, unique names) to `path`: 8-byte length, a compact JSON header
// ("__metadata__" first when not empty) padded with spaces to a multiple of 8 bytes, then the data
// contiguously. Layout (and header entry) order is the given order stably sorted by element size, widest
// first, so every tensor is aligned to its element size and views of it are zero-copy; for a one-dtype
// model it is the given order. Given tensors sorted by name and metadata {"format": "pt"}, the bytes equal
// those of the reference writer (safetensors' serialize; checked against transformers-written fixtures).
// Streams through a temporary file in the same directory + fsync + rename, so readers never see a partial
// file and no second copy of the data is made in memory.
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace zt
