#include "config/rate_values.h"

#include <array>
#include <cctype>
#include <charconv>
#include <utility>

namespace tetherd {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string parseRate(std::string_view text, uint64_t& bitsPerSecond) {
  if (text.empty()) return "empty: give a rate like 5Mbit or 2MB/s";
  if (text.size() > 32) return "too long";
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0) return "'" + std::string(text) + "' does not start with a number (like 5Mbit or 2MB/s)";
  uint64_t n = 0;
  auto [next, ec] = std::from_chars(text.data(), text.data() + digits, n);
  if (ec != std::errc() || next != text.data() + digits || n > kMaxRateBits) return "'" + std::string(text) + "' is too large";
  const std::string_view unitText = text.substr(digits);
  if (unitText.empty()) return "'" + std::string(text) + "' has no unit: say bit, kbit, Mbit, Gbit or B/s, kB/s, MB/s, GB/s";
  // Bits are case-insensitive (tc's "mbit" is a megabit); bytes need the capital B.
  static const std::array<std::pair<const char*, uint64_t>, 4> bits{{{"bit", 1}, {"kbit", 1'000}, {"mbit", 1'000'000}, {"gbit", 1'000'000'000}}};
  static const std::array<std::pair<const char*, uint64_t>, 4> bytes{{{"B/s", 8}, {"kB/s", 8'000}, {"MB/s", 8'000'000}, {"GB/s", 8'000'000'000ULL}}};
  uint64_t factor = 0;
  const std::string l = lower(unitText);
  if (l.find("bit") != std::string::npos) {
    for (const auto& [u, f] : bits)
      if (l == u) factor = f;
  } else {
    for (const auto& [u, f] : bytes)
      if (unitText == u) factor = f;
  }
  if (factor == 0)
    return "'" + std::string(unitText) + "' is not a unit: say bit, kbit, Mbit, Gbit or B/s, kB/s, MB/s, GB/s";
  if (n > kMaxRateBits / factor) return "'" + std::string(text) + "' is above the most, 10Gbit";
  const uint64_t v = n * factor;
  if (v < kMinRateBits) return "'" + std::string(text) + "' is below the least, 8kbit";
  bitsPerSecond = v;
  return "";
}

std::string formatRate(uint64_t b) {
  if (b != 0 && b % 1'000'000'000 == 0) return std::to_string(b / 1'000'000'000) + "Gbit";
  if (b != 0 && b % 1'000'000 == 0) return std::to_string(b / 1'000'000) + "Mbit";
  if (b != 0 && b % 1'000 == 0) return std::to_string(b / 1'000) + "kbit";
  return std::to_string(b) + "bit";
}

std::string parseSize(std::string_view text, uint64_t& bytes) {
  if (text.empty()) return "empty: give a size like 5MB or 500kB";
  if (text.size() > 32) return "too long";
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0) return "'" + std::string(text) + "' does not start with a number (like 5MB or 500kB)";
  uint64_t n = 0;
  auto [next, ec] = std::from_chars(text.data(), text.data() + digits, n);
  if (ec != std::errc() || next != text.data() + digits || n > kMaxSizeBytes) return "'" + std::string(text) + "' is too large";
  const std::string_view unitText = text.substr(digits);
  if (unitText.empty()) return "'" + std::string(text) + "' has no unit: say B, kB, MB, GB, TB or KiB, MiB, GiB, TiB";
  static const std::array<std::pair<const char*, uint64_t>, 9> units{{{"B", 1},
                                                                      {"kB", 1'000},
                                                                      {"MB", 1'000'000},
                                                                      {"GB", 1'000'000'000},
                                                                      {"TB", 1'000'000'000'000ULL},
                                                                      {"KiB", 1ULL << 10},
                                                                      {"MiB", 1ULL << 20},
                                                                      {"GiB", 1ULL << 30},
                                                                      {"TiB", 1ULL << 40}}};
  uint64_t factor = 0;
  for (const auto& [u, f] : units)
    if (unitText == u || (unitText == "KB" && f == 1'000)) factor = f;
  if (factor == 0) return "'" + std::string(unitText) + "' is not a unit: say B, kB, MB, GB, TB or KiB, MiB, GiB, TiB";
  if (n > kMaxSizeBytes / factor) return "'" + std::string(text) + "' is above the most, 1PB";
  if (n == 0) return "'" + std::string(text) + "' is zero";
  bytes = n * factor;
  return "";
}

std::string formatSize(uint64_t b) {
  static const std::array<std::pair<const char*, uint64_t>, 4> units{
      {{"TB", 1'000'000'000'000ULL}, {"GB", 1'000'000'000}, {"MB", 1'000'000}, {"kB", 1'000}}};
  for (const auto& [u, f] : units)
    if (b != 0 && b % f == 0) return std::to_string(b / f) + u;
  return std::to_string(b) + "B";
}

}  // namespace tetherd
