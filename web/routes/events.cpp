// The live resources: /api/events, a Server-Sent Events stream (the status at once, then status
// and traffic every 2 s while someone watches, and each change as it happens — WebApp::onEvent),
// at most 16 at a time; and /api/traffic, the throughput history behind the page's graph. The
// streams and the tick are the WebContext's.
#include "web/responses.h"
#include "web/routes/routes.h"

namespace tetherd::web {

namespace {

constexpr size_t kMaxStreams = 16;

void getEvents(WebContext& c, Session* s, Reply reply) {
  std::erase_if(c.streams, [](const std::weak_ptr<EventStream>& w) {
    auto s = w.lock();
    return !s || s->ended();
  });
  if (c.streams.size() >= kMaxStreams) {
    return reply(retryLater(503, "busy", "too many live views open", 5));
  }
  auto stream = std::make_shared<EventStream>(s->key);
  if (c.streams.empty()) {
    // The first watcher: a baseline reading, so the first tick already has a rate.
    std::map<std::string, ByteCounts> downs;
    if (auto st = c.deps.manager.stats())
      for (const auto& x : *st) {
        downs[x.downstream].rx += x.rxBytes;
        downs[x.downstream].tx += x.txBytes;
      }
    (void)c.meter.feed(c.deps.clock(), c.deps.epochMs(), downs, {});
  }
  c.streams.push_back(stream);
  stream->send("status", c.statusJson());
  Response r;
  r.set("Content-Type", "text/event-stream");
  r.set("Cache-Control", "no-store");
  r.set("X-Accel-Buffering", "no");
  r.stream = stream;
  reply(std::move(r));
  c.armTick();
}

// Written as text, not as one document: see appendSampleJson. The keys in nlohmann's order.
void getTraffic(WebContext& c, Reply reply) {
  json downs = json::array();
  for (const auto& d : c.deps.manager.downstreams()) downs.push_back(d.ifname);
  Response r = jsonResponse(200, json::object());
  std::string& body = r.body;
  body = "{\"downstreams\":" + downs.dump(-1, ' ', false, json::error_handler_t::replace) +
         ",\"intervalSec\":" + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(kTickInterval).count()) +
         ",\"samples\":[";
  const auto& history = c.meter.history();
  body.reserve(body.size() + history.size() * 80 + 2);
  for (size_t i = 0; i < history.size(); ++i) {
    if (i) body += ',';
    appendSampleJson(body, history[i]);
  }
  body += "]}";
  reply(std::move(r));
}

}  // namespace

void addEventRoutes(RouteTable& routes, WebContext& c) {
  using A = Access;
  routes.push_back({"GET", "/api/traffic", A::Session, "throughput samples per downstream and Wi-Fi client",
                    [&c](const Request&, const Params&, Session*, Reply r) { getTraffic(c, std::move(r)); }});
  routes.push_back({"GET", "/api/events", A::Session,
                    "Server-Sent Events: status and traffic every 2 s, each change as it happens",
                    [&c](const Request&, const Params&, Session* s, Reply r) { getEvents(c, s, std::move(r)); }});
}

}  // namespace tetherd::web
