// Read-only memory-mapped files (RAII) and whole-file helpers with errors that name the path.
#pragma once
#include <cstddef>
#include <memory>
#include <string>

namespace zt {

class MappedFile {
 public:
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const unsigned char* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  const unsigned char* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

std::string read_file(const std::string& path);
// Writes `data` to path via a temporary file in the same directory and rename (atomic on POSIX).
void write_file_atomic(const std::string& path, const void* data, size_t n);
inline void write_file_atomic(const std::string& path, const std::string& s) { write_file_atomic(path, s.data(), s.size()); }

}  // namespace zt
