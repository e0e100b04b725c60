// mmap and atomic file writes.
#include "core/mmap.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.hpp"

namespace zt {

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  check(fd >= 0, "cannot open " + path + ": " + std::strerror(errno), "check the path and its permissions");
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    fail("cannot stat " + path + ": " + std::strerror(e));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    fail(path + " is a directory, expected a file");
  }
  std::shared_ptr<MappedFile> m(new MappedFile());
  m->path_ = path;
  m->size_ = size_t(st.st_size);
  if (m->size_ > 0) {
    void* p = ::mmap(nullptr, m->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    ::close(fd);
    check(p != MAP_FAILED, "cannot mmap " + path + ": " + std::strerror(e));
    m->data_ = static_cast<const unsigned char*>(p);
  } else {
    ::close(fd);
  }
  return m;
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<unsigned char*>(data_), size_);
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  check(bool(f), "cannot open " + path + ": " + std::strerror(errno), "check the path and its permissions");
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

AtomicFile::AtomicFile(std::string path, std::string tmp_path)
    : path_(std::move(path)), tmp_(tmp_path.empty() ? path_ + ".tmp." + std::to_string(::getpid()) : std::move(tmp_path)) {
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  check(fd_ >= 0, "cannot create " + tmp_ + ": " + std::strerror(errno), "check that the directory exists and is writable");
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(tmp_.c_str());
}

void AtomicFile::reserve(uint64_t bytes) {
  if (bytes == 0) return;
  if (::fallocate(fd_, 0, 0, off_t(bytes)) == 0) return;
  const int e = errno;
  check(e != ENOSPC, "not enough disk space for " + path_ + " (" + std::to_string(bytes) + " bytes)",
        "free space on that filesystem or write elsewhere");
  check(::ftruncate(fd_, off_t(bytes)) == 0, "cannot size " + tmp_ + ": " + std::strerror(errno), "check free disk space");
}

void AtomicFile::write(const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, std::min<size_t>(n, size_t(1) << 30));
    if (w < 0 && errno == EINTR) continue;
    check(w > 0, "write to " + tmp_ + " failed: " + std::strerror(errno), "check free disk space");
    p += w;
    n -= size_t(w);
  }
}

void AtomicFile::write_at(uint64_t offset, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::pwrite(fd_, p, std::min<size_t>(n, size_t(1) << 30), off_t(offset));
    if (w < 0 && errno == EINTR) continue;
    check(w > 0, "write to " + tmp_ + " failed: " + std::strerror(errno), "check free disk space");
    p += w;
    offset += uint64_t(w);
    n -= size_t(w);
  }
}

void AtomicFile::commit() {
  check(fd_ >= 0 && !committed_, "internal: " + tmp_ + " committed twice");
  check(::fsync(fd_) == 0, "cannot flush " + tmp_ + ": " + std::strerror(errno), "check free disk space");
  const int rc = ::close(fd_);
  fd_ = -1;
  check(rc == 0, "cannot close " + tmp_ + ": " + std::strerror(errno));
  check(::rename(tmp_.c_str(), path_.c_str()) == 0, "cannot rename " + tmp_ + " to " + path_ + ": " + std::strerror(errno));
  committed_ = true;
}

void write_file_atomic(const std::string& path, const void* data, size_t n) {
  AtomicFile f(path);
  f.write(data, n);
  f.commit();
}

}  // namespace zt
