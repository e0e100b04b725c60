// Tensor: a typed, shaped, strided view over an owned Buffer on one device.
// Buffers are reference counted; views keep their buffer alive. No autograd: ops take outputs explicitly.
#pragma once
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.hpp"
#include "core/error.hpp"

namespace zt {

struct Device {
  enum Kind : uint8_t { cpu, cuda };
  Kind kind = cpu;
  int index = 0;
  static Device CPU() { return {}; }
  static Device CUDA(int i) { return {cuda, i}; }
  bool is_cpu() const { return kind == cpu; }
  bool is_cuda() const { return kind == cuda; }
  bool operator==(const Device&) const = default;
  std::string str() const;  // "cpu" or "cuda:N"
};

// One allocation. CPU memory is 64-byte aligned. CUDA memory comes from an allocator the CUDA backend
// registers (set_cuda_allocator); without one, asking for device memory is an error.
class Buffer {
 public:
  static std::shared_ptr<Buffer> allocate(size_t bytes, Device dev);
  // Wraps memory owned elsewhere (an mmap, a pinned arena); `keep_alive` holds the owner.
  static std::shared_ptr<Buffer> wrap(void* data, size_t bytes, Device dev, std::shared_ptr<void> keep_alive);
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void* data() const { return data_; }
  size_t size() const { return size_; }
  Device device() const { return device_; }

  using Alloc = std::function<void*(size_t, int)>;
  using Free = std::function<void(void*, int)>;
  static void set_cuda_allocator(Alloc alloc, Free free);

 private:
  Buffer() = default;
  void* data_ = nullptr;
  size_t size_ = 0;
  Device device_;
  bool owned_ = false;
  std::shared_ptr<void> keep_alive_;
};

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);  // "[2, 3]"
int64_t shape_numel(const Shape& s);

class Tensor {
 public:
  Tensor() = default;  // undefined tensor (defined() == false): used for optional arguments
  static Tensor empty(const Shape& shape, DType dtype, Device dev = Device::CPU());
  static Tensor zeros(const Shape& shape, DType dtype, Device dev = Device::CPU());  // CPU only for now
  // A contiguous view over `buf` starting at byte `offset`.
  static Tensor view_of(std::shared_ptr<Buffer> buf, size_t offset, const Shape& shape, DType dtype);

  bool defined() const { return buf_ != nullptr; }
  DType dtype() const { return dtype_; }
  Device device() const { return buf_ ? buf_->device() : Device::CPU(); }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }  // in elements
  int ndim() const { return int(shape_.size()); }
  int64_t size(int dim) const;  // negative dims count from the end
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype_); }
  bool is_contiguous() const;
  const std::shared_ptr<Buffer>& buffer() const { return buf_; }
  size_t offset_bytes() const { return offset_; }

  void* raw() const { return static_cast<char*>(buf_->data()) + offset_; }
  // Typed pointer; checks that T matches dtype (uint16_t serves bf16 and f16).
  template <class T> T* data() const;

  // Views (no copy). reshape needs a contiguous tensor; narrow slices dimension 0.
  Tensor reshape(const Shape& shape) const;
  Tensor narrow(int64_t start, int64_t length) const;
  Tensor flatten() const { return reshape({numel()}); }

  // Copies (CPU). clone = same dtype; to_dtype converts floats.
  Tensor clone() const;
  Tensor to_dtype(DType t) const;
  void copy_from(const Tensor& src);  // same shape; converts float dtypes; CPU only
  void fill(double value);            // CPU only
  void zero_();                        // any device registered

  std::string str() const;  // "f32[2, 3] cpu"

 private:
  std::shared_ptr<Buffer> buf_;
  size_t offset_ = 0;
  Shape shape_, strides_;
  DType dtype_ = DType::f32;
};

// Fails with a message naming `what` unless t is defined, on `dev`'s kind, of dtype `dt` and contiguous.
void expect(const Tensor& t, const char* what, DType dt);
void expect_shape(const Tensor& t, const char* what, const Shape& shape);

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::f64; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::i32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::i64; };

template <class T> T* Tensor::data() const {
  // Messages are built only on failure: this sits on hot paths.
  if (!defined()) [[unlikely]] fail("data() of an undefined tensor");
  if constexpr (std::is_same_v<T, uint16_t>) {
    if (dtype_ != DType::bf16 && dtype_ != DType::f16) [[unlikely]]
      fail(std::string("tensor is ") + dtype_name(dtype_) + ", not bf16/f16");
  } else if constexpr (std::is_same_v<T, void> || std::is_same_v<T, char> || std::is_same_v<T, uint8_t>) {
  } else {
    if (dtype_ != dtype_of<std::remove_const_t<T>>::value) [[unlikely]]
      fail(std::string("tensor is ") + dtype_name(dtype_) + ", accessed as " + dtype_name(dtype_of<std::remove_const_t<T>>::value));
  }
  return static_cast<T*>(raw());
}

}  // namespace zt
