#include "web/responses.h"

#include "web/api.h"

namespace tetherd::web {

Response jsonResponse(int status, const json& j) {
  Response r;
  r.status = status;
  r.set("Content-Type", "application/json");
  r.body = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

Response errorResponse(int status, std::string_view code, std::string_view message) {
  return jsonResponse(status, errorBody(code, message));
}

Response errorResponse(const Error& e) { return jsonResponse(httpStatusFor(e.code), errorBody(e)); }

Response retryLater(int status, std::string_view code, std::string_view message, long long seconds) {
  Response r = errorResponse(status, code, message);
  r.set("Retry-After", std::to_string(seconds));
  return r;
}

Response ok() { return jsonResponse(200, json{{"ok", true}}); }

bool tooDeep(std::string_view text) {
  size_t depth = 0;
  bool inString = false, escaped = false;
  for (char c : text) {
    if (inString) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') inString = false;
      continue;
    }
    if (c == '"') inString = true;
    else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

std::optional<json> jsonBody(const Request& req, const Reply& reply) {
  if (tooDeep(req.body)) {
    reply(errorResponse(400, "bad-json", "the body nests deeper than 32 levels"));
    return std::nullopt;
  }
  json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded()) {
    reply(errorResponse(400, "bad-json", "the body is not valid JSON"));
    return std::nullopt;
  }
  if (!j.is_object()) {
    reply(errorResponse(400, "bad-json", "the body must be a JSON object"));
    return std::nullopt;
  }
  return j;
}

std::optional<std::string> stringField(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

}  // namespace tetherd::web
