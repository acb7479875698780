// The answers every resource of the page gives the same way: JSON bodies, the error shape of
// api.h ({"error": {"code", "message"}}), Retry-After, and request bodies read as one JSON object
// (nested at most 32 levels) — so each route file states only what its resource does.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tether/base/result.h"
#include "web/http/http.h"

namespace tetherd::web {

using json = nlohmann::json;

inline constexpr size_t kMaxJsonDepth = 32;

Response jsonResponse(int status, const json& j);
Response errorResponse(int status, std::string_view code, std::string_view message);
Response errorResponse(const Error& e);  // the status from httpStatusFor(e.code)
// An error the client may retry after `seconds` (429 rate limit, 503 busy).
Response retryLater(int status, std::string_view code, std::string_view message, long long seconds);
Response ok();  // {"ok": true}

// Bracket nesting of a JSON text deeper than kMaxJsonDepth, outside strings (nlohmann would
// accept any depth).
bool tooDeep(std::string_view text);
// The request body as a JSON object; on failure the 400 is sent and nullopt returned.
std::optional<json> jsonBody(const Request& req, const Reply& reply);
std::optional<std::string> stringField(const json& j, const char* name);

}  // namespace tetherd::web
