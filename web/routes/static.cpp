// The page itself: the embedded assets of web/ui (assets.h) for every path outside /api, with
// their strong ETags (If-None-Match: 304) and "Cache-Control: no-cache" so that a new tetherd
// brings new assets. Only GET and HEAD; anything not embedded is 404 (no file system behind it).
#include "web/assets.h"
#include "web/routes/routes.h"

namespace tetherd::web {

namespace {

// If-None-Match: a list of entity tags (or *), compared weakly as RFC 9110 asks for it.
bool etagMatches(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view tag = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    if (tag == "*") return true;
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

}  // namespace

void serveStatic(const Request& req, const Reply& reply) {
  if (req.method != "GET" && req.method != "HEAD") {
    Response r = plainError(405, "Method Not Allowed");
    r.set("Allow", "GET, HEAD");
    return reply(std::move(r));
  }
  const Asset* a = findAsset(req.path);
  if (!a) return reply(plainError(404, "Not Found"));
  Response r;
  r.set("ETag", a->etag);
  r.set("Cache-Control", "no-cache");  // revalidate: a new tetherd brings new assets
  if (const std::string* inm = req.header("If-None-Match"); inm && etagMatches(*inm, a->etag)) {
    r.status = 304;
    return reply(std::move(r));
  }
  r.set("Content-Type", std::string(a->mime));
  r.body = std::string(a->body);
  reply(std::move(r));
}

}  // namespace tetherd::web
