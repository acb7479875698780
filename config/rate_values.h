// Rates with units (issue 14's rate limits): "5Mbit", "500kbit", "1Gbit", "800bit" (bits per
// second, decimal prefixes as tc's) or "2MB/s", "250kB/s" (bytes per second). A bare number
// is refused: "5M" or "5000" could mean either, so the unit is always said.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tetherd {

constexpr uint64_t kMinRateBits = 8'000;               // 8kbit: below, HTB cannot keep it
constexpr uint64_t kMaxRateBits = 10'000'000'000ULL;   // 10Gbit

// Parses a rate into bits per second. Returns "" or the cause (without the field's name: the
// caller names it).
std::string parseRate(std::string_view text, uint64_t& bitsPerSecond);

// The shortest exact form: 5000000 -> "5Mbit", 500000 -> "500kbit", 1234 -> "1234bit".
std::string formatRate(uint64_t bitsPerSecond);

// Sizes with units (issue 14's quotas): "5MB", "500kB", "2GB", "1TB", "800B" (bytes, decimal
// prefixes) or "5MiB", "2GiB" (binary). A bare number is refused, as for rates.
constexpr uint64_t kMaxSizeBytes = 1'000'000'000'000'000ULL;  // 1PB
std::string parseSize(std::string_view text, uint64_t& bytes);
// The shortest exact decimal form: 5000000 -> "5MB", 1234 -> "1234B".
std::string formatSize(uint64_t bytes);

}  // namespace tetherd
