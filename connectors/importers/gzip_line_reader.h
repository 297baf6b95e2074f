#pragma once
// Reads text lines from a plain or gzip file: zlib's gzread passes plain
// files through untouched, so callers never care which one they were given.

#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/core/status.h"

struct gzFile_s;  // zlib's handle; kept out of this header

namespace storepulse::importers {

class GzipLineReader {
 public:
  // A line longer than this is an error rather than unbounded memory: a file
  // with no newlines at all (a binary passed by mistake) must not eat the RAM.
  static constexpr std::size_t kDefaultMaxLineBytes = 64u << 20;

  static Result<GzipLineReader> open(const std::string& path,
                                     std::size_t max_line_bytes = kDefaultMaxLineBytes);

  GzipLineReader(GzipLineReader&& other) noexcept;
  GzipLineReader& operator=(GzipLineReader&& other) noexcept;
  GzipLineReader(const GzipLineReader&) = delete;
  GzipLineReader& operator=(const GzipLineReader&) = delete;
  ~GzipLineReader();

  // Puts the next line, without "\n" or "\r\n", into `line`. Returns false at
  // end of file. A last line without a newline is still a line.
  Result<bool> next(std::string& line);

  // 1-based number of the line last returned by next().
  std::uint64_t lineNumber() const { return line_number_; }
  const std::string& path() const { return path_; }

 private:
  GzipLineReader(gzFile_s* file, std::string path, std::size_t max_line_bytes);
  Status fill();  // refills buf_ from the file; sets eof_
  void close();

  gzFile_s* file_ = nullptr;
  std::string path_;
  std::size_t max_line_bytes_;
  std::string buf_;
  std::size_t pos_ = 0;  // next unread byte in buf_
  bool eof_ = false;
  std::uint64_t line_number_ = 0;
};

}  // namespace storepulse::importers
