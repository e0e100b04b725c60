// Read-only memory-mapped files (RAII), files written through a temporary name and renamed into place (AtomicFile),
// and whole-file helpers; errors name the path.
#pragma once
#include <cstddef>
#include <cstdint>
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

// A file written under a temporary name in the destination's directory, then fsync'ed and renamed over the
// destination by commit() (atomic on POSIX); without commit the temporary file is removed. Sequential writes
// (write) and positioned writes from any thread (write_at) both work; the descriptor is closed in every case.
class AtomicFile {
 public:
  // The temporary name is `tmp_path`, or "<path>.tmp.<pid>" when empty.
  explicit AtomicFile(std::string path, std::string tmp_path = {});
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::string& path() const { return path_; }
  const std::string& tmp_path() const { return tmp_; }
  // Sizes the file to `bytes` with the disk space reserved where the filesystem can (a full disk fails here, not
  // halfway through the data).
  void reserve(uint64_t bytes);
  void write(const void* data, size_t n);                      // at the current end of sequential writes
  void write_at(uint64_t offset, const void* data, size_t n);  // positioned; thread-safe for disjoint ranges
  void commit();                                               // fsync, close, rename onto path()

 private:
  std::string path_, tmp_;
  int fd_ = -1;
  bool committed_ = false;
};

std::string read_file(const std::string& path);
// Writes `data` to path via a temporary file in the same directory and rename (atomic on POSIX).
void write_file_atomic(const std::string& path, const void* data, size_t n);
inline void write_file_atomic(const std::string& path, const std::string& s) { write_file_atomic(path, s.data(), s.size()); }

}  // namespace zt
