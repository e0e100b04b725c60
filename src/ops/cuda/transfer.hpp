// The GPU backend of ops::Uploader: pinned staging buffers that worker threads fill from host memory, asynchronous
// copies on the uploader's own stream, and conversion kernels on the device when the dtypes differ.
#pragma once
#include <cstddef>
#include <memory>

#include "ops/transfer.hpp"

namespace zt::cuda {

// `buffers` pinned staging buffers of `chunk_bytes` each on `device` (requires cuda::initialize()).
std::unique_ptr<ops::UploadBackend> make_upload_backend(int device, size_t chunk_bytes, int buffers);

}  // namespace zt::cuda
