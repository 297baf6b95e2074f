#include "connectors/importers/gzip_line_reader.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

namespace storepulse::importers {
namespace {

constexpr unsigned kChunkBytes = 256u << 10;

}  // namespace

Result<GzipLineReader> GzipLineReader::open(const std::string& path, std::size_t max_line_bytes) {
  errno = 0;
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) {
    const int err = errno;
    const ErrorCode code = err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo;
    return Status(code, fmt::format("{}: cannot open: {}", path,
                                    err != 0 ? std::strerror(err) : "out of memory"));
  }
  gzbuffer(file, kChunkBytes);
  return GzipLineReader(file, path, max_line_bytes);
}

GzipLineReader::GzipLineReader(gzFile_s* file, std::string path, std::size_t max_line_bytes)
    : file_(file), path_(std::move(path)), max_line_bytes_(max_line_bytes) {}

GzipLineReader::GzipLineReader(GzipLineReader&& other) noexcept
    : file_(std::exchange(other.file_, nullptr)),
      path_(std::move(other.path_)),
      max_line_bytes_(other.max_line_bytes_),
      buf_(std::move(other.buf_)),
      pos_(other.pos_),
      eof_(other.eof_),
      line_number_(other.line_number_) {}

GzipLineReader& GzipLineReader::operator=(GzipLineReader&& other) noexcept {
  if (this != &other) {
    close();
    file_ = std::exchange(other.file_, nullptr);
    path_ = std::move(other.path_);
    max_line_bytes_ = other.max_line_bytes_;
    buf_ = std::move(other.buf_);
    pos_ = other.pos_;
    eof_ = other.eof_;
    line_number_ = other.line_number_;
  }
  return *this;
}

GzipLineReader::~GzipLineReader() { close(); }

void GzipLineReader::close() {
  if (file_ != nullptr) gzclose(file_);
  file_ = nullptr;
}

Status GzipLineReader::fill() {
  // Keep the unread tail; the line being assembled may straddle chunks.
  buf_.erase(0, pos_);
  pos_ = 0;
  const std::size_t old_size = buf_.size();
  buf_.resize(old_size + kChunkBytes);
  const int n = gzread(file_, buf_.data() + old_size, kChunkBytes);
  if (n < 0) {
    buf_.resize(old_size);
    int err = Z_OK;
    const char* message = gzerror(file_, &err);
    return Status(ErrorCode::kCorruption, fmt::format("{}: read failed: {}", path_, message));
  }
  buf_.resize(old_size + static_cast<std::size_t>(n));
  if (n == 0) {
    // A truncated gzip stream reads as a short file; zlib only says so here.
    int err = Z_OK;
    const char* message = gzerror(file_, &err);
    if (err != Z_OK) {
      return Status(ErrorCode::kCorruption, fmt::format("{}: {}", path_, message));
    }
    eof_ = true;
  }
  return Status::ok();
}

Result<bool> GzipLineReader::next(std::string& line) {
  if (file_ == nullptr) {
    return Status(ErrorCode::kInternal, fmt::format("{}: reader is closed", path_));
  }
  std::size_t scanned = pos_;  // bytes before this offset hold no newline
  while (true) {
    const char* start = buf_.data() + scanned;
    const void* nl = std::memchr(start, '\n', buf_.size() - scanned);
    if (nl != nullptr || (eof_ && pos_ < buf_.size())) {
      const std::size_t end =
          nl != nullptr ? static_cast<std::size_t>(static_cast<const char*>(nl) - buf_.data())
                        : buf_.size();
      std::size_t len = end - pos_;
      if (len > 0 && buf_[pos_ + len - 1] == '\r') --len;
      line.assign(buf_, pos_, len);
      pos_ = nl != nullptr ? end + 1 : end;
      ++line_number_;
      return true;
    }
    if (eof_) return false;
    if (buf_.size() - pos_ > max_line_bytes_) {
      return Status(ErrorCode::kInvalidArgument,
                    fmt::format("{}:{}: line longer than {} bytes", path_, line_number_ + 1,
                                max_line_bytes_));
    }
    scanned = buf_.size() - pos_;  // offsets shift by pos_ when fill() compacts
    SP_RETURN_IF_ERROR(fill());
  }
}

}  // namespace storepulse::importers
