#pragma once
// A 64-bit hash that never changes between processes or versions (FNV-1a):
// for what is stored or compared across runs — alert ids, distinct-count
// state, rule set versions. Not for hash tables.

#include <cstdint>
#include <string_view>

namespace storepulse {

class StableHash {
 public:
  StableHash& add(std::string_view bytes) {
    for (unsigned char c : bytes) step(c);
    return *this;
  }
  // Ends a part, so that ("ab", "c") and ("a", "bc") hash apart.
  StableHash& addPart(std::string_view part) {
    add(part);
    step(0xff);  // not a byte of valid UTF-8
    return *this;
  }
  uint64_t value() const { return h_; }

 private:
  void step(unsigned char c) {
    h_ ^= c;
    h_ *= 0x100000001b3ull;
  }
  uint64_t h_ = 0xcbf29ce484222325ull;
};

inline uint64_t stableHash(std::string_view bytes) { return StableHash().add(bytes).value(); }

}  // namespace storepulse
