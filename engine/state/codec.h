#pragma once
// A small, deterministic binary codec for state records: varints, raw
// doubles and length-prefixed strings. Same state, same bytes — the crash
// test compares records byte for byte.

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace storepulse {

class Encoder {
 public:
  explicit Encoder(std::string& out) : out_(out) {}
  void u64(uint64_t v) {
    // Into a local buffer, appended once: a push_back per byte showed in profiles.
    char bytes[10];
    size_t n = 0;
    while (v >= 0x80) {
      bytes[n++] = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    bytes[n++] = static_cast<char>(v);
    out_.append(bytes, n);
  }
  void i64(int64_t v) { u64((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void f64(double v) {
    char bytes[8];
    std::memcpy(bytes, &v, 8);
    out_.append(bytes, 8);
  }
  // Hashes and fingerprints: eight bytes, where a varint would take ten.
  void fixed64(uint64_t v) {
    const uint64_t le = std::endian::native == std::endian::little ? v : __builtin_bswap64(v);
    char bytes[8];
    std::memcpy(bytes, &le, 8);
    out_.append(bytes, 8);
  }
  void str(std::string_view s) {
    u64(s.size());
    out_.append(s);
  }

 private:
  std::string& out_;
};

// Reads what Encoder wrote; any overrun sets failed() instead of reading
// past the end, so a corrupt record is reported, never undefined behaviour.
class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}
  bool failed() const { return failed_; }
  bool atEnd() const { return pos_ == in_.size(); }

  uint64_t u64() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return fail();
      const auto byte = static_cast<uint8_t>(in_[pos_++]);
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return v;
    }
    return fail();
  }
  int64_t i64() {
    const uint64_t v = u64();
    return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
  }
  double f64() {
    double v = 0;
    if (const char* p = take(8)) std::memcpy(&v, p, 8);
    return v;
  }
  uint64_t fixed64() {
    uint64_t v = 0;
    if (const char* p = take(8)) std::memcpy(&v, p, 8);
    return std::endian::native == std::endian::little ? v : __builtin_bswap64(v);
  }
  std::string str() { return std::string(view()); }
  // A string, viewing the input: valid as long as it is.
  std::string_view view() {
    const uint64_t n = u64();
    const char* p = failed_ ? nullptr : take(n);
    return p ? std::string_view(p, n) : std::string_view();
  }

 private:
  // The next n bytes, or null (and failed) when fewer are left.
  const char* take(uint64_t n) {
    if (in_.size() - pos_ < n) return fail(), nullptr;
    const char* p = in_.data() + pos_;
    pos_ += n;
    return p;
  }
  uint64_t fail() {
    failed_ = true;
    pos_ = in_.size();
    return 0;
  }
  std::string_view in_;
  size_t pos_ = 0;
  bool failed_ = false;
};

// Big-endian so that keys sort by partition first.
inline void appendBigEndian32(std::string& out, uint32_t v) {
  const uint32_t be = std::endian::native == std::endian::little ? __builtin_bswap32(v) : v;
  char bytes[4];
  std::memcpy(bytes, &be, 4);
  out.append(bytes, 4);
}

}  // namespace storepulse
