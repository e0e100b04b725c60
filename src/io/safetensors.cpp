// safetensors header validation, zero-copy views and loads over mapped bytes, and the streaming writer.
// Every check that guards a memory access happens in parse(); view/load only trust what parse() proved.
#include "io/safetensors.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <set>

#include "core/error.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/mmap.hpp"

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian; big-endian hosts are unsupported");

namespace zt {

namespace {

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference reader's limit
const char* const kFormatHint = "the file is not a valid safetensors file; re-export it (e.g. save_pretrained(..., safe_serialization=True))";

struct StDtype {
  const char* name;
  uint32_t bits;
  bool supported;
  DType dtype;
};

// Every dtype of the safetensors format; only those with supported=true can be viewed or loaded.
constexpr StDtype kDtypes[] = {
    {"F32", 32, true, DType::f32},        {"BF16", 16, true, DType::bf16},    {"F16", 16, true, DType::f16},
    {"F64", 64, true, DType::f64},        {"I32", 32, true, DType::i32},      {"I64", 64, true, DType::i64},
    {"BOOL", 8, false, DType::f32},       {"U8", 8, false, DType::f32},       {"I8", 8, false, DType::f32},
    {"I16", 16, false, DType::f32},       {"U16", 16, false, DType::f32},     {"U32", 32, false, DType::f32},
    {"U64", 64, false, DType::f32},       {"F8_E4M3", 8, false, DType::f32},  {"F8_E5M2", 8, false, DType::f32},
    {"F8_E8M0", 8, false, DType::f32},    {"F6_E2M3", 6, false, DType::f32},  {"F6_E3M2", 6, false, DType::f32},
    {"F4", 4, false, DType::f32},         {"C64", 64, false, DType::f32},
};

const StDtype* find_dtype(const std::string& s) {
  for (const auto& d : kDtypes)
    if (s == d.name) return &d;
  return nullptr;
}

std::string supported_list() { return "F32, BF16, F16, F64, I32, I64"; }

// Reads a JSON value that must be a non-negative integer fitting in int64.
bool as_index(const Json& v, uint64_t& out) {
  if (!v.is_number_unsigned()) return false;  // negative, fractional, or not a number
  out = v.get<uint64_t>();
  return out <= uint64_t(INT64_MAX);
}

Json parse_header(const std::string& text, const std::string& src) {
  // The callback rejects duplicate tensor names (nlohmann keeps the last silently) and nesting deeper
  // than the format needs, so a hostile header cannot build a deep tree.
  std::vector<std::string> seen;
  auto cb = [&](int depth, Json::parse_event_t ev, Json& parsed) {
    if (depth > 3) fail(src + ": safetensors header nests deeper than the format allows", kFormatHint);
    if (ev == Json::parse_event_t::key && depth == 1) seen.push_back(parsed.get<std::string>());
    return true;
  };
  Json j;
  try {
    j = Json::parse(text, cb);
  } catch (const Json::parse_error& e) {
    fail(src + ": safetensors header is not valid JSON (byte " + std::to_string(e.byte) + " of the header): " + e.what(), kFormatHint);
  } catch (const Json::exception& e) {
    fail(src + ": safetensors header is not valid JSON: " + e.what(), kFormatHint);
  }
  std::sort(seen.begin(), seen.end());
  auto dup = std::adjacent_find(seen.begin(), seen.end());
  check(dup == seen.end(), src + ": tensor '" + (dup == seen.end() ? "" : *dup) + "' appears twice in the safetensors header", kFormatHint);
  return j;
}

SafetensorsEntry parse_entry(const std::string& name, const Json& v, uint64_t data_size, const std::string& src) {
  const std::string where = src + ": tensor '" + name + "'";
  check(v.is_object(), where + ": header entry must be an object with dtype, shape and data_offsets, got " + v.type_name(), kFormatHint);
  SafetensorsEntry e;
  e.name = name;

  auto dt = v.find("dtype");
  check(dt != v.end(), where + ": missing 'dtype'", kFormatHint);
  check(dt->is_string(), where + ": 'dtype' must be a string, got " + dt->type_name(), kFormatHint);
  e.st_dtype = dt->get<std::string>();
  const StDtype* d = find_dtype(e.st_dtype);
  check(d != nullptr, where + ": unknown dtype '" + e.st_dtype + "' (zerotune reads " + supported_list() + ")", kFormatHint);
  e.supported = d->supported;
  e.dtype = d->dtype;

  auto sh = v.find("shape");
  check(sh != v.end(), where + ": missing 'shape'", kFormatHint);
  check(sh->is_array(), where + ": 'shape' must be an array of non-negative integers, got " + sh->type_name(), kFormatHint);
  uint64_t nonzero_product = 1;  // product of the non-zero dims: bounds every partial product Tensor computes
  bool has_zero = false;
  for (const auto& dim : *sh) {
    uint64_t x = 0;
    check(as_index(dim, x), where + ": shape dimension " + dim.dump() + " is not a non-negative integer below 2^63", kFormatHint);
    e.shape.push_back(int64_t(x));
    if (x == 0) {
      has_zero = true;
      continue;
    }
    check(!__builtin_mul_overflow(nonzero_product, x, &nonzero_product) && nonzero_product <= uint64_t(INT64_MAX),
          where + ": shape " + sh->dump() + " has more elements than fit in 64 bits", kFormatHint);
  }
  uint64_t numel = has_zero ? 0 : nonzero_product;
  uint64_t bits = 0;
  check(!__builtin_mul_overflow(numel, uint64_t(d->bits), &bits), where + ": shape " + sh->dump() + " is too large", kFormatHint);
  check(bits % 8 == 0, where + ": " + std::to_string(numel) + " elements of " + e.st_dtype + " do not fill whole bytes", kFormatHint);
  uint64_t want_bytes = bits / 8;

  auto off = v.find("data_offsets");
  check(off != v.end(), where + ": missing 'data_offsets'", kFormatHint);
  check(off->is_array() && off->size() == 2, where + ": 'data_offsets' must be [begin, end], got " + off->dump(), kFormatHint);
  check(as_index((*off)[0], e.begin) && as_index((*off)[1], e.end),
        where + ": 'data_offsets' must be two non-negative integers, got " + off->dump(), kFormatHint);
  check(e.begin <= e.end, where + ": data_offsets " + off->dump() + " has begin > end", kFormatHint);
  check(e.end - e.begin == want_bytes,
        where + ": data_offsets " + off->dump() + " span " + std::to_string(e.end - e.begin) + " bytes but shape " + sh->dump() +
            " of " + e.st_dtype + " needs " + std::to_string(want_bytes),
        kFormatHint);
  check(e.end <= data_size,
        where + ": data_offsets " + off->dump() + " run past the data region (" + std::to_string(data_size) + " bytes)",
        "the file is truncated or its header is wrong; re-download or re-export it");
  return e;
}

}  // namespace

const char* safetensors_dtype_name(DType t) {
  for (const auto& d : kDtypes)
    if (d.supported && d.dtype == t) return d.name;
  fail(std::string("no safetensors dtype for ") + dtype_name(t));
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  auto m = MappedFile::open(path);
  const unsigned char* data = m->data();
  size_t size = m->size();
  return parse(data, size, path, std::shared_ptr<const void>(m, m.get()));
}

SafetensorsFile SafetensorsFile::parse(const unsigned char* data, size_t size, std::string source,
                                       std::shared_ptr<const void> keep_alive) {
  SafetensorsFile f;
  f.source_ = std::move(source);
  f.base_ = data;
  f.size_ = size;
  f.keep_alive_ = std::move(keep_alive);
  const std::string& src = f.source_;

  check(size >= 8, src + ": file is " + std::to_string(size) + " bytes, shorter than the 8-byte safetensors header length",
        "the file is empty or truncated; re-download or re-export it");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];
  check(n <= kMaxHeaderBytes, src + ": safetensors header length " + std::to_string(n) + " exceeds the 100 MB limit",
        "this is probably not a safetensors file (wrong file, or a PyTorch .bin renamed?)");
  check(n <= size - 8, src + ": safetensors header length " + std::to_string(n) + " exceeds the file size (" + std::to_string(size) + " bytes)",
        "the file is truncated; re-download or re-export it");
  f.data_start_ = size_t(8 + n);
  uint64_t data_size = size - f.data_start_;

  Json h = parse_header(std::string(reinterpret_cast<const char*>(data + 8), size_t(n)), src);
  check(h.is_object(), src + ": safetensors header must be a JSON object, got " + std::string(h.type_name()), kFormatHint);

  for (auto it = h.begin(); it != h.end(); ++it) {
    if (it.key() == "__metadata__") {
      const Json& md = it.value();
      check(md.is_object(), src + ": '__metadata__' must be an object of strings, got " + std::string(md.type_name()), kFormatHint);
      for (auto m = md.begin(); m != md.end(); ++m) {
        check(m.value().is_string(), src + ": '__metadata__' value for '" + m.key() + "' must be a string, got " + m.value().dump(), kFormatHint);
        f.metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    f.entries_.push_back(parse_entry(it.key(), it.value(), data_size, src));
  }

  std::sort(f.entries_.begin(), f.entries_.end(), [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end != b.end ? a.end < b.end : a.name < b.name;
  });
  // Non-empty ranges must not share a byte. Zero-size tensors occupy nothing and may sit anywhere in range.
  const SafetensorsEntry* last = nullptr;
  for (const auto& e : f.entries_) {
    if (e.begin == e.end) continue;
    check(!last || e.begin >= last->end,
          src + ": tensors '" + (last ? last->name : "") + "' and '" + e.name + "' overlap (data_offsets [" +
              std::to_string(last ? last->begin : 0) + ", " + std::to_string(last ? last->end : 0) + "] and [" +
              std::to_string(e.begin) + ", " + std::to_string(e.end) + "])",
          kFormatHint);
    last = &e;
  }
  f.names_.reserve(f.entries_.size());
  for (size_t i = 0; i < f.entries_.size(); ++i) {
    f.names_.push_back(f.entries_[i].name);
    f.index_.emplace(f.entries_[i].name, i);
  }
  return f;
}

const SafetensorsEntry& SafetensorsFile::info(const std::string& name) const {
  auto it = index_.find(name);
  check(it != index_.end(), source_ + ": no tensor named '" + name + "' (the file has " + std::to_string(entries_.size()) + ")",
        "check the tensor name; names() lists them");
  return entries_[it->second];
}

Tensor SafetensorsFile::view(const std::string& name) const {
  const SafetensorsEntry& e = info(name);
  check(e.supported, source_ + ": tensor '" + name + "' has dtype " + e.st_dtype + ", which zerotune does not read",
        "supported safetensors dtypes: " + supported_list() + "; convert the checkpoint (e.g. to bfloat16) first");
  const unsigned char* p = base_ + data_start_ + e.begin;
  size_t elem = dtype_size(e.dtype);
  if (reinterpret_cast<uintptr_t>(p) % elem != 0) {
    log::warn_once("safetensors-misaligned:" + source_,
                   source_ + ": tensor data is not aligned to its element size; copying instead of mapping");
    Tensor t = Tensor::empty(e.shape, e.dtype);
    if (e.nbytes()) std::memcpy(t.raw(), p, size_t(e.nbytes()));
    return t;
  }
  auto buf = Buffer::wrap(const_cast<unsigned char*>(p), size_t(e.nbytes()), Device::CPU(), std::const_pointer_cast<void>(keep_alive_));
  return Tensor::view_of(std::move(buf), 0, e.shape, e.dtype);
}

Tensor SafetensorsFile::load(const std::string& name, DType want) const {
  Tensor v = view(name);
  if (v.dtype() == want) return v.clone();
  check(is_float(v.dtype()) && is_float(want),
        source_ + ": tensor '" + name + "' is " + info(name).st_dtype + " and cannot be loaded as " + dtype_name(want),
        is_float(v.dtype()) ? "load float tensors as f32, bf16, f16 or f64" : std::string("load it as ") + dtype_name(v.dtype()));
  return v.to_dtype(want);
}

// ---- writer ----

uint64_t TensorSpec::nbytes() const { return uint64_t(shape_numel(shape)) * dtype_size(dtype); }

SafetensorsWriter::SafetensorsWriter(std::string path, std::vector<TensorSpec> specs, const std::map<std::string, std::string>& metadata)
    : path_(std::move(path)), specs_(std::move(specs)), offsets_(specs_.size()) {
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json md = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) md[k] = v;
    h["__metadata__"] = std::move(md);
  }
  std::set<std::string> seen;
  for (const auto& t : specs_) {
    const std::string where = "save_safetensors " + path_ + ": tensor '" + t.name + "'";
    check(t.name != "__metadata__", where + ": the name is reserved by the format", "rename the tensor");
    check(seen.insert(t.name).second, where + " is given twice", "tensor names must be unique");
  }
  // Layout: widest elements first (stable), so with the 8-aligned data start every tensor is aligned to its
  // element size and readers can map it in place without gaps (the reference reader forbids gaps). Header
  // entries follow the layout, as the reference writer's do.
  std::vector<size_t> layout(specs_.size());
  for (size_t i = 0; i < layout.size(); ++i) layout[i] = i;
  std::stable_sort(layout.begin(), layout.end(),
                   [&](size_t a, size_t b) { return dtype_size(specs_[a].dtype) > dtype_size(specs_[b].dtype); });
  uint64_t offset = 0;
  for (size_t i : layout) {
    const TensorSpec& t = specs_[i];
    nlohmann::ordered_json e = nlohmann::ordered_json::object();
    e["dtype"] = safetensors_dtype_name(t.dtype);
    e["shape"] = t.shape;
    e["data_offsets"] = {offset, offset + t.nbytes()};
    h[t.name] = std::move(e);
    offsets_[i] = offset;
    offset += t.nbytes();
  }
  std::string header;
  try {
    header = h.dump();
  } catch (const nlohmann::json::exception& e) {
    fail("save_safetensors " + path_ + ": a tensor name or metadata string is not valid UTF-8 (" + e.what() + ")", "use UTF-8 names");
  }
  header.append((8 - header.size() % 8) % 8, ' ');
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = uint8_t(uint64_t(header.size()) >> (8 * i));
  data_start_ = 8 + header.size();
  file_bytes_ = data_start_ + offset;

  file_ = std::make_unique<AtomicFile>(path_);
  file_->reserve(file_bytes_);
  file_->write_at(0, len, 8);
  file_->write_at(8, header.data(), header.size());
}

SafetensorsWriter::~SafetensorsWriter() = default;

void SafetensorsWriter::write(size_t i, uint64_t offset, const void* data, size_t n) {
  check(i < specs_.size(), "SafetensorsWriter " + path_ + ": no tensor #" + std::to_string(i));
  check(offset <= specs_[i].nbytes() && n <= specs_[i].nbytes() - offset,
        "SafetensorsWriter " + path_ + ": " + std::to_string(n) + " bytes at " + std::to_string(offset) + " overrun tensor '" +
            specs_[i].name + "' (" + std::to_string(specs_[i].nbytes()) + " bytes)");
  if (n) file_->write_at(data_start_ + offsets_[i] + offset, data, n);
}

void SafetensorsWriter::commit() {
  check(file_ != nullptr, "SafetensorsWriter " + path_ + ": committed twice");
  file_->commit();
  file_.reset();
}

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::vector<TensorSpec> specs;
  std::set<std::string> seen;
  for (const auto& [name, t] : tensors) {
    const std::string where = "save_safetensors " + path + ": tensor '" + name + "'";
    check(name != "__metadata__", where + ": the name is reserved by the format", "rename the tensor");
    check(seen.insert(name).second, where + " is given twice", "tensor names must be unique");
    check(t.defined(), where + " is undefined");
    check(t.device().is_cpu(), where + " is on " + t.device().str(), "copy it to the CPU before saving");
    check(t.is_contiguous(), where + " is not contiguous", "clone() it before saving");
    specs.push_back({name, t.dtype(), t.shape()});
  }
  SafetensorsWriter w(path, std::move(specs), metadata);
  for (size_t i = 0; i < tensors.size(); ++i) w.write(i, 0, tensors[i].second.raw(), tensors[i].second.nbytes());
  w.commit();
}

}  // namespace zt
