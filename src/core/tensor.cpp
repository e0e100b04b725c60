// Buffer allocation and Tensor views/copies.
#include "core/tensor.hpp"

#include <cstdlib>
#include <cstring>

namespace zt {

namespace {
Buffer::Alloc& cuda_alloc() { static Buffer::Alloc a; return a; }
Buffer::Free& cuda_free() { static Buffer::Free f; return f; }
}  // namespace

std::string Device::str() const { return kind == cpu ? "cpu" : "cuda:" + std::to_string(index); }

void Buffer::set_cuda_allocator(Alloc alloc, Free free) {
  cuda_alloc() = std::move(alloc);
  cuda_free() = std::move(free);
}

std::shared_ptr<Buffer> Buffer::allocate(size_t bytes, Device dev) {
  std::shared_ptr<Buffer> b(new Buffer());
  b->size_ = bytes;
  b->device_ = dev;
  b->owned_ = true;
  size_t n = bytes == 0 ? 64 : (bytes + 63) / 64 * 64;
  if (dev.is_cpu()) {
    b->data_ = std::aligned_alloc(64, n);
    check(b->data_ != nullptr, "out of host memory allocating " + std::to_string(bytes) + " bytes");
  } else {
    check(bool(cuda_alloc()), "no CUDA backend in this build or it was not initialised",
          "build with nvcc available, or run on the CPU");
    b->data_ = cuda_alloc()(n, dev.index);
  }
  return b;
}

std::shared_ptr<Buffer> Buffer::wrap(void* data, size_t bytes, Device dev, std::shared_ptr<void> keep_alive) {
  std::shared_ptr<Buffer> b(new Buffer());
  b->data_ = data;
  b->size_ = bytes;
  b->device_ = dev;
  b->keep_alive_ = std::move(keep_alive);
  return b;
}

Buffer::~Buffer() {
  if (!owned_ || !data_) return;
  if (device_.is_cpu()) std::free(data_);
  else if (cuda_free()) cuda_free()(data_, device_.index);
}

std::string shape_str(const Shape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

static Shape contiguous_strides(const Shape& shape) {
  Shape st(shape.size());
  int64_t acc = 1;
  for (int i = int(shape.size()) - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= shape[i];
  }
  return st;
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device dev) {
  for (auto d : shape) check(d >= 0, "negative dimension in shape " + shape_str(shape));
  Tensor t;
  t.buf_ = Buffer::allocate(size_t(shape_numel(shape)) * dtype_size(dtype), dev);
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device dev) {
  Tensor t = empty(shape, dtype, dev);
  t.zero_();
  return t;
}

Tensor Tensor::view_of(std::shared_ptr<Buffer> buf, size_t offset, const Shape& shape, DType dtype) {
  size_t need = size_t(shape_numel(shape)) * dtype_size(dtype);
  check(buf != nullptr, "view_of: null buffer");
  check(offset + need <= buf->size(), "view " + shape_str(shape) + " " + dtype_name(dtype) + " at byte " +
                                          std::to_string(offset) + " exceeds a buffer of " + std::to_string(buf->size()) + " bytes");
  Tensor t;
  t.buf_ = std::move(buf);
  t.offset_ = offset;
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  return t;
}

int64_t Tensor::size(int dim) const {
  int d = dim < 0 ? dim + ndim() : dim;
  check(d >= 0 && d < ndim(), "dimension " + std::to_string(dim) + " out of range for " + str());
  return shape_[d];
}

bool Tensor::is_contiguous() const { return strides_ == contiguous_strides(shape_); }

Tensor Tensor::reshape(const Shape& shape) const {
  check(is_contiguous(), "reshape of a non-contiguous tensor " + str());
  Shape s = shape;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      check(infer < 0, "reshape: more than one -1 in " + shape_str(shape));
      infer = int(i);
    } else {
      known *= s[i];
    }
  }
  if (infer >= 0) {
    check(known > 0 && numel() % known == 0, "reshape " + str() + " to " + shape_str(shape));
    s[infer] = numel() / known;
  }
  check(shape_numel(s) == numel(), "reshape " + str() + " to " + shape_str(shape) + ": element counts differ");
  Tensor t = *this;
  t.shape_ = s;
  t.strides_ = contiguous_strides(s);
  return t;
}

Tensor Tensor::narrow(int64_t start, int64_t length) const {
  check(ndim() >= 1, "narrow of a scalar");
  check(start >= 0 && length >= 0 && start + length <= shape_[0],
        "narrow [" + std::to_string(start) + ", " + std::to_string(start + length) + ") out of range for " + str());
  Tensor t = *this;
  t.offset_ += size_t(start * strides_[0]) * dtype_size(dtype_);
  t.shape_[0] = length;
  return t;
}

Tensor Tensor::clone() const {
  check(device().is_cpu() && is_contiguous(), "clone: only contiguous CPU tensors");
  Tensor t = empty(shape_, dtype_, Device::CPU());
  std::memcpy(t.raw(), raw(), nbytes());
  return t;
}

Tensor Tensor::to_dtype(DType dt) const {
  Tensor t = empty(shape_, dt, Device::CPU());
  t.copy_from(*this);
  return t;
}

void Tensor::copy_from(const Tensor& src) {
  check(device().is_cpu() && src.device().is_cpu(), "copy_from: CPU tensors only (" + str() + " <- " + src.str() + ")");
  check(is_contiguous() && src.is_contiguous(), "copy_from: contiguous tensors only");
  check(numel() == src.numel(), "copy_from: " + str() + " <- " + src.str() + ": sizes differ");
  if (dtype_ == src.dtype_) {
    std::memcpy(raw(), src.raw(), nbytes());
  } else {
    check(is_float(dtype_) && is_float(src.dtype_), std::string("copy_from: cannot convert ") + dtype_name(src.dtype_) + " to " + dtype_name(dtype_));
    convert(raw(), dtype_, src.raw(), src.dtype_, size_t(numel()));
  }
}

void Tensor::fill(double v) {
  check(device().is_cpu() && is_contiguous(), "fill: contiguous CPU tensors only");
  size_t n = size_t(numel());
  switch (dtype_) {
    case DType::f32: { auto* p = data<float>(); for (size_t i = 0; i < n; ++i) p[i] = float(v); break; }
    case DType::f64: { auto* p = data<double>(); for (size_t i = 0; i < n; ++i) p[i] = v; break; }
    case DType::i32: { auto* p = data<int32_t>(); for (size_t i = 0; i < n; ++i) p[i] = int32_t(v); break; }
    case DType::i64: { auto* p = data<int64_t>(); for (size_t i = 0; i < n; ++i) p[i] = int64_t(v); break; }
    case DType::bf16: { auto* p = data<uint16_t>(); uint16_t h = f32_to_bf16(float(v)); for (size_t i = 0; i < n; ++i) p[i] = h; break; }
    case DType::f16: { auto* p = data<uint16_t>(); uint16_t h = f32_to_f16(float(v)); for (size_t i = 0; i < n; ++i) p[i] = h; break; }
  }
}

void Tensor::zero_() {
  check(is_contiguous(), "zero_: contiguous tensors only");
  if (device().is_cpu()) {
    std::memset(raw(), 0, nbytes());
  } else {
    fail("zero_ on " + device().str() + " needs the CUDA backend's memset (use ops::zero)");
  }
}

std::string Tensor::str() const {
  if (!defined()) return "undefined";
  return std::string(dtype_name(dtype_)) + shape_str(shape_) + " " + device().str();
}

void expect(const Tensor& t, const char* what, DType dt) {
  check(t.defined(), std::string(what) + ": tensor is missing");
  check(t.dtype() == dt, std::string(what) + ": expected " + dtype_name(dt) + ", got " + t.str());
  check(t.is_contiguous(), std::string(what) + ": must be contiguous, got " + t.str());
}

void expect_shape(const Tensor& t, const char* what, const Shape& shape) {
  check(t.defined(), std::string(what) + ": tensor is missing");
  check(t.shape() == shape, std::string(what) + ": expected shape " + shape_str(shape) + ", got " + t.str());
}

}  // namespace zt
