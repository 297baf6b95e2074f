#pragma once
// Replaces the global operator new with one that counts calls, to verify
// that evaluation does not allocate. Include in exactly one file of a
// binary (a test or a benchmark); read allocationCount() around the code
// under test.

#include <atomic>
#include <cstdlib>
#include <new>

namespace storepulse::testing {

inline std::atomic<long> g_allocation_count{0};

inline long allocationCount() { return g_allocation_count.load(std::memory_order_relaxed); }

}  // namespace storepulse::testing

// GCC cannot see that these pair with each other and warns about free()
// of memory from operator new.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  storepulse::testing::g_allocation_count.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop
