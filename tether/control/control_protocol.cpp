#include "tether/control/control_protocol.h"

#include <charconv>

namespace tetherd::control {

namespace {
// The sequence number at the start of a line, when one can be read even though the rest of
// the line is refused, so the client can match the error to its request.
uint32_t leadingSeq(std::string_view line) {
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  size_t n = 0;
  while (n < line.size() && n < 10 && line[n] >= '0' && line[n] <= '9') ++n;
  if (n == 0 || n > 9 || (n < line.size() && line[n] != ' ' && line[n] != '\t')) return 0;
  uint32_t seq = 0;
  std::from_chars(line.data(), line.data() + n, seq);
  return seq;
}
}  // namespace

ParseResult parseRequest(std::string_view line) {
  ParseResult r;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > kMaxLineLength) {
    r.kind = ParseResult::Kind::Error;
    r.error = "Command too long";
    r.request.seq = leadingSeq(line);
    return r;
  }
  for (unsigned char c : line) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      r.kind = ParseResult::Kind::Error;
      r.error = "Invalid character in command";
      r.request.seq = leadingSeq(line);
      return r;
    }
  }
  std::vector<std::string> words;
  std::string cur;
  bool inWord = false, quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c == '\\') {
      if (i + 1 >= line.size() || (line[i + 1] != '\\' && line[i + 1] != '"')) {
        r.kind = ParseResult::Kind::Error;
        r.error = "Invalid escape (only \\\\ and \\\" are allowed)";
        break;
      }
      cur += line[++i];
      inWord = true;
    } else if (c == '"') {
      quoted = !quoted;
      inWord = true;  // "" is an empty argument
    } else if ((c == ' ' || c == '\t') && !quoted) {
      if (inWord) words.push_back(std::move(cur)), cur.clear();
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
    if (words.size() > kMaxArgs + 2) {
      r.kind = ParseResult::Kind::Error;
      r.error = "Too many arguments (at most " + std::to_string(kMaxArgs) + ")";
      break;
    }
  }
  if (r.kind == ParseResult::Kind::Ok) {
    if (quoted) {
      r.kind = ParseResult::Kind::Error;
      r.error = "Unclosed quotes error";
    } else if (inWord) {
      words.push_back(std::move(cur));
    }
  }
  // Whatever else went wrong, report against the sequence number when it can be read.
  if (!words.empty()) {
    const std::string& s = words[0];
    uint32_t seq = 0;
    auto [next, ec] = std::from_chars(s.data(), s.data() + s.size(), seq);
    bool seqOk = !s.empty() && s.size() <= 9 && ec == std::errc() && next == s.data() + s.size();
    if (seqOk) r.request.seq = seq;
    if (r.kind != ParseResult::Kind::Ok) return r;
    if (!seqOk) {
      r.kind = ParseResult::Kind::Error;
      r.error = "Invalid sequence number";
      return r;
    }
    if (words.size() < 2) {
      r.kind = ParseResult::Kind::Error;
      r.error = "Missing command";
      return r;
    }
    if (words.size() > kMaxArgs + 2) {
      r.kind = ParseResult::Kind::Error;
      r.error = "Too many arguments (at most " + std::to_string(kMaxArgs) + ")";
      return r;
    }
    r.request.command = std::move(words[1]);
    r.request.args.assign(std::make_move_iterator(words.begin() + 2), std::make_move_iterator(words.end()));
    return r;
  }
  if (r.kind == ParseResult::Kind::Ok) r.kind = ParseResult::Kind::Empty;
  return r;
}

std::string quoteArg(std::string_view arg) {
  bool plain = !arg.empty();
  for (char c : arg)
    if (c == ' ' || c == '\t' || c == '"' || c == '\\') plain = false;
  if (plain) return std::string(arg);
  std::string out = "\"";
  for (char c : arg) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

std::string quoteValue(std::string_view value) {
  bool plain = !value.empty();
  for (unsigned char c : value)
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\') plain = false;
  if (plain) return std::string(value);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : value) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

std::string formatRequest(uint32_t seq, const std::vector<std::string>& words) {
  std::string out = std::to_string(seq);
  for (const auto& w : words) {
    out += ' ';
    out += quoteArg(w);
  }
  out += '\n';
  return out;
}

std::string requestWordsError(const std::vector<std::string>& words) {
  for (size_t i = 0; i < words.size(); ++i) {
    for (unsigned char c : words[i]) {
      if ((c < 0x20 && c != '\t') || c == 0x7f)
        return "word " + std::to_string(i + 1) + " contains a control character (newline, NUL, ...)";
    }
  }
  return "";
}

namespace {
void appendSanitized(std::string& out, std::string_view message) {
  for (unsigned char c : message) out += (c < 0x20 || c == 0x7f) ? ' ' : static_cast<char>(c);
}
}  // namespace

std::string formatReply(int code, uint32_t seq, std::string_view message) {
  std::string out = std::to_string(code) + ' ' + std::to_string(seq) + ' ';
  appendSanitized(out, message);
  out += '\n';
  return out;
}

std::string formatEvent(int code, std::string_view message) {
  std::string out = std::to_string(code) + ' ';
  appendSanitized(out, message);
  out += '\n';
  return out;
}

std::optional<Reply> parseReply(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  Reply r;
  auto sp = line.find(' ');
  std::string_view codeText = line.substr(0, sp);
  auto [n, ec] = std::from_chars(codeText.data(), codeText.data() + codeText.size(), r.code);
  if (ec != std::errc() || n != codeText.data() + codeText.size() || codeText.size() != 3 || r.code < 100)
    return std::nullopt;
  std::string_view rest = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
  if (r.isEvent()) {
    r.message = std::string(rest);
    return r;
  }
  auto sp2 = rest.find(' ');
  std::string_view seqText = rest.substr(0, sp2);
  uint32_t seq = 0;
  auto [m, ec2] = std::from_chars(seqText.data(), seqText.data() + seqText.size(), seq);
  if (ec2 != std::errc() || m != seqText.data() + seqText.size()) return std::nullopt;
  r.seq = seq;
  r.message = sp2 == std::string_view::npos ? std::string{} : std::string(rest.substr(sp2 + 1));
  return r;
}

}  // namespace tetherd::control
