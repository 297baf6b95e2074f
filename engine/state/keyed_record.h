#pragma once
// A state record made of entries keyed by 64-bit ids (the rule engine's
// aggregate records: one entry per window, by the aggregate's definition
// fingerprint), and the merge that lets a commit write only the entries it
// changed: a merge operand is a record of the changed entries, and merging
// replaces or adds them by id. A customer's record with a hundred windows
// then costs a write of the few an event touched, not all of them.
//
// Format: u64 version (2), u64 count, then per entry its id (fixed 64 bits)
// and its bytes (length-prefixed); see codec.h.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace storepulse::keyed_record {

inline constexpr uint64_t kFormat = 2;

// Writes the header of a record of `count` entries; add() each after it.
void begin(std::string& out, uint64_t count);
void add(std::string& out, uint64_t id, std::string_view bytes);

// `base` (null: no record yet) with `operands` applied in order, into
// `out`. False when one of them is not a keyed record of this format.
bool merge(const std::string_view* base, std::span<const std::string_view> operands, std::string& out);

}  // namespace storepulse::keyed_record
